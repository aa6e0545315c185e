"""What this machine can do for the course: kernel, privileges, bcc, headers,
tracefs, BTF, lockdown, KVM, and which BPF features really load and attach.

Features are decided by TRYING: a privileged subprocess
(`python -m runner.live.host --probe-json`, as root or through `sudo -n`) loads and
attaches one tiny program per feature and reports JSON. Version numbers lie
(distro backports, cloud kernels built without kprobes); an attach does not.
The results are cached per boot, because they only change with the kernel or
the mounts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.live.privilege import GUARD, privileged_argv
from runner.paths import CODE_ROOT

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
PROBE_TIMEOUT = 90.0  # seconds; compiling eight tiny programs takes ~3 s here

VM_WAY_OUT = "run the lesson in a VM with --vm"
MOUNT_COMMAND = (
    "mount -t tracefs tracefs /sys/kernel/tracing && mount -t debugfs debugfs /sys/kernel/debug"
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
        return (
            "this kernel was built without CONFIG_KPROBES (attach_kprobe: not traceable); "
            + VM_WAY_OUT
        )
    if config_text is None and not kprobe_events:
        return (
            "this kernel has no kprobe_events in tracefs, so it was probably built without "
            "CONFIG_KPROBES (attach_kprobe: not traceable); " + VM_WAY_OUT
        )
    return None


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


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _read_config() -> str | None:
    import gzip

    try:
        with gzip.open("/proc/config.gz", "rt") as handle:
            return handle.read()
    except OSError:
        release = platform.release()
        return _read(Path(f"/boot/config-{release}"))


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


def online_cpus() -> int:
    """How many CPUs are online: what lesson 07's per-CPU lines must cover."""
    text = _read(Path("/sys/devices/system/cpu/online"))
    return len(parse_cpu_list(text)) if text else os.cpu_count() or 1


def sudo_state() -> str:
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


def headers_state(release: str) -> tuple[str, str | None]:
    build = MODULES_DIR / release / "build"
    resolved = build.resolve() if build.exists() else None
    tree_release = None
    if resolved is not None:
        text = _read(resolved / "include" / "generated" / "utsrelease.h")
        tree_release = parse_uts_release(text) if text else None
    return classify_headers(release, resolved, tree_release, os.environ.get("BCC_KERNEL_SOURCE"))


def mounted() -> set[str]:
    return parse_mounts(_read(Path("/proc/mounts")) or "")


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
    cpuinfo = _read(Path("/proc/cpuinfo")) or ""
    return {
        "kernel_release": release,
        "arch": platform.machine(),
        "cpus": online_cpus(),
        "root": os.geteuid() == 0,
        "sudo": sudo_state(),
        "bcc_version": bcc_version(),
        "headers": headers,
        "headers_path": headers_path,
        "tracefs": "tracefs" in kinds,
        "debugfs": "debugfs" in kinds,
        "btf": btf_present(),
        "lockdown": parse_lockdown(_read(LOCKDOWN_FILE)),
        "kvm": parse_kvm(cpuinfo, Path("/dev/kvm").exists()),
    }


# ---------------------------------------------------------------- trying features (privileged)

_TINY = "int probe(void *ctx) { return 0; }"
_RINGBUF = """
BPF_RINGBUF_OUTPUT(events, 8);
RAW_TRACEPOINT_PROBE(sys_enter) {
    if ((bpf_get_current_pid_tgid() >> 32) != TGID) return 0;
    u32 one = 1;
    events.ringbuf_output(&one, sizeof(one), 0);
    return 0;
}
"""


def _try_bpf(BPF: Any) -> None:
    BPF(text=_TINY).load_func("probe", BPF.SOCKET_FILTER)


def _try_kprobes(BPF: Any) -> None:
    b = BPF(text=_TINY)
    b.attach_kprobe(event=b.get_syscall_fnname("getpid"), fn_name="probe")
    b.cleanup()


def _try_uprobes(BPF: Any) -> None:
    b = BPF(text=_TINY)
    b.attach_uprobe(name="c", sym="getpid", fn_name="probe")
    b.cleanup()


def _try_tracepoints(BPF: Any) -> None:
    b = BPF(text="TRACEPOINT_PROBE(syscalls, sys_enter_getpid) { return 0; }")
    b.cleanup()


def _try_raw_tracepoints(BPF: Any) -> None:
    b = BPF(text="RAW_TRACEPOINT_PROBE(sys_enter) { return 0; }")
    b.cleanup()


def _try_perf_event(BPF: Any) -> None:
    from bcc import PerfSWConfig, PerfType

    b = BPF(text=_TINY)
    b.attach_perf_event(
        ev_type=PerfType.SOFTWARE,
        ev_config=PerfSWConfig.CPU_CLOCK,
        fn_name="probe",
        sample_freq=99,
    )
    b.cleanup()


