"""`course doctor`: host facts (runner.live.host.detect) as rows and as text."""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Any

from runner.live.host_facts import BTF_FILE, MOUNT_COMMAND

if TYPE_CHECKING:
    from runner.course.tested_on import TestedOn

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
    if "bpftool" in facts:  # facts cached before this row existed lack it
        tool = facts["bpftool"]
        rows.append(
            ("bpftool", True, tool)
            if tool
            else (
                "bpftool",
                False,
                "not installed: the kernel's view of your probe cannot be read, so the "
                "kernel checks cannot judge it; run ./setup.sh (apt-get install bpftool)",
            )
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
    if "vm" in facts:  # added by `course doctor` (vm_facts), not by host detection
        rows.append(vm_row(facts["vm"]))
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


# Measured on this project's 2-core machine (shared/kernel.md): boot + one
# command 23 s under software emulation; each lesson's compile ~12 s more.
BOOT_SECONDS = {True: 5, False: 25}
JOB_SECONDS = {True: 5, False: 30}


def vm_facts() -> dict[str, Any]:
    """What `course check --vm` needs, found without booting: virtme-ng's vng,
    QEMU, a stock kernel image with matching headers, KVM."""
    from runner.live import vm

    kernel = vm.find_vm_kernel()
    kvm, why = vm.kvm_usable()
    return {
        "vng": vm._find_vng(),
        "qemu": shutil.which("qemu-system-x86_64"),
        "kernel": str(kernel) if kernel else None,
        "kernel_readable": bool(kernel and os.access(kernel, os.R_OK)),
        "kvm": kvm,
        "kvm_reason": why,
    }


def vm_row(vm: dict[str, Any]) -> Row:
    """The doctor's "VM" row: ready (with KVM or emulation and the expected
    boot time), or what is missing and how to get it."""
    from runner.live.vm import VM_SETUP

    missing = [
        name
        for name, present in (
            ("virtme-ng (vng)", vm.get("vng")),
            ("QEMU", vm.get("qemu")),
            ("a stock kernel image with matching headers", vm.get("kernel")),
        )
        if not present
    ]
    if missing:
        return ("VM", False, f"not ready, missing {' and '.join(missing)}: {VM_SETUP}")
    kernel = str(vm["kernel"]).rsplit("/", 1)[-1].removeprefix("vmlinuz-")
    if not vm.get("kernel_readable", True):
        return ("VM", False, f"{vm['kernel']} is readable only by root: run the course with sudo")
    kvm = bool(vm.get("kvm"))
    how = "KVM" if kvm else "software emulation (no KVM: see the KVM row)"
    return (
        "VM",
        True,
        f"ready: vng, QEMU, kernel {kernel}, {how}; boots in about {BOOT_SECONDS[kvm]} s, "
        f"then about {JOB_SECONDS[kvm]} s per lesson",
    )


def tested_on_lines(
    tested: TestedOn | None, lesson_ids: list[str], release: str, error: str | None = None
) -> list[str]:
    """`course doctor`'s lines about tested-on.yaml: a summary line, one line
    per lesson, and each lesson's warning when this kernel lies outside the
    kernels it passed on (runner.course.tested_on)."""
    if tested is None:
        return [f"tested on: {error}"] if error else []
    from runner.course.tested_on import kernel_key

    kernels = ", ".join(sorted(tested.kernels, key=kernel_key))
    lines = [
        f"tested on: kernels {kernels} ({tested.date}, bcc {tested.bcc}); this kernel is {release}"
    ]
    width = max((len(i) for i in lesson_ids), default=0)
    for lesson_id in lesson_ids:
        lines.append(f"  {lesson_id:<{width}}  {tested.summary(lesson_id)}")
        warning = tested.outside_tested(lesson_id, release)
        if warning:
            lines.append(f"  {'':<{width}}  warning: {warning}")
    return lines
