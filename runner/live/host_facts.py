"""What this machine is, read without privileges and without loading any BPF
program: kernel release, CPUs, sudo, bcc, headers, mounts, BTF, lockdown, KVM.

The parsers are pure functions of the text they are given (unit-tested on
recorded text); the gatherers below them read /proc, /sys and /lib/modules.
runner.live.feature_probe decides the BPF features by trying them, as root;
runner.live.host puts both together (detect) and caches the result.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from runner.live.privilege import GUARD

FEATURES: tuple[str, ...] = (
    "kprobes",
    "uprobes",
    "tracepoints",
    "raw_tracepoints",
    "perf_event",
    "ringbuf",
    "btf",
    "bpf",
)

MODULES_DIR = Path("/lib/modules")
BTF_FILE = Path("/sys/kernel/btf/vmlinux")
LOCKDOWN_FILE = Path("/sys/kernel/security/lockdown")
BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")
TRACEFS_DIR = Path("/sys/kernel/tracing")
DEBUGFS_DIR = Path("/sys/kernel/debug")

# Advice says `sudo {MOUNT_COMMAND}`; one shell under sudo runs both mounts
# (`sudo a && b` would run b unprivileged). As root it works without sudo.
MOUNT_COMMAND = (
    "sh -c 'mount -t tracefs tracefs /sys/kernel/tracing"
    " && mount -t debugfs debugfs /sys/kernel/debug'"
)


# ---------------------------------------------------------------- pure parts


def parse_sudo(returncode: int | None, stderr: str) -> str:
    """Classify `sudo -n true`: returncode None means sudo is not installed."""
    if returncode is None:
        return "missing"
    if returncode == 0:
        return "nopasswd"
    if "password is required" in stderr or "a terminal is required" in stderr:
        return "password"
    # "user is not in the sudoers file", "may not run sudo": no way to root.
    return "missing"


def parse_lockdown(text: str | None) -> str | None:
    """`[none] integrity confidentiality` -> `none`; None when the LSM is absent."""
    if text is None:
        return None
    match = re.search(r"\[(\w+)\]", text)
    return match.group(1) if match else text.strip() or None


def parse_mounts(text: str) -> set[str]:
    """Filesystem types mounted, from /proc/mounts text."""
    kinds = set()
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 3:
            kinds.add(parts[2])
    return kinds


def parse_uts_release(text: str) -> str | None:
    """The release a header tree was built for, from include/generated/utsrelease.h."""
    match = re.search(r'UTS_RELEASE\s+"([^"]+)"', text)
    return match.group(1) if match else None


def classify_headers(
    release: str,
    build: Path | None,
    tree_release: str | None,
    bcc_kernel_source: str | None,
) -> tuple[str, str | None]:
    """Decide ("exact" | "fallback" | "missing", path) for bcc's kernel headers.

    `build` is /lib/modules/RELEASE/build resolved (None if it does not
    exist), `tree_release` the UTS release found inside that tree.
    """
    if build is not None:
        matches = tree_release == release if tree_release else release in build.name
        return ("exact" if matches else "fallback", str(build))
    if bcc_kernel_source and Path(bcc_kernel_source).is_dir():
        return ("fallback", bcc_kernel_source)
    return ("missing", None)


def parse_kvm(cpuinfo: str, dev_kvm: bool) -> dict[str, Any]:
    """Hardware virtualisation usable? /dev/kvm alone is not enough: without
    vmx/svm a KVM guest hangs, so the VM must use TCG (--disable-kvm)."""
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
    has_flag = bool(flags & {"vmx", "svm"})
    if has_flag and dev_kvm:
        return {"ok": True, "reason": ""}
    if not has_flag:
        reason = "the CPU shows no vmx/svm flag, so a VM runs with software emulation (slower)"
    else:
        reason = "/dev/kvm is missing, so a VM runs with software emulation (slower)"
    return {"ok": False, "reason": reason}


def kprobes_missing_reason(config_text: str | None, kprobe_events: bool) -> str | None:
    """Explain a kernel without kprobes, from /proc/config.gz or tracefs."""
    if config_text and "# CONFIG_KPROBES is not set" in config_text:
        return "this kernel was built without CONFIG_KPROBES (attach_kprobe: not traceable)"
    if config_text is None and not kprobe_events:
        return (
            "this kernel has no kprobe_events in tracefs, so it was probably built without "
            "CONFIG_KPROBES (attach_kprobe: not traceable)"
        )
    return None


def parse_cpu_list(text: str) -> list[int]:
    """`0-3,6` (the kernel's cpu list format) -> [0, 1, 2, 3, 6]."""
    cpus: list[int] = []
    for part in text.strip().split(","):
        if "-" in part:
            low, high = part.split("-")
            cpus.extend(range(int(low), int(high) + 1))
        elif part:
            cpus.append(int(part))
    return cpus


def first_line(error: BaseException | str) -> str:
    """A one-line rendering of an exception for a reason sentence."""
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]