def _try_ringbuf(BPF: Any) -> None:
    """Not just load: an event must come back through the ring buffer."""
    b = BPF(text=_RINGBUF.replace("TGID", str(os.getpid())))
    seen: list[int] = []
    b["events"].open_ring_buffer(lambda ctx, data, size: seen.append(size))
    deadline = time.monotonic() + 2.0
    while not seen and time.monotonic() < deadline:
        os.getpid()  # any syscall of ours fires sys_enter
        b.ring_buffer_poll(timeout=100)
    b.cleanup()
    if not seen:
        raise RuntimeError("the ring buffer delivered no event within 2 s")


def _try_btf(BPF: Any) -> None:
    if not btf_present():
        raise RuntimeError(
            f"{BTF_FILE} is missing: the kernel was built without CONFIG_DEBUG_INFO_BTF"
        )


_TRIALS: dict[str, Callable[[Any], None]] = {
    "bpf": _try_bpf,
    "kprobes": _try_kprobes,
    "uprobes": _try_uprobes,
    "tracepoints": _try_tracepoints,
    "raw_tracepoints": _try_raw_tracepoints,
    "perf_event": _try_perf_event,
    "ringbuf": _try_ringbuf,
    "btf": _try_btf,
}


def _reason(feature: str, error: BaseException, facts: dict[str, Any]) -> str:
    """Turn a failed trial into one sentence with the way out."""
    text = first_line(error)
    if feature == "kprobes":
        config = _read_config()
        missing = kprobes_missing_reason(config, (TRACEFS_DIR / "kprobe_events").exists())
        if missing:
            return missing
        return f"attach_kprobe failed ({text}); {VM_WAY_OUT}"
    if feature == "tracepoints" and not (facts["tracefs"] and facts["debugfs"]):
        return f"tracefs/debugfs is not mounted ({text}); run `sudo {MOUNT_COMMAND}`"
    if feature == "btf":
        return text
    if facts.get("lockdown") in ("integrity", "confidentiality"):
        return f"{text} (kernel lockdown is {facts['lockdown']})"
    return f"{feature} did not load or attach: {text}"


def probe_features() -> dict[str, dict[str, Any]]:
    """Try every feature in this (privileged) process; never raises."""
    facts = static_facts()
    try:
        from bcc import BPF
    except Exception as error:
        reason = f"bcc cannot be imported ({first_line(error)}); run ./setup.sh"
        return {name: {"ok": False, "reason": reason} for name in FEATURES}
    results = {}
    for name in FEATURES:
        try:
            _TRIALS[name](BPF)
            results[name] = {"ok": True, "reason": ""}
        except BaseException as error:  # bcc raises bare Exception; keep trying the rest
            if isinstance(error, KeyboardInterrupt):
                raise
            results[name] = {"ok": False, "reason": _reason(name, error, facts)}
    return results


# ---------------------------------------------------------------- the public API


def _privileged_argv(facts: dict[str, Any]) -> list[str] | None:
    me = [sys.executable, "-m", "runner.live.host", "--probe-json"]
    if facts["root"]:
        return me
    if facts["sudo"] == "nopasswd":
        return privileged_argv(me, sys.executable)
    return None


