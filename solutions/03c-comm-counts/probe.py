#!/usr/bin/env python3
"""Count do_sys_openat2 calls per process and per command name in BPF hash maps.

Instead of sending every event to user space, the kprobe adds one to a
counter in a BPF_HASH keyed by the process id (tgid). When the window
ends, this script reads the map once and prints a table, busiest first.
A second BPF_HASH, keyed by the calling thread's comm, counts per command
name, across processes: its table follows the first.
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

struct name_t {
    char comm[16];
};

BPF_HASH(counts, u32, u64);
BPF_HASH(names, u32, struct name_t);
// keyed by the comm itself: the thread's name at the call, whichever process
BPF_HASH(comm_counts, struct name_t, u64);

int count_open(struct pt_regs *ctx) {
    u32 pid = bpf_get_current_pid_tgid() >> 32;   // tgid, not the thread id
    struct name_t name = {};
    bpf_get_current_comm(&name.comm, sizeof(name.comm));
    counts.increment(pid);
    names.update(&pid, &name);
    // name was zeroed, so equal comms are equal keys. Threads of one name in
    // two processes may open at the same moment on two CPUs: find or create
    // the entry, then add atomically (increment() adds without a lock).
    u64 zero = 0;
    u64 *by_name = comm_counts.lookup_or_try_init(&name, &zero);
    if (by_name)
        __sync_fetch_and_add(by_name, 1);
    return 0;
}
"""

FUNCTION = "do_sys_openat2"
TOP = 20
HEADER = f"{'PID':<7} {'COMM':<16} {'OPENS':>8}"
COMM_HEADER = f"{'COMM':<16} {'OPENS':>8}"

EXAMPLES = """examples:
    ./probe.py          # count opens per process for 5 seconds
    ./probe.py -d 10    # for 10 seconds
    ./probe.py -d 0     # until Ctrl+C
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=f"Count {FUNCTION}() calls per process and per comm; print the top {TOP}.",
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


def top_rows(counts: dict, limit: int = TOP) -> list[tuple]:
    """(key, count) pairs, largest count first (ties by key: pid or comm), at
    most `limit`."""
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]


def format_table(rows: list[tuple[int, int]], names: dict[int, str]) -> list[str]:
    if not rows:
        return ["(No data collected)"]
    lines = [HEADER]
    for pid, count in rows:
        lines.append(f"{pid:<7} {names.get(pid, '?'):<16} {count:>8}")
    return lines


def format_comm_table(rows: list[tuple[str, int]]) -> list[str]:
    if not rows:
        return ["(No data collected)"]
    return [COMM_HEADER] + [f"{comm:<16} {count:>8}" for comm, count in rows]


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
    print(f"Attached kprobe to: {FUNCTION}", flush=True)
    until = f"for {args.duration} seconds" if args.duration else "until Ctrl+C"
    print(f"Counting calls {until}...", file=sys.stderr, flush=True)
    try:
        if args.duration:
            time.sleep(args.duration)
        else:
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    b.detach_kprobe(event=FUNCTION)  # stop counting before reading the map
    counts = {k.value: v.value for k, v in b["counts"].items()}
    names = {k.value: v.comm.decode(errors="replace") for k, v in b["names"].items()}
    by_comm = {k.comm.decode(errors="replace"): v.value for k, v in b["comm_counts"].items()}
    for line in format_table(top_rows(counts), names):
        print(line, flush=True)
    print(flush=True)
    for line in format_comm_table(top_rows(by_comm)):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
