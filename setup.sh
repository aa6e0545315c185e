#!/usr/bin/env bash
# Prepare this machine for the eBPF course. Idempotent: a second run that has
# nothing to do prints nothing. Everything it installs, it says out loud.
#
#   ./setup.sh         bcc, kernel headers, tracefs, the .venv with [dev]
#   ./setup.sh --vm    also QEMU, a stock distro kernel and virtme-ng ([vm]),
#                      to run kprobe lessons in a VM on kernels without kprobes
#   ./setup.sh --kernels  --vm, plus the other kernels of kernels.yaml (6.12,
#                      7.2, ...), downloaded and unpacked, not installed, into
#                      /var/lib/ebpf-course/kernels (~220 MB each)
#
# Supported: Debian and Ubuntu (apt). Runs as root, or as a user with sudo
# (only apt-get, ln and mount are run through sudo; the .venv stays yours).
set -euo pipefail

cd "$(dirname "$0")"
REPO=$PWD
WANT_VM=0
WANT_KERNELS=0
for arg in "$@"; do
    case $arg in
        --vm) WANT_VM=1 ;;
        --kernels) WANT_VM=1 WANT_KERNELS=1 ;;
        -h | --help)
            sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "setup.sh: unknown option '$arg'; use --vm, --kernels or --help." >&2
            exit 2
            ;;
    esac
done

say() { printf 'setup: %s\n' "$*"; }
die() {
    printf 'setup: %s\n' "$*" >&2
    exit 2
}

# ---------------------------------------------------------------- privileges

if [[ $(id -u) -eq 0 ]]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
else
    SUDO=(missing)
fi

as_root() {
    if [[ ${SUDO[*]-} == missing ]]; then
        die "'$*' needs root and sudo is not installed; run ./setup.sh as root once (su -c ./setup.sh)."
    fi
    "${SUDO[@]}" "$@"
}

# ---------------------------------------------------------------- packages

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-query >/dev/null 2>&1; then
    die "this script knows Debian and Ubuntu (apt); on another distribution install bcc's Python bindings, kernel headers and python3-venv yourself, then run ./setup.sh again."
fi

# shellcheck source=/dev/null
DISTRO=$(. /etc/os-release 2>/dev/null && echo "${ID:-debian}")
ARCH=$(dpkg --print-architecture)
RELEASE=${SETUP_KERNEL_RELEASE:-$(uname -r)} # override only to test the headers fallback
if [[ $DISTRO == ubuntu ]]; then FLAVOUR=generic; else FLAVOUR=$ARCH; fi

installed() { [[ $(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) == "install ok installed" ]]; }

APT_UPDATED=0
apt_update_once() {
    if [[ $APT_UPDATED -eq 0 ]]; then
        say "refreshing the apt package lists"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
        APT_UPDATED=1
    fi
}

