#!/usr/bin/env python3
"""Trace every openat() with what it returned: the new fd, or -errno.

syscalls:sys_exit_openat knows the result but not the file name;
syscalls:sys_enter_openat knows the name. The entry keeps the name's address
per thread until the same thread's exit, which prints both.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any

TRACEPOINT = "syscalls:sys_exit_openat"

# Keyed by the thread id: two threads of one process can be inside openat at
# once, and each exit must find its own call's name.
BPF_TEXT = r"""
struct open_result_t {
    u32 pid;          // tgid: what user space calls the process id
    int ret;          // the new fd, or -errno (openat's return value)
    char comm[16];
    char filename[256];
};

BPF_HASH(entered, u32, const char *);  // tid -> filename, from entry to exit
BPF_PERF_OUTPUT(events);

TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    u64 id = bpf_get_current_pid_tgid();
    if (id >> 32 == SELF_PID)
        return 0;
    u32 tid = id;
    const char *filename = args->filename;
    entered.update(&tid, &filename);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_openat) {
    u64 id = bpf_get_current_pid_tgid();
    u32 tid = id;
    const char **filename = entered.lookup(&tid);
    if (filename == 0)
        return 0;  // entered before the probe attached, or the probe itself
    struct open_result_t ev = {};
    ev.pid = id >> 32;
    ev.ret = args->ret;  // a long in the format file: -2 must stay -2
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    // Read the name now: the call has copied it in, so its page is present.
    bpf_probe_read_user_str(&ev.filename, sizeof(ev.filename), *filename);
    entered.delete(&tid);
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
"""

EXAMPLES = """examples:
    ./probe.py          # every openat() and its result for 5 seconds
    ./probe.py -d 0     # until Ctrl+C
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Trace openat() calls and what each returned",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
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


def format_result(pid: int, comm: str, filename: str, ret: int) -> str:
    return f"[{pid}] {comm}: openat({filename}) = {ret}"


def result_line(ev: Any) -> str:
    """The line for one open_result_t read from the perf buffer."""
    return format_result(
        ev.pid, ev.comm.decode(errors="replace"), ev.filename.decode(errors="replace"), ev.ret
    )


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
        bpf = BPF(text=BPF_TEXT, cflags=[f"-DSELF_PID={os.getpid()}"])
    except Exception as exc:  # bcc raises plain Exception on load/attach failures
        print(f"Could not load the tracepoint programs: {exc}", file=sys.stderr)
        return 1

    seen = 0

    def on_event(cpu: int, data: int, size: int) -> None:
        nonlocal seen
        seen += 1
        print(result_line(bpf["events"].event(data)))

    bpf["events"].open_perf_buffer(on_event, page_cnt=64)
    print(f"Attached to tracepoint {TRACEPOINT}", flush=True)

    deadline = time.monotonic() + args.duration if args.duration else None
    while not stop and (deadline is None or time.monotonic() < deadline):
        bpf.perf_buffer_poll(timeout=100)
        sys.stdout.flush()
    bpf.perf_buffer_poll(timeout=0)  # whatever is still buffered
    print(f"Detached from {TRACEPOINT} after {seen} events.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
