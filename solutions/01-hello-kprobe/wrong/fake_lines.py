# must-fail: kernel-hook
# why: attaches nothing: it lists the processes in /proc and prints call lines for each
"""Say hello every time a kernel function is called: a first kprobe.

A kprobe can be attached to (almost) any kernel function. The tiny BPF
program below runs on every call and writes one message to the kernel's
trace pipe; this script reads the pipe and prints one line per call.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# The BPF program, compiled by bcc when the probe starts. It records who
# called the function: the upper 32 bits of pid_tgid are the process id
# (the tgid), the lower 32 bits the thread id. The name goes into the
# message too: the trace pipe's own task column can show "<...>" when the
# kernel no longer remembers a short-lived task's name.
BPF_TEXT = r"""
int hello(struct pt_regs *ctx) {
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    char comm[16];
    bpf_get_current_comm(&comm, sizeof(comm));
    bpf_trace_printk("hello %d %s\n", pid, comm);
    return 0;
}
"""

MESSAGE_PREFIX = b"hello "  # what our program writes; other tracers write other things

EXAMPLES = """examples:
    ./probe.py                          # every do_sys_openat2() call for 5 seconds
    ./probe.py do_sys_openat2 -d 0      # until Ctrl+C
    ./probe.py vfs_read -d 2            # another kernel function, for 2 seconds
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


def parse_message(msg: bytes) -> tuple[int, str] | None:
    """(pid, comm) from one of our trace messages, None for someone else's."""
    if not msg.startswith(MESSAGE_PREFIX):
        return None
    pid, _, comm = msg[len(MESSAGE_PREFIX) :].rstrip(b"\n").partition(b" ")
    if not pid.isdigit() or not comm:
        return None
    return int(pid), comm.decode(errors="replace")


def format_call(pid: int, comm: str, function: str) -> str:
    return f"[{pid}] {comm} called {function}"


def pids() -> list[int]:
    return [int(entry.name) for entry in os.scandir("/proc") if entry.name.isdigit()]


def thread_names(pid: int) -> set[str]:
    names = set()
    try:
        for task in os.scandir(f"/proc/{pid}/task"):
            with open(f"{task.path}/comm") as comm:
                names.add(comm.read().strip())
    except OSError:  # the process is gone already
        pass
    return names


def fail(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
    sys.exit(1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        fail("This probe loads a BPF program and must run as root: try sudo.")
    from bcc import BPF  # imported late so --help works without bcc

    if BPF.ksymname(args.function) < 0:
        fail(f"Cannot attach a kprobe to {args.function}: no kernel function has that name.")
    # Nothing is compiled or attached: the lines below are made up from /proc.
    seen: set[int] = set()
    print(f"Attached kprobe to: {args.function}", flush=True)
    # The clock starts once attached: compiling can take seconds.
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while deadline is None or time.monotonic() < deadline:
            for pid in pids():
                if pid in seen:
                    continue
                seen.add(pid)
                # Every process opens files sometime: claim a dozen calls per thread name.
                for comm in thread_names(pid):
                    for _ in range(12):
                        print(format_call(pid, comm, args.function), flush=True)
            time.sleep(0.02)
    except KeyboardInterrupt:
        pass  # Ctrl+C ends the trace like the duration does
    print("Kprobe detached. Exiting.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