def _run_probe(argv: list[str]) -> dict[str, dict[str, Any]]:
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            cwd=CODE_ROOT,
            timeout=PROBE_TIMEOUT,
        )
        data = json.loads(done.stdout)
        return {name: data[name] for name in FEATURES}
    except subprocess.TimeoutExpired:
        reason = f"the capability probe took longer than {PROBE_TIMEOUT:.0f} s"
    except (ValueError, KeyError, TypeError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        reason = f"the capability probe failed (exit {done.returncode}: {tail})"
    return {name: {"ok": False, "reason": reason} for name in FEATURES}


def _no_privileges(sudo: str) -> dict[str, dict[str, Any]]:
    if sudo == "password":
        reason = "loading BPF needs root: run `sudo -v` once, then try again"
    else:
        reason = "loading BPF needs root and sudo is not available: run the course as root"
    return {name: {"ok": False, "reason": reason} for name in FEATURES}


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ebpf-course"


def _cache_file(facts: dict[str, Any], cache_dir: Path) -> Path:
    boot_id = (_read(BOOT_ID_FILE) or "unknown").strip()
    extra = {k: facts[k] for k in ("tracefs", "debugfs", "headers", "headers_path", "bcc_version")}
    return cache_dir / f"host-{cache_key(boot_id, facts['kernel_release'], extra)}.json"


def _load_cache(path: Path) -> dict[str, dict[str, Any]] | None:
    try:
        data = json.loads(path.read_text())
        return {name: data[name] for name in FEATURES}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save_cache(path: Path, features: dict[str, dict[str, Any]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(features, indent=1))
        tmp.replace(path)  # atomic: a reader never sees half a file
    except OSError:
        pass  # a cache we cannot write only costs time


def detect(*, try_attach: bool = True, cache_dir: Path | None = None) -> dict[str, Any]:
    """Host facts per docs/contracts.md. With try_attach=False no program is
    loaded: features come from the cache, or are `{}` when never tried."""
    facts = static_facts()
    cache = _cache_file(facts, cache_dir or default_cache_dir())
    features = _load_cache(cache)
    if features is None and try_attach:
        argv = _privileged_argv(facts)
        if argv is None:
            features = _no_privileges(facts["sudo"])
        else:
            features = _run_probe(argv)
            if features["bpf"]["ok"]:  # only cache a run that could load programs
                _save_cache(cache, features)
    facts["features"] = features or {}
    return facts


def ensure_tracefs() -> str | None:
    """Mount tracefs/debugfs if missing (root only). None when both are there
    afterwards; otherwise one sentence saying what to run."""
    kinds = mounted()
    missing = [
        (kind, path)
        for kind, path in (("tracefs", TRACEFS_DIR), ("debugfs", DEBUGFS_DIR))
        if kind not in kinds
    ]
    if not missing:
        return None
    if os.geteuid() != 0:
        names = " and ".join(kind for kind, _ in missing)
        return f"{names} is not mounted, so bcc cannot find tracepoints: run `sudo {MOUNT_COMMAND}`"
    for kind, path in missing:
        done = subprocess.run(
            ["mount", "-t", kind, kind, str(path)], capture_output=True, text=True
        )
        if done.returncode != 0:
            why = first_line(done.stderr or f"exit {done.returncode}")
            return f"mounting {kind} on {path} failed ({why}); mount it by hand: {MOUNT_COMMAND}"
    return None


# ---------------------------------------------------------------- doctor


Row = tuple[str, "bool | None", str]


def doctor_lines(facts: dict[str, Any]) -> list[Row]:
    """Rows (label, ok, detail) for `course doctor`; ok None means information."""
    rows: list[Row] = [("kernel", None, f"{facts['kernel_release']} ({facts['arch']})")]
    sudo = facts["sudo"]
    rows.append(
        {
            "root": ("privileges", True, "running as root"),
            "nopasswd": ("privileges", True, "sudo without password"),
            "password": ("privileges", None, "sudo asks for a password: run `sudo -v` first"),
            "missing": ("privileges", False, "not root and no sudo: run the course as root"),
        }[sudo]
    )
    version = facts["bcc_version"]
    rows.append(
        ("bcc", True, version)
        if version
        else ("bcc", False, "python3-bpfcc is not importable: run ./setup.sh")
    )
    path = facts["headers_path"]
    rows.append(
        {
            "exact": ("kernel headers", True, f"{path}"),
            "fallback": (
                "kernel headers",
                None,
                f"fallback: {path} is for another kernel; good enough for tracepoints, "
                "uprobes and perf sampling",
            ),
            "missing": ("kernel headers", False, "none found: run ./setup.sh"),
        }[facts["headers"]]
    )
    for kind in ("tracefs", "debugfs"):
        rows.append(
            (kind, True, "mounted")
            if facts[kind]
            else (kind, False, f"not mounted: run `sudo {MOUNT_COMMAND}`")
        )
    rows.append(
        ("BTF", True, str(BTF_FILE))
        if facts["btf"]
        else ("BTF", False, f"no {BTF_FILE}: kernel built without CONFIG_DEBUG_INFO_BTF")
    )
    lockdown = facts["lockdown"]
    if lockdown is None:
        rows.append(("lockdown", None, "no lockdown LSM"))
    else:
        rows.append(("lockdown", lockdown == "none", lockdown))
    kvm = facts["kvm"]
    rows.append(
        ("KVM", kvm["ok"], "hardware virtualisation usable" if kvm["ok"] else kvm["reason"])
    )
    features = facts.get("features") or {}
    if not features:
        rows.append(("features", None, "not tried yet"))
    for name, result in features.items():
        works = "present" if name == "btf" else "loads and attaches"
        rows.append((name, result["ok"], works if result["ok"] else result["reason"]))
    return rows


def format_doctor(facts: dict[str, Any]) -> str:
    """Plain text table of doctor_lines, one row per line."""
    marks = {True: "ok", False: "NO", None: "--"}
    rows = doctor_lines(facts)
    width = max(len(label) for label, _, _ in rows)
    return "\n".join(f"[{marks[ok]}] {label:<{width}}  {detail}" for label, ok, detail in rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m runner.live.host",
        description="Show what this machine can do for the course.",
    )
    parser.add_argument(
        "--probe-json",
        action="store_true",
        help="try every BPF feature in this process (needs root) and print JSON",
    )
    parser.add_argument("--json", action="store_true", help="print all host facts as JSON")
    args = parser.parse_args(argv)
    if args.probe_json:
        print(json.dumps(probe_features()))
        return 0
    facts = detect()
    print(json.dumps(facts, indent=2) if args.json else format_doctor(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
