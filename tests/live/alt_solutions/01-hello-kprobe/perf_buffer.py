#!/usr/bin/env python3
# alternative solution: events through a perf buffer instead of the trace pipe, the name
# looked up in /proc/kallsyms, line-buffered stdout instead of flush=True
"""Say hello every time a kernel function is called, written another way.

The kprobe sends (pid, comm) through a perf buffer of its own rather than
the shared trace pipe, so no message of another tracer can mix in.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

PROGRAM = r"""
#include <linux/sched.h>

struct call_t {
    u32 pid;
    char comm[TASK_COMM_LEN];
};
BPF_PERF_OUTPUT(calls);

int on_call(struct pt_regs *ctx)
{
    struct call_t call = {};
    call.pid = bpf_get_current_pid_tgid() >> 32;
    bpf_get_current_comm(&call.comm, sizeof(call.comm));
    calls.perf_submit(ctx, &call, sizeof(call));
    return 0;
}
"""


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Print a line per call of a kernel FUNCTION.")
    parser.add_argument("function", metavar="FUNCTION", nargs="?", default="do_sys_openat2")
    parser.add_argument(
        "-d", "--duration", type=int, default=5, help="seconds to trace, 0 = until Ctrl+C"
    )
    args = parser.parse_args(argv)
    if args.duration < 0:
        parser.error("the duration must not be negative")
    return args


def in_kallsyms(name: str, text: str) -> bool:
    """Whether the kernel's symbol table (text of /proc/kallsyms) has `name`."""
    return any(line.split()[2:3] == [name] for line in text.splitlines())


def call_line(call: Any, function: str) -> str:
    return f"[{call.pid}] {call.comm.decode(errors='replace')} called {function}"


def main() -> int:
    args = arguments()
    sys.stdout.reconfigure(line_buffering=True)
    with open("/proc/kallsyms") as symbols:
        if not in_kallsyms(args.function, symbols.read()):
            print(f"No kernel function named {args.function} to probe.", file=sys.stderr)
            return 2
    from bcc import BPF

    bpf = BPF(text=PROGRAM)
    bpf.attach_kprobe(event=args.function, fn_name="on_call")
    table = bpf["calls"]
    table.open_perf_buffer(
        lambda cpu, data, size: print(call_line(table.event(data), args.function))
    )
    print("Attached kprobe to:", args.function)
    until = time.monotonic() + (args.duration or float("inf"))
    try:
        while time.monotonic() < until:
            bpf.perf_buffer_poll(timeout=50)
    except KeyboardInterrupt:
        pass
    bpf.detach_kprobe(event=args.function)
    print("Kprobe detached. Exiting.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
