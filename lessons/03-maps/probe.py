#!/usr/bin/env python3
"""Count do_sys_openat2 calls per process in a BPF hash map.

Starter: the map exists and the table is printed, but nothing counts yet
and the rows are not sorted. Work through the TODOs in order; the lesson
text (README.md) explains each step.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

BPF_TEXT = r"""
#include <uapi/linux/ptrace.h>

struct name_t {
    char comm[16];
};

BPF_HASH(counts, u32, u64);
BPF_HASH(names, u32, struct name_t);

int count_open(struct pt_regs *ctx) {
    struct name_t name = {};
    bpf_get_current_comm(&name.comm, sizeof(name.comm));
    // TODO 1: take the process id (the tgid: upper 32 bits of
    //         bpf_get_current_pid_tgid()) into a u32 pid, then
    //         counts.increment(pid); and names.update(&pid, &name);
    return 0;
}
"""

FUNCTION = "do_sys_openat2"
TOP = 20
HEADER = f"{'PID':<7} {'COMM':<16} {'OPENS':>8}"

EXAMPLES = """examples:
    ./probe.py          # count opens per process for 5 seconds
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
    return parser.parse_args(argv)


def top_rows(counts: dict[int, int], limit: int = TOP) -> list[tuple[int, int]]:
    """(pid, count) pairs, largest count first (ties by pid), at most `limit`."""
    # TODO 2: sort by count, largest first (ties: smaller pid first), and
    #         keep at most `limit` rows.
    return list(counts.items())


def format_table(rows: list[tuple[int, int]], names: dict[int, str]) -> list[str]:
    # TODO 3: with no rows, return ["(No data collected)"] instead.
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
    from bcc import BPF

    b = BPF(text=BPF_TEXT)
    b.attach_kprobe(event=FUNCTION, fn_name="count_open")
    print(f"Attached kprobe to: {FUNCTION}", flush=True)
    try:
        if args.duration:
            time.sleep(args.duration)
        else:
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    b.detach_kprobe(event=FUNCTION)
    counts = {k.value: v.value for k, v in b["counts"].items()}
    names = {k.value: v.comm.decode(errors="replace") for k, v in b["names"].items()}
    for line in format_table(top_rows(counts), names):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
