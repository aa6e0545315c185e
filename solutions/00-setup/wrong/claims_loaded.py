#!/usr/bin/env python3
# must-fail: kernel-load
# why: prints "BPF program: loaded" and "Ready: yes" for root without loading any program
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
    """Root can load programs, so say it loaded; None on success."""
    if os.geteuid() == 0:
        return None
    return "not root"


def try_kprobe() -> str | None:
    """kprobes exist when tracefs offers kprobe_events; None when it does."""
    for root in ("/sys/kernel/tracing", "/sys/kernel/debug/tracing"):
        if Path(root, "kprobe_events").exists():
            return None
    return "this kernel has no kprobe_events in tracefs"


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
