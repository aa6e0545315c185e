#!/usr/bin/env python3
# must-fail: marker-open
# why: prints the thread id (lower 32 bits of bpf_get_current_pid_tgid) as the pid
"""Trace one kernel tracepoint: syscalls:sys_enter_openat or sched:sched_switch.

A tracepoint is a stable hook the kernel developers placed on purpose; its
fields are described in /sys/kernel/tracing/events/<category>/<name>/format
and bcc's TRACEPOINT_PROBE gives the program an `args` pointer to them.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

# BPF C text, one program per supported tracepoint. The probe loads only the
# one the user asked for, so the output always belongs to that tracepoint.
BPF_OPENAT = r"""
#include <uapi/linux/ptrace.h>

struct open_event_t {
    u32 pid;          // tgid: what user space calls the process id
    int syscall_nr;   // the tracepoint's __syscall_nr field
    int dfd;          // directory fd; AT_FDCWD is -100
    char comm[16];
    char filename[256];
};

BPF_PERF_OUTPUT(events);

TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    struct open_event_t ev = {};
    ev.pid = (u32)bpf_get_current_pid_tgid();
    // Skip the probe's own opens: a callback that opened a file for each
    // event (say /proc/PID/comm) would make a new event each time.
    if (ev.pid == SELF_PID)
        return 0;
    ev.syscall_nr = args->__syscall_nr;
    // The format file declares dfd as an 8-byte field: cast to int so
    // AT_FDCWD reads as -100, not 4294967196.
    ev.dfd = (int)args->dfd;
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    // filename points into the calling process's memory.
    bpf_probe_read_user_str(&ev.filename, sizeof(ev.filename), args->filename);
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
"""

BPF_SCHED_SWITCH = r"""
struct switch_event_t {
    u32 prev_pid;
    u32 next_pid;
};

BPF_PERF_OUTPUT(events);

TRACEPOINT_PROBE(sched, sched_switch) {
    // Every event wakes this probe up, which is itself a context switch:
    // skip switches into or out of the probe, or it would trace itself.
    if (args->prev_pid == SELF_PID || args->next_pid == SELF_PID)
        return 0;
    struct switch_event_t ev = {};
    ev.prev_pid = args->prev_pid;
    ev.next_pid = args->next_pid;
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
"""


EXAMPLES = """examples:
    ./probe.py syscalls sys_enter_openat        # every openat() for 5 seconds
    ./probe.py syscalls sys_enter_openat -d 0   # until Ctrl+C
    ./probe.py sched sched_switch -d 2          # context switches for 2 seconds
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Trace a kernel tracepoint (syscalls:sys_enter_openat or sched:sched_switch)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    parser.add_argument("category", help="tracepoint category, e.g. syscalls or sched")
    parser.add_argument("name", help="tracepoint name, e.g. sys_enter_openat or sched_switch")
    parser.add_argument(
        "-d",
        "--duration",
        type=float,
        default=5,
        help="seconds to trace (default 5, 0 = until Ctrl+C)",
    )
    args = parser.parse_args(argv)
    if args.duration < 0:
        parser.error("--duration must be 0 or more seconds")
    return args


def format_open(pid: int, comm: str, syscall_nr: int, dfd: int, filename: str) -> str:
    return f"[{pid}] {comm}: syscall_nr={syscall_nr}, dfd={dfd}, filename={filename}"


def format_switch(prev_pid: int, next_pid: int) -> str:
    return f"context switch: {prev_pid} -> {next_pid}"


def open_line(ev: Any) -> str:
    """The line for one open_event_t read from the perf buffer."""
    return format_open(
        ev.pid,
        ev.comm.decode(errors="replace"),
        ev.syscall_nr,
        ev.dfd,
        ev.filename.decode(errors="replace"),
    )


def switch_line(ev: Any) -> str:
    """The line for one switch_event_t read from the perf buffer."""
    return format_switch(ev.prev_pid, ev.next_pid)


@dataclass(frozen=True)
class Program:
    """One supported tracepoint: its BPF C text and how its events print."""

    tracepoint: str  # "category:name", what the program attaches to
    text: str
    line: Callable[[Any], str]


PROGRAMS = {
    ("syscalls", "sys_enter_openat"): Program("syscalls:sys_enter_openat", BPF_OPENAT, open_line),
    ("sched", "sched_switch"): Program("sched:sched_switch", BPF_SCHED_SWITCH, switch_line),
}


def program_for(category: str, name: str) -> Program | None:
    """The program for a tracepoint, or None when it is not supported."""
    return PROGRAMS.get((category, name))


def need_root() -> str | None:
    """One sentence when this process cannot load tracing programs, else None."""
    if os.geteuid() != 0:
        return "This probe loads BPF programs and must run as root: run it with sudo."
    try:
        import bcc  # noqa: F401
    except ImportError:
        return "The bcc Python module is missing: install python3-bpfcc (bcc is not on PyPI)."
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    program = program_for(args.category, args.name)
    if program is None:
        supported = ", ".join(f"{c}:{n}" for c, n in PROGRAMS)
        print(
            f"Unsupported tracepoint {args.category}:{args.name}; choose one of {supported}.",
            file=sys.stderr,
        )
        return 2

    problem = need_root()
    if problem:
        print(problem, file=sys.stderr)
        return 1

    # SIGINT (Ctrl+C, or the course runner) ends the loop and the summary
    # follows; set up first so an early Ctrl+C is no traceback either.
    stop = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    from bcc import BPF  # imported late so --help works without bcc or root

    try:
        bpf = BPF(text=program.text, cflags=[f"-DSELF_PID={os.getpid()}"])
    except Exception as exc:  # bcc raises plain Exception on load/attach failures
        print(f"Could not load the tracepoint program: {exc}", file=sys.stderr)
        return 1

    seen = 0

    def on_event(cpu: int, data: int, size: int) -> None:
        nonlocal seen
        seen += 1
        print(program.line(bpf["events"].event(data)))

    bpf["events"].open_perf_buffer(on_event, page_cnt=64)
    print(f"Attached to tracepoint {program.tracepoint}", flush=True)

    deadline = time.monotonic() + args.duration if args.duration else None
    # Read in batches every 100 ms and flush once per batch. Waking the
    # reader of our output is a context switch too: flushing per line would
    # feed sched_switch its own output and snowball.
    while not stop and (deadline is None or time.monotonic() < deadline):
        time.sleep(0.1)
        bpf.perf_buffer_poll(timeout=0)
        sys.stdout.flush()
    bpf.perf_buffer_poll(timeout=0)  # whatever is still buffered
    print(f"Detached from {program.tracepoint} after {seen} events.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
