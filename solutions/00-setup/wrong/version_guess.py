#!/usr/bin/env python3
# must-fail: kprobes-truth
# why: decides kprobes from the kernel version (>= 4.1) instead of trying an attach
# shows-without: kprobes
"""Report what this machine offers for eBPF tracing, by trying things.

Each line is decided by a real test: a file that exists, a capability bit
the kernel reports, a program the kernel accepted, a kprobe that attached.
Version numbers are not enough: cloud kernels are often built without
kprobes, and distributions backport features to old versions.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

# The smallest program there is: the kernel's verifier still checks it.
BPF_TRIVIAL = "int trivial(void *ctx) { return 0; }"

BTF_PATH = Path("/sys/kernel/btf/vmlinux")
CAP_BPF = 39  # capability bit number (linux/capability.h, since 5.8)
CAP_SYS_ADMIN = 21

EXAMPLES = """examples:
    sudo ./probe.py          # print the environment report
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Print an eBPF environment report for this machine",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    # Every probe of the course takes -d; the report is instant, so it is unused.
    parser.add_argument(
        "-d", "--duration", type=float, default=5, help="accepted for uniformity (unused)"
    )
    return parser.parse_args(argv)


def effective_caps(status_text: str) -> int:
    """The CapEff bit mask from the text of /proc/self/status."""
    for line in status_text.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def has_cap(mask: int, bit: int) -> bool:
    return bool(mask >> bit & 1)


def privileges(uid: int, caps: int) -> str:
    """root, CAP_BPF (enough to load programs on 5.8+) or none."""
    if uid == 0:
        return "root"
    if has_cap(caps, CAP_BPF) or has_cap(caps, CAP_SYS_ADMIN):
        return "CAP_BPF"
    return "none"


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def try_load() -> str | None:
    """Load the trivial program; None on success, else why it failed."""
    try:
        from bcc import BPF

        bpf = BPF(text=BPF_TRIVIAL)
        bpf.load_func("trivial", BPF.SOCKET_FILTER)
        bpf.cleanup()
    except Exception as exc:  # bcc raises plain Exception
        return first_line(exc)
    return None


def try_kprobe() -> str | None:
    """kprobes with BPF exist since Linux 4.1; None when the kernel is newer."""
    major, minor = (int(part) for part in platform.release().split(".")[:2])
    if (major, minor) >= (4, 1):
        return None
    return f"Linux {major}.{minor} is older than 4.1"


def report_lines(
    release: str,
    arch: str,
    btf: bool,
    privilege: str,
    load_error: str | None,
    kprobe_error: str | None,
) -> list[str]:
    """The report, one fact per line (pure, so tests can check every case)."""
    loaded = load_error is None
    lines = [
        f"Kernel: {release} ({arch})",
        f"BTF: {yes_no(btf)} ({BTF_PATH})",
        f"Privileges: {privilege}",
        "BPF program: loaded" if loaded else f"BPF program: failed ({load_error})",
        "kprobes: available" if kprobe_error is None else f"kprobes: unavailable ({kprobe_error})",
    ]
    if loaded:
        lines.append("Ready: yes")
    else:
        lines.append("Ready: no (no BPF program could be loaded; see above)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parse_args(argv)
    caps = effective_caps(Path("/proc/self/status").read_text())
    privilege = privileges(os.geteuid(), caps)
    load_error = try_load()
    # A kprobe needs a loadable program first; skip the attempt otherwise.
    kprobe_error = try_kprobe() if load_error is None else "no BPF program could be loaded"
    lines = report_lines(
        platform.release(),
        platform.machine(),
        BTF_PATH.exists(),
        privilege,
        load_error,
        kprobe_error,
    )
    print("eBPF environment report", flush=True)
    for line in lines:
        print(line, flush=True)
    if load_error is not None:
        print(
            f"No BPF program could be loaded ({load_error}); run as root (sudo) and try again.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
