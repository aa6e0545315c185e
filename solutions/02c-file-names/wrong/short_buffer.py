#!/usr/bin/env python3
# must-fail: filename-cwd
# why: a 16-byte name field, like comm: every path longer than 15 bytes is cut
"""Read the arguments of do_sys_openat2, the file name too, and send them
to user space.

The kprobe fills a C struct for every call (who called, with which
directory fd, which file name, when) and pushes it through a perf buffer;
the callback below turns each struct into one line.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any

# BPF C text. Field names say what each field holds: dfd and filename are the
# first two arguments of do_sys_openat2(int dfd, const char __user *filename, ...).
# The file name lives in the calling process's memory: only
# bpf_probe_read_user_str can copy it. 256 bytes hold the paths of this
# lesson; longer ones are cut (the struct lives on the BPF stack, 512 bytes).
BPF_TEXT = r"""
#include <uapi/linux/ptrace.h>

struct open_event_t {
    u32 pid;            // tgid: what user space calls the process id
    u32 tid;            // the thread that made the call
    int dfd;            // directory fd; AT_FDCWD (-100) means "the cwd"
    u64 timestamp_ns;   // bpf_ktime_get_ns(): CLOCK_MONOTONIC
    char comm[16];      // the calling thread's name
    char filename[16];  // the path as the caller passed it, NUL-terminated
};

BPF_PERF_OUTPUT(events);

int trace_open(struct pt_regs *ctx, int dfd, const char __user *filename) {
    struct open_event_t ev = {};
    u64 pid_tgid = bpf_get_current_pid_tgid();
    ev.pid = pid_tgid >> 32;
    ev.tid = (u32)pid_tgid;
    ev.dfd = dfd;
    ev.timestamp_ns = bpf_ktime_get_ns();
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    bpf_probe_read_user_str(&ev.filename, sizeof(ev.filename), filename);
    events.perf_submit(ctx, &ev, sizeof(ev));
    return 0;
}
"""

FUNCTION = "do_sys_openat2"

EXAMPLES = """examples:
    ./probe.py          # every do_sys_openat2() call, with its file name, for 5 seconds
    ./probe.py -d 0     # until Ctrl+C
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=f"Print pid, comm, dfd, file name and a timestamp for every {FUNCTION}() call.",
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
    args = parser.parse_args(argv)
    if args.duration < 0:
        parser.error("the duration must be 0 (until Ctrl+C) or a positive number of seconds")
    return args


def comm_text(comm: bytes) -> str:
    """The text of a fixed-size C string field (the task name, the file name):
    the bytes before the first NUL."""
    return comm.split(b"\0", 1)[0].decode(errors="replace")


def format_event(
    pid: int, tid: int, comm: bytes, dfd: int, filename: bytes, timestamp_ns: int
) -> str:
    return (
        f"[{pid}/{tid}] {comm_text(comm)}: dfd={dfd}, filename={comm_text(filename)}, "
        f"timestamp={timestamp_ns}"
    )


def event_line(ev: Any) -> str:
    """One line for an event struct, read by the field names of the C struct
    (bcc builds `ev` from the C text, so these names must be declared there)."""
    return format_event(ev.pid, ev.tid, ev.comm, ev.dfd, ev.filename, ev.timestamp_ns)


def fail(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
    sys.exit(1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        fail("This probe loads a BPF program and must run as root: try sudo.")
    from bcc import BPF  # imported late so --help works without bcc

    b = BPF(text=BPF_TEXT)
    try:
        b.attach_kprobe(event=FUNCTION, fn_name="trace_open")
    except Exception:
        fail(f"Cannot attach a kprobe to {FUNCTION}: this kernel does not have it traceable.")

    def print_event(cpu: int, data: int, size: int) -> None:
        # b["events"].event() reads the struct with the layout bcc parsed from the C text.
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
    print("Detached. Exiting.", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
