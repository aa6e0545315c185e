#!/usr/bin/env python3
# alternative solution: LRU hashes, a value struct, atomic adds, other spacing, no flush
"""Count opens per process and per command name, written another way than the
reference: LRU hash maps; the per-process value is a struct holding the count
and the last comm (one map instead of two); counts added with
lookup_or_try_init and an atomic add; the comm key is a typedef'd struct;
tables laid out with other spacing."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

PROGRAM = r"""
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>
typedef struct { char name[TASK_COMM_LEN]; } comm_key_t;
struct per_pid { u64 n; char last[TASK_COMM_LEN]; };
BPF_TABLE("lru_hash", u32, struct per_pid, by_pid, 10240);
BPF_TABLE("lru_hash", comm_key_t, u64, by_comm, 10240);
int on_open(struct pt_regs *ctx)
{
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    comm_key_t key = {};
    bpf_get_current_comm(key.name, sizeof(key.name));
    struct per_pid zero = {};
    struct per_pid *p = by_pid.lookup_or_try_init(&tgid, &zero);
    if (p) {
        __sync_fetch_and_add(&p->n, 1);
        __builtin_memcpy(p->last, key.name, sizeof(p->last));
    }
    u64 nothing = 0;
    u64 *c = by_comm.lookup_or_try_init(&key, &nothing);
    if (c) __sync_fetch_and_add(c, 1);
    return 0;
}
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Opens per process and per command.")
    p.add_argument("-d", "--duration", type=int, default=5, help="seconds, 0 = until Ctrl+C")
    a = p.parse_args(argv)
    if a.duration < 0:
        p.error("the duration cannot be negative")
    return a


def top_rows(counts: dict, limit: int = 20) -> list[tuple]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]


def format_table(rows: list[tuple[int, int]], names: dict[int, str]) -> list[str]:
    if not rows:
        return ["(No data collected)"]
    return ["PID      COMM              OPENS"] + [
        f"{pid:<8} {names.get(pid, '?'):<16} {n:>6}" for pid, n in rows
    ]


def format_comm_table(rows: list[tuple[str, int]]) -> list[str]:
    if not rows:
        return ["(No data collected)"]
    return ["COMM              OPENS"] + [f"{comm:<16} {n:>6}" for comm, n in rows]


def main() -> int:
    args = parse_args()
    if os.geteuid():
        sys.exit("This probe needs root (sudo).")
    from bcc import BPF

    bpf = BPF(text=PROGRAM)
    bpf.attach_kprobe(event="do_sys_openat2", fn_name="on_open")
    print("Attached kprobe to: do_sys_openat2")
    stop = []
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    end = time.monotonic() + args.duration if args.duration else None
    while not stop and (end is None or time.monotonic() < end):
        time.sleep(0.1)
    bpf.detach_kprobe(event="do_sys_openat2")
    per_pid = {k.value: (v.n, v.last.decode(errors="replace")) for k, v in bpf["by_pid"].items()}
    names = {pid: last for pid, (_, last) in per_pid.items()}
    counts = {pid: n for pid, (n, _) in per_pid.items()}
    by_comm = {k.name.decode(errors="replace"): v.value for k, v in bpf["by_comm"].items()}
    for line in format_table(top_rows(counts), names):
        print(line)
    print()
    for line in format_comm_table(top_rows(by_comm)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
