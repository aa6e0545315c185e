#!/usr/bin/env python3
# alternative solution: an LRU hash, lookup_or_try_init and an atomic add instead of
# increment(), the comm kept in the same map value, other table spacing
"""Count do_sys_openat2 calls per process in one BPF map, written another way."""

from __future__ import annotations

import argparse
import os
import signal
import sys

PROGRAM = r"""
struct stat_t {
    u64 opens;
    char comm[16];
};
BPF_TABLE("lru_hash", u32, struct stat_t, stats, 4096);

int on_open(struct pt_regs *ctx) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct stat_t zero = {};
    struct stat_t *stat = stats.lookup_or_try_init(&tgid, &zero);
    if (stat == NULL)
        return 0;
    __sync_fetch_and_add(&stat->opens, 1);
    bpf_get_current_comm(&stat->comm, sizeof(stat->comm));
    return 0;
}
"""


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Top 20 processes by do_sys_openat2() calls.")
    parser.add_argument("-d", "--duration", type=int, default=5, help="seconds (0: until Ctrl+C)")
    args = parser.parse_args(argv)
    if args.duration < 0:
        parser.error("-d must be 0 or more")
    return args


def table(stats: list[tuple[int, int, str]]) -> list[str]:
    """stats: (pid, opens, comm). The top 20 by opens as printable lines."""
    if not stats:
        return ["(No data collected)"]
    top = sorted(stats, key=lambda row: (row[1], -row[0]), reverse=True)[:20]
    return ["PID\tCOMM\tOPENS"] + [f"{pid}\t{comm}\t{opens}" for pid, opens, comm in top]


def main() -> int:
    args = parse()
    if os.geteuid() != 0:
        print("Needs root (sudo): it loads a BPF program.", file=sys.stderr)
        return 1
    from bcc import BPF

    bpf = BPF(text=PROGRAM)
    bpf.attach_kprobe(event="do_sys_openat2", fn_name="on_open")
    # Ctrl+C is waited for, not raised: blocked here, it ends sigtimedwait.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    print("Attached kprobe to: do_sys_openat2", flush=True)
    if args.duration:
        signal.sigtimedwait({signal.SIGINT}, args.duration)
    else:
        signal.sigwait({signal.SIGINT})
    bpf.detach_kprobe(event="do_sys_openat2")
    rows = [(k.value, v.opens, v.comm.decode(errors="replace")) for k, v in bpf["stats"].items()]
    print("\n".join(table(rows)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
