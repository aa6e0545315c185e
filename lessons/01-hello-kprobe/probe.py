#!/usr/bin/env python3
"""Say hello every time a kernel function is called: a first kprobe.

Starter: it runs, attaches, and waits - but it does not print anything
when the function is called yet. Work through the TODOs in order; the
lesson text (README.md) explains each step.
"""

from __future__ import annotations

import argparse
import os
import select
import sys
import time

# The BPF program, compiled by bcc when the probe starts.
BPF_TEXT = r"""
int hello(struct pt_regs *ctx) {
    // TODO 1: take the process id (the tgid) from the upper 32 bits of
    //         bpf_get_current_pid_tgid(), the task name with
    //         bpf_get_current_comm(&comm, sizeof(comm)) into a char comm[16],
    //         and write both to the trace pipe:
    //         bpf_trace_printk("hello %d %s\n", pid, comm);
    return 0;
}
"""

MESSAGE_PREFIX = b"hello "

EXAMPLES = """examples:
    ./probe.py                          # every do_sys_openat2() call for 5 seconds
    ./probe.py do_sys_openat2 -d 0      # until Ctrl+C
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Print a line every time a kernel FUNCTION is called (a kprobe).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "function",
        metavar="FUNCTION",
        nargs="?",
        default="do_sys_openat2",
        help="kernel function to attach to (default: do_sys_openat2)",
    )
    parser.add_argument("-d", "--duration", type=int, default=5)
    # TODO 2: give -d/--duration a help text (say that 0 means "until
    #         Ctrl+C"), and reject a negative duration with parser.error().
    return parser.parse_args(argv)


def parse_message(msg: bytes) -> tuple[int, str] | None:
    """(pid, comm) from one of our trace messages, None for someone else's."""
    # TODO 3: b"hello 1234 cat" -> (1234, "cat"). The comm is everything after
    #         the pid (it may contain spaces). Return None for any message
    #         that does not start with MESSAGE_PREFIX, a number and a name.
    return None


def format_call(pid: int, comm: str, function: str) -> str:
    # TODO 4: return "[<pid>] <comm> called <function>".
    return ""


def fail(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
    sys.exit(1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        fail("This probe loads a BPF program and must run as root: try sudo.")
    from bcc import BPF

    # TODO 5: if BPF.ksymname(args.function) is negative, fail() with one
    #         sentence that names the function (before compiling: it is slow).
    b = BPF(text=BPF_TEXT)
    b.attach_kprobe(event=args.function, fn_name="hello")
    print(f"Attached kprobe to: {args.function}", flush=True)
    deadline = time.monotonic() + args.duration if args.duration else None
    pipe = b.trace_open(nonblocking=True)
    try:
        while deadline is None or time.monotonic() < deadline:
            task, _tid, _cpu, _flags, _ts, msg = b.trace_fields(nonblocking=True)
            if task is None:
                # Wait until the pipe has data (at most 50 ms), not a fixed nap:
                # trace_fields often returns None with more lines still waiting.
                select.select([pipe], [], [], 0.05)
                continue
            # TODO 6: turn msg into (pid, comm) with parse_message(); for our
            #         own messages print format_call(pid, comm, args.function).
    except KeyboardInterrupt:
        pass
    b.detach_kprobe(event=args.function)
    # TODO 7: say goodbye: print "Kprobe detached. Exiting."
    return 0


if __name__ == "__main__":
    sys.exit(main())
