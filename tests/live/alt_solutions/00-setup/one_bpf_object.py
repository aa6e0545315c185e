#!/usr/bin/env python3
# alternative solution: os.uname() instead of platform, CapEff matched with a regex, one
# compiled object for the load and the kprobe trial, a kprobe on do_sys_openat2
"""Report what this machine offers for eBPF tracing, written another way."""

from __future__ import annotations

import argparse
import os
import re
import sys

# Two functions: bcc caches a loaded function by name, with the type it was loaded as.
PROGRAM = "int noop(void *ctx) { return 0; }\nint hook(void *ctx) { return 0; }"
CAP_BPF, CAP_SYS_ADMIN = 39, 21


def privilege(uid: int, status: str) -> str:
    found = re.search(r"^CapEff:\s*([0-9a-fA-F]+)$", status, re.MULTILINE)
    caps = int(found.group(1), 16) if found else 0
    if uid == 0:
        return "root"
    return "CAP_BPF" if caps & (1 << CAP_BPF | 1 << CAP_SYS_ADMIN) else "none"


def why(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def trials() -> tuple[str | None, str | None]:
    """(why loading failed, why the kprobe failed); None where it worked."""
    try:
        from bcc import BPF

        bpf = BPF(text=PROGRAM)
        bpf.load_func("noop", BPF.SOCKET_FILTER)
    except Exception as exc:
        return why(exc), "no BPF program could be loaded"
    try:
        bpf.attach_kprobe(event="do_sys_openat2", fn_name="hook")
    except Exception as exc:
        return None, why(exc)
    finally:
        bpf.cleanup()
    return None, None


def main() -> int:
    parser = argparse.ArgumentParser(description="eBPF environment report")
    parser.add_argument("-d", "--duration", type=float, default=5, help="unused")
    parser.parse_args()
    uname = os.uname()
    with open("/proc/self/status") as status:
        who = privilege(os.geteuid(), status.read())
    load_error, kprobe_error = trials()
    btf = os.path.exists("/sys/kernel/btf/vmlinux")
    print("eBPF environment report")
    print(f"Kernel: {uname.release} ({uname.machine})")
    print(f"BTF: {'yes' if btf else 'no'} (/sys/kernel/btf/vmlinux)")
    print(f"Privileges: {who}")
    print("BPF program: loaded" if load_error is None else f"BPF program: failed ({load_error})")
    print(
        "kprobes: available" if kprobe_error is None else f"kprobes: unavailable ({kprobe_error})"
    )
    print("Ready: yes" if load_error is None else "Ready: no (no BPF program could be loaded)")
    return 0 if load_error is None else 1


if __name__ == "__main__":
    sys.exit(main())