def cache_key(boot_id: str, release: str, extra: dict[str, Any]) -> str:
    """Attach results stay valid for one boot of one kernel with the same
    mounts, headers and bcc; any change tries again."""
    blob = json.dumps({"boot": boot_id, "release": release, **extra}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


# ---------------------------------------------------------------- reading the machine


def read_text(path: Path) -> str | None:
    """The file's text, or None when it cannot be read."""
    try:
        return path.read_text()
    except OSError:
        return None


def read_config() -> str | None:
    """The running kernel's build config, or None when neither copy is readable."""
    import gzip

    try:
        with gzip.open("/proc/config.gz", "rt") as handle:
            return handle.read()
    except OSError:
        release = platform.release()
        return read_text(Path(f"/boot/config-{release}"))


def online_cpus() -> int:
    """How many CPUs are online: what lesson 07's per-CPU lines must cover."""
    text = read_text(Path("/sys/devices/system/cpu/online"))
    return len(parse_cpu_list(text)) if text else os.cpu_count() or 1


def sudo_state() -> str:
    """root, nopasswd, password or missing: how this user can become root."""
    if os.geteuid() == 0:
        return "root"
    # Ask for exactly what the runner will run (the root guard), so a learner
    # with only the course's narrow sudoers rule counts as "nopasswd".
    try:
        done = subprocess.run(
            ["sudo", "-n", "-l", "--", sys.executable, GUARD, "--", "true"],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=10,
        )
    except FileNotFoundError:
        return parse_sudo(None, "")
    except subprocess.TimeoutExpired:
        return "password"
    return parse_sudo(done.returncode, done.stderr)


def bcc_version() -> str | None:
    try:
        import bcc
    except Exception:
        return None
    return str(getattr(bcc, "__version__", "unknown"))


def bpftool_path() -> str | None:
    """bpftool reads the kernel's view of a probe's BPF objects (the evidence)."""
    from runner.live.evidence import find_bpftool

    return find_bpftool()


def headers_state(release: str) -> tuple[str, str | None]:
    build = MODULES_DIR / release / "build"
    resolved = build.resolve() if build.exists() else None
    tree_release = None
    if resolved is not None:
        text = read_text(resolved / "include" / "generated" / "utsrelease.h")
        tree_release = parse_uts_release(text) if text else None
    return classify_headers(release, resolved, tree_release, os.environ.get("BCC_KERNEL_SOURCE"))


def mounted() -> set[str]:
    return parse_mounts(read_text(Path("/proc/mounts")) or "")


def btf_present() -> bool:
    try:
        with BTF_FILE.open("rb") as handle:
            return handle.read(2) == b"\x9f\xeb"  # BTF magic 0xeB9F, little endian
    except OSError:
        return False


def static_facts() -> dict[str, Any]:
    """Everything that needs no BPF program and no privileges."""
    release = platform.release()
    headers, headers_path = headers_state(release)
    kinds = mounted()
    cpuinfo = read_text(Path("/proc/cpuinfo")) or ""
    return {
        "kernel_release": release,
        "arch": platform.machine(),
        "cpus": online_cpus(),
        "root": os.geteuid() == 0,
        "sudo": sudo_state(),
        "bcc_version": bcc_version(),
        "bpftool": bpftool_path(),
        "headers": headers,
        "headers_path": headers_path,
        "tracefs": "tracefs" in kinds,
        "debugfs": "debugfs" in kinds,
        "btf": btf_present(),
        "lockdown": parse_lockdown(read_text(LOCKDOWN_FILE)),
        "kvm": parse_kvm(cpuinfo, Path("/dev/kvm").exists()),
    }
