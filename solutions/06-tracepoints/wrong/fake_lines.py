#!/usr/bin/env python3
# must-fail: kernel-hook
# why: loads no BPF program: strace (ptrace) shows it the workload's opens; syscall_nr is made up
"""Trace one kernel tracepoint: syscalls:sys_enter_openat or sched:sched_switch.

A tracepoint is a stable hook the kernel developers placed on purpose; its
fields are described in /sys/kernel/tracing/events/<category>/<name>/format
and bcc's TRACEPOINT_PROBE gives the program an `args` pointer to them.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
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
    ev.pid = bpf_get_current_pid_tgid() >> 32;
    // The probe opens files itself (bcc reads /sys/devices/system/cpu/online
    // once the program is attached): skip them, or it traces itself.
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

    # No BPF at all: strace (ptrace) stops the course's processes (comm
    # ebpfc-*, already started and waiting) at each openat; syscall_nr is
    # made up, what the workload "must" have passed.
    if program.tracepoint != "syscalls:sys_enter_openat":
        print(f"Could not load the tracepoint program: {program.tracepoint}", file=sys.stderr)
        return 1
    comms: dict[int, str] = {}
    tgid: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        try:
            comm = Path(f"/proc/{entry}/comm").read_text().strip()
            tasks = os.listdir(f"/proc/{entry}/task") if entry.isdigit() else []
        except OSError:
            continue
        if comm.startswith("ebpfc-"):
            for task in tasks:
                comms[int(task)], tgid[int(task)] = comm, int(entry)
    argv = ["strace", "-f", "-qq", "-e", "trace=openat"]
    for pid in sorted(set(tgid.values())):
        argv += ["-p", str(pid)]
    strace = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True) if tgid else None
    time.sleep(0.5)  # let it attach
    print(f"Attached to tracepoint {program.tracepoint}", flush=True)
    seen = 0
    call = re.compile(r'^(?:\[pid\s+)?(\d+)\]?\s+openat\((AT_FDCWD|-?\d+), "([^"]*)"')
    deadline = time.monotonic() + args.duration if args.duration else None
    while strace and not stop and (deadline is None or time.monotonic() < deadline):
        line = strace.stderr.readline()
        if not line:
            break
        m = call.match(line)
        if m:
            tid, dfd, path = int(m.group(1)), m.group(2), m.group(3)
            pid = tgid.get(tid, tid)
            dfd_value = -100 if dfd == "AT_FDCWD" else int(dfd)
            print(format_open(pid, comms.get(tid, "?"), 257, dfd_value, path), flush=True)
            seen += 1
    while not stop and (deadline is None or time.monotonic() < deadline):
        time.sleep(0.1)
    if strace:
        strace.terminate()
    print(f"Detached from {program.tracepoint} after {seen} events.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
