# must-fail: kernel-counts
# why: sends every call up a perf buffer and counts in a Python dict: right table, empty kernel map
"""Count do_sys_openat2 calls per process in a BPF hash map.

Instead of sending every event to user space, the kprobe adds one to a
counter in a BPF_HASH keyed by the process id (tgid). When the window
ends, this script reads the map once and prints a table, busiest first.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

# BPF C text: two maps keyed by tgid, one for the count, one for the name
# (a thread may rename itself, so the name kept is the last one seen).
BPF_TEXT = r"""
#include <uapi/linux/ptrace.h>

struct call_t {
    u32 pid;
    char comm[16];
};

BPF_PERF_OUTPUT(calls);

int count_open(struct pt_regs *ctx) {
    struct call_t call = {};
    call.pid = bpf_get_current_pid_tgid() >> 32;   // tgid, not the thread id
    bpf_get_current_comm(&call.comm, sizeof(call.comm));
    calls.perf_submit(ctx, &call, sizeof(call));   // counted in Python instead
    return 0;
}
"""

FUNCTION = "do_sys_openat2"
TOP = 20
HEADER = f"{'PID':<7} {'COMM':<16} {'OPENS':>8}"

EXAMPLES = """examples:
    ./probe.py          # count opens per process for 5 seconds
    ./probe.py -d 10    # for 10 seconds
    ./probe.py -d 0     # until Ctrl+C
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=f"Count {FUNCTION}() calls per process and print the top {TOP}.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "-d",
        "--duration",
        type=int,
        default=5,
        help="seconds to count; 0 counts until Ctrl+C (default: 5)",
    )
    args = parser.parse_args(argv)
    if args.duration < 0:
        parser.error("the duration must be 0 (until Ctrl+C) or a positive number of seconds")
    return args


def top_rows(counts: dict[int, int], limit: int = TOP) -> list[tuple[int, int]]:
    """(pid, count) pairs, largest count first (ties by pid), at most `limit`."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def format_table(rows: list[tuple[int, int]], names: dict[int, str]) -> list[str]:
    if not rows:
        return ["(No data collected)"]
    lines = [HEADER]
    for pid, count in rows:
        lines.append(f"{pid:<7} {names.get(pid, '?'):<16} {count:>8}")
    return lines


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
        b.attach_kprobe(event=FUNCTION, fn_name="count_open")
    except Exception:
        fail(f"Cannot attach a kprobe to {FUNCTION}: this kernel does not have it traceable.")
    counts: dict[int, int] = {}
    names: dict[int, str] = {}

    def on_call(cpu: int, data: int, size: int) -> None:
        call = b["calls"].event(data)
        counts[call.pid] = counts.get(call.pid, 0) + 1
        names[call.pid] = call.comm.decode(errors="replace")

    b["calls"].open_perf_buffer(on_call, page_cnt=64)
    print(f"Attached kprobe to: {FUNCTION}", flush=True)
    until = f"for {args.duration} seconds" if args.duration else "until Ctrl+C"
    print(f"Counting calls {until}...", file=sys.stderr, flush=True)
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while deadline is None or time.monotonic() < deadline:
            b.perf_buffer_poll(timeout=100)
    except KeyboardInterrupt:
        pass
    b.detach_kprobe(event=FUNCTION)
    b.perf_buffer_poll(timeout=0)
    for line in format_table(top_rows(counts), names):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
