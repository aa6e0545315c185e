#!/usr/bin/env python3
"""Read the arguments of do_sys_openat2 and send them to user space.

Starter: the probe runs and sends which process called do_sys_openat2, but
not yet from which thread, with which directory fd, or when. Work through
the TODOs in order; the lesson text (README.md) explains each step.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any

BPF_TEXT = r"""
#include <uapi/linux/ptrace.h>

struct open_event_t {
    u32 pid;            // tgid: what user space calls the process id
    // TODO 1: add the fields  u32 tid;  int dfd;  u64 timestamp_ns;
    char comm[16];      // the calling thread's name
};

BPF_PERF_OUTPUT(events);

// TODO 2: take do_sys_openat2's first argument: add `int dfd` after ctx.
int trace_open(struct pt_regs *ctx) {
    struct open_event_t ev = {};
    u64 pid_tgid = bpf_get_current_pid_tgid();
    ev.pid = pid_tgid >> 32;
    // TODO 3: fill tid (lower 32 bits of pid_tgid), dfd, and timestamp_ns
    //         with bpf_ktime_get_ns().
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    events.perf_submit(ctx, &ev, sizeof(ev));
    return 0;
}
"""

FUNCTION = "do_sys_openat2"

EXAMPLES = """examples:
    ./probe.py          # every do_sys_openat2() call for 5 seconds
    ./probe.py -d 0     # until Ctrl+C
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=f"Print pid, comm, dfd and a timestamp for every {FUNCTION}() call.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "-d",
        "--duration",
        type=int,
        default=5,
        help="seconds to trace; 0 traces until Ctrl+C (default: 5)",
    )
    # TODO 4: reject a negative duration with parser.error("...") (one
    #         sentence saying what is allowed).
    return parser.parse_args(argv)


def comm_text(comm: bytes) -> str:
    """The task name: the bytes before the first NUL of the 16-byte field."""
    # TODO 5: comm is 16 bytes padded with NUL bytes: keep what is before the
    #         first NUL and decode it (errors="replace").
    return repr(comm)


def format_event(pid: int, tid: int, comm: bytes, dfd: int, timestamp_ns: int) -> str:
    # TODO 6: return "[<pid>/<tid>] <comm>: dfd=<dfd>, timestamp=<timestamp_ns>",
    #         with the name from comm_text(comm).
    return f"[{pid}] {comm_text(comm)}"


def event_line(ev: Any) -> str:
    """One line for an event struct, read by the field names of the C struct
    (bcc builds `ev` from the C text, so these names must be declared there)."""
    # TODO 7: pass the real ev.tid, ev.dfd and ev.timestamp_ns.
    return format_event(ev.pid, 0, ev.comm, 0, 0)


def fail(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
    sys.exit(1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        fail("This probe loads a BPF program and must run as root: try sudo.")
    from bcc import BPF

    b = BPF(text=BPF_TEXT)
    b.attach_kprobe(event=FUNCTION, fn_name="trace_open")

    def print_event(cpu: int, data: int, size: int) -> None:
        print(event_line(b["events"].event(data)), flush=True)

    b["events"].open_perf_buffer(print_event)
    print(f"Attached kprobe to: {FUNCTION}", flush=True)
    # Ctrl+C sets a flag: a KeyboardInterrupt raised inside print_event would
    # only make ctypes print a traceback and carry on (lesson 04 explains).
    stopping: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
    deadline = time.monotonic() + args.duration if args.duration else None
    while not stopping and (deadline is None or time.monotonic() < deadline):
        b.perf_buffer_poll(timeout=100)
    return 0


if __name__ == "__main__":
    sys.exit(main())