available() {
    apt_update_once
    [[ -n $(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ && $2 != "(none)" {print $2}') ]]
}

apt_install() {
    local missing=() pkg
    for pkg in "$@"; do
        installed "$pkg" || missing+=("$pkg")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    local found=()
    for pkg in "${missing[@]}"; do
        if available "$pkg"; then found+=("$pkg"); else say "note: no package '$pkg' here, skipping it"; fi
    done
    [[ ${#found[@]} -eq 0 ]] && return 0
    say "installing ${found[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${found[@]}" >/dev/null
}

case $ARCH in
    amd64) QEMU=qemu-system-x86 ;;
    arm64) QEMU=qemu-system-arm ;;
    *) QEMU=qemu-system ;;
esac

# strace: the tests prove each workload does exactly what it reports
apt_install python3-bpfcc bpfcc-tools python3-venv sudo tmux bpftool strace
if [[ $WANT_VM -eq 1 ]]; then
    # busybox-static: virtme-ng builds the guest's initramfs with it
    apt_install "$QEMU" "linux-image-$FLAVOUR" "linux-headers-$FLAVOUR" busybox-static
fi

# ---------------------------------------------------------------- kernel headers
# bcc compiles the probe's C with the headers at /lib/modules/RELEASE/build.

BUILD=/lib/modules/$RELEASE/build
if [[ ! -e $BUILD ]]; then
    if installed "linux-headers-$RELEASE" || available "linux-headers-$RELEASE"; then
        apt_install "linux-headers-$RELEASE"
    fi
fi
if [[ ! -e $BUILD ]]; then
    say "FALLBACK: there is no linux-headers-$RELEASE package for this kernel."
    say "FALLBACK: using the distribution's default headers (linux-headers-$FLAVOUR) instead;"
    say "FALLBACK: they belong to another kernel version: good enough for tracepoints, uprobes"
    say "FALLBACK: and perf sampling, not a match. 'course doctor' shows this as 'fallback'."
    apt_install "linux-headers-$FLAVOUR"
    # The newest flavoured tree (e.g. linux-headers-6.1.0-56-amd64) and its
    # shared sources (Debian: ...-common; Ubuntu: the name without flavour).
    tree=$(find /usr/src -maxdepth 1 -name "linux-headers-*-$FLAVOUR" -printf '%f\n' 2>/dev/null |
        sort -V | tail -n 1)
    [[ -n $tree ]] || die "no /usr/src/linux-headers-*-$FLAVOUR tree after installing linux-headers-$FLAVOUR; install kernel headers by hand and run ./setup.sh again."
    common=/usr/src/${tree%-"$FLAVOUR"}-common
    [[ -d $common ]] || common=/usr/src/${tree%-"$FLAVOUR"}
    [[ -d $common ]] || common=/usr/src/$tree
    say "FALLBACK: linking $BUILD -> /usr/src/$tree"
    say "FALLBACK: linking /lib/modules/$RELEASE/source -> $common"
    as_root mkdir -p "/lib/modules/$RELEASE"
    as_root ln -sfn "/usr/src/$tree" "$BUILD"
    as_root ln -sfn "$common" "/lib/modules/$RELEASE/source"
fi

# ---------------------------------------------------------------- tracefs / debugfs
# Not mounted at boot on some kernels; bcc reads /sys/kernel/debug/tracing.

mounted() { awk -v t="$1" '$3 == t {found=1} END {exit !found}' /proc/mounts; }
if ! mounted tracefs; then
    say "mounting tracefs on /sys/kernel/tracing"
    as_root mount -t tracefs tracefs /sys/kernel/tracing
fi
if ! mounted debugfs; then
    say "mounting debugfs on /sys/kernel/debug"
    as_root mount -t debugfs debugfs /sys/kernel/debug
fi

# ---------------------------------------------------------------- the virtualenv
# From the SYSTEM interpreter with site packages: bcc is a Debian package
# (python3-bpfcc), not on PyPI, and only /usr/bin/python3 sees it.

VENV=$REPO/.venv
STAMP=$VENV/.setup-stamp
EXTRAS=dev
[[ $WANT_VM -eq 1 ]] && EXTRAS=dev,vm

if [[ ! -x $VENV/bin/python ]]; then
    say "creating $VENV from /usr/bin/python3 (with system site packages, for bcc)"
    /usr/bin/python3 -m venv --system-site-packages "$VENV"
    rm -f "$STAMP"
fi

want_hash=$(sha256sum pyproject.toml | cut -d' ' -f1)
have_hash="" have_extras=""
[[ -f $STAMP ]] && read -r have_hash have_extras <"$STAMP"
if [[ $have_hash == "$want_hash" ]]; then
    # Same pyproject: keep what is there, add what is asked for.
    EXTRAS=$(printf '%s\n' "${have_extras//,/$'\n'}" "${EXTRAS//,/$'\n'}" | grep . | sort -u | paste -sd, -)
fi
if [[ $have_hash != "$want_hash" || $have_extras != "$EXTRAS" ]]; then
    say "installing the course into $VENV: pip install -e '.[$EXTRAS]'"
    # pip's build chatter is noise when it works and the whole story when not
    pip_log=$(mktemp)
    if ! "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".[$EXTRAS]" \
        >"$pip_log" 2>&1; then
        cat "$pip_log" >&2
        rm -f "$pip_log"
        die "pip could not install the course into $VENV (its output is above)."
    fi
    rm -f "$pip_log"
    printf '%s %s\n' "$want_hash" "$EXTRAS" >"$STAMP"
fi

"$VENV/bin/python" -c 'import bcc' 2>/dev/null ||
    die "bcc is not importable from $VENV; check that python3-bpfcc is installed for /usr/bin/python3."

# ---------------------------------------------------------------- the kernel matrix
# The VM's other kernels (kernels.yaml): downloaded with a private apt
# configuration and unpacked, never installed (sid's would pull a new libc).

if [[ $WANT_KERNELS -eq 1 ]]; then
    kernels_log=$(mktemp)
    # Progress lines as they come (none when all are there); the last line of
    # a failure is its reason.
    if ! as_root "$VENV/bin/python" -m runner.live.kernels prepare all 2>"$kernels_log" |
        while IFS= read -r line; do say "$line"; done; then
        why=$(tail -n 1 "$kernels_log")
        rm -f "$kernels_log"
        die "the VM's kernels could not be prepared: ${why#kernels: }"
    fi
    rm -f "$kernels_log"
fi
