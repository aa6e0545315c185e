#!/usr/bin/env python3
"""syscalltrace with a count-only mode (challenge 08c), written another way:
-c is compiled into the program (cflags -DCOUNT_ONLY, so the count-only
program has no ring-buffer code at all), the hook is the raw tracepoint
sys_enter, the C is spaced differently and nothing is printed with
flush=True (the course runs probes with python -u).

A tracepoint on raw_syscalls:sys_enter sees every syscall of every process.
Filters (-p, -s) live in a BPF array map that user space fills before the
trace starts; the kernel side counts per syscall and per process in BPF_HASH
maps and streams one event per syscall through a ring buffer. With -c the
kernel side only counts: no event leaves the kernel, so none can be lost,
and the summary comes from the maps alone.
"""

from __future__ import annotations

import argparse
import ctypes as ct
import os
import signal
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bcc import BPF

EXAMPLES = """examples:
    ./probe.py                      # every syscall of every process, for 5 s
    ./probe.py -p 1234              # only process 1234
    ./probe.py -p nginx             # only processes whose comm is nginx
    ./probe.py -s read              # only read() calls
    ./probe.py -p 1234 -s write -d 0  # write() of pid 1234 until Ctrl+C
    ./probe.py -c -s read -d 10     # count every read() for 10 s, no lines
"""

# The filter is one array slot. The program attaches as soon as it loads, so
# it traces nothing until user space has written ("armed") the filter. Each
# filter has its own "enabled" flag: a syscall number of 0 is read() on
# x86_64, so 0 cannot also mean "no filter".
BPF_TEXT = r"""
#include <linux/sched.h>

struct filter_t {
    u32 armed;                  // 0 until user space wrote the filter
    u32 self_pid;               // the tracer itself: never traced
    u32 by_pid;
    u32 pid;
    u32 by_comm;
    char comm[TASK_COMM_LEN];
    u32 by_syscall;
    u32 syscall;
};

struct event_t {
    u64 ts_ns;                  // bpf_ktime_get_ns(): CLOCK_MONOTONIC
    u32 pid;                    // tgid
    u32 syscall;
    char comm[TASK_COMM_LEN];
};

struct proc_key_t {
    u32 pid;
    char comm[TASK_COMM_LEN];
};

BPF_ARRAY(filter, struct filter_t, 1);
BPF_HASH(syscall_counts, u32, u64, 1024);
BPF_HASH(process_counts, struct proc_key_t, u64, 10240);
BPF_ARRAY(dropped, u64, 1);
BPF_RINGBUF_OUTPUT(events, 256);

static __always_inline bool same_comm(const char *a, const char *b) {
#pragma unroll
    for (int i = 0; i < TASK_COMM_LEN; i++) {
        if (a[i] != b[i])
            return false;
        if (a[i] == 0)
            return true;
    }
    return true;
}

RAW_TRACEPOINT_PROBE(sys_enter)
{
    int zero = 0;
    struct filter_t *f = filter.lookup( &zero );
    if ( !f || !f->armed )
        return 0;

    u32 pid = bpf_get_current_pid_tgid( ) >> 32;
    u32 nr = ( u32 ) ctx->args[1];   // args[0] is the pt_regs, args[1] the number
    if (pid == f->self_pid)
        return 0;
    if (f->by_pid && pid != f->pid)
        return 0;
    if (f->by_syscall && nr != f->syscall)
        return 0;

    struct proc_key_t key = {.pid = pid};
    bpf_get_current_comm(&key.comm, sizeof(key.comm));
    if (f->by_comm && !same_comm(f->comm, key.comm))
        return 0;

    syscall_counts.increment(nr);
    process_counts.increment(key);
#ifdef COUNT_ONLY
    return 0;
#else
    struct event_t *e = events.ringbuf_reserve(sizeof(struct event_t));
    if (!e) {
        dropped.increment(zero);    // ring buffer full: count, never hide it
        return 0;
    }
    e->ts_ns = bpf_ktime_get_ns();
    e->pid = pid;
    e->syscall = nr;
    __builtin_memcpy(e->comm, key.comm, sizeof(e->comm));
    events.ringbuf_submit(e, 0);
    return 0;
#endif
}
"""

TOP_ROWS = 10
stopping = False  # set by request_stop on SIGINT/SIGTERM


class ProbeError(Exception):
    """A failure the user can fix; its message is printed as one sentence."""


@dataclass(frozen=True)
class Target:
    """What -p selected: a pid, or a process name (comm)."""

    pid: int | None = None
    comm: str | None = None


def parse_target(value: str) -> Target:
    """`-p 1234` selects a pid, `-p nginx` a comm (at most 15 bytes)."""
    if value.isdigit():
        return Target(pid=int(value))
    if not value or len(value.encode()) > 15:
        raise ProbeError(f"Process name {value!r} is not a comm: use 1 to 15 bytes.")
    return Target(comm=value)


def syscall_table() -> dict[int, str]:
    """Syscall numbers to names for this machine (bcc ships the x86_64
    table and reads others from `ausyscall --dump`, package auditd)."""
    try:
        from bcc.syscall import syscalls
    except Exception:  # bcc.syscall raises a bare Exception without ausyscall
        raise ProbeError(
            "No syscall table for this architecture: install auditd (ausyscall)."
        ) from None
    return {nr: name.decode() for nr, name in syscalls.items()}


def syscall_number(name: str, table: dict[int, str]) -> int:
    """`read` -> 0 on x86_64; a number is accepted as it is."""
    if name.isdigit():
        return int(name)
    for nr, known in table.items():
        if known == name:
            return nr
    raise ProbeError(f"Unknown syscall: {name} (see ausyscall --dump for the names).")


def syscall_label(nr: int, table: dict[int, str]) -> str:
    return table.get(nr, f"unknown_{nr}")


def format_event(wall: float, comm: str, pid: int, syscall: str) -> str:
    """`[HH:MM:SS.mmm] comm(pid) syscall`, local time."""
    stamp = datetime.fromtimestamp(wall).strftime("%H:%M:%S.%f")[:-3]
    return f"[{stamp}] {comm}({pid}) {syscall}"


def top_rows(counts: dict[str, int], limit: int = TOP_ROWS) -> list[tuple[str, int, float]]:
    """Rows (name, count, percent of all counts), largest first."""
    total = sum(counts.values())
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return [(name, n, 100.0 * n / total if total else 0.0) for name, n in rows]


def format_summary(
    captured: int,
    dropped: int,
    by_syscall: dict[str, int],
    by_process: dict[str, int],
    count_only: bool = False,
) -> list[str]:
    """The summary; with -c (`count_only`) its total is what the kernel
    counted, every syscall that passed the filters, as no line was printed."""
    if count_only:
        lines = [f"Total events counted: {sum(by_syscall.values())}"]
    else:
        lines = [f"Total events captured: {captured}"]
    if dropped:
        lines.append(f"Lost {dropped} events (ring buffer full)")
    for title, counts in (("Top syscalls:", by_syscall), ("Top processes:", by_process)):
        lines.append(title)
        rows = top_rows(counts)
        if not rows:
            lines.append("  (none)")
        for name, n, pct in rows:
            lines.append(f"  {name:<24} {n:>8} {pct:6.1f}%")
    return lines


def filter_fields(target: Target | None, syscall: int | None, self_pid: int) -> dict[str, Any]:
    """The fields of the filter slot for -p and -s (unset fields stay 0).
    Every filter has its own flag: read() is syscall 0 on x86_64."""
    fields: dict[str, Any] = {"armed": 1, "self_pid": self_pid}
    if target and target.pid is not None:
        fields.update(by_pid=1, pid=target.pid)
    if target and target.comm is not None:
        fields.update(by_comm=1, comm=target.comm.encode())
    if syscall is not None:
        fields.update(by_syscall=1, syscall=syscall)
    return fields


def set_filter(bpf: BPF, target: Target | None, syscall: int | None) -> None:
    """Write the filter slot; `armed` goes with it, so tracing starts now."""
    slot = bpf["filter"]
    f = slot.Leaf()
    for name, value in filter_fields(target, syscall, os.getpid()).items():
        setattr(f, name, value)
    slot[ct.c_int(0)] = f


def banner(target: Target | None, syscall: str | None, count_only: bool) -> str:
    """The line printed once tracing starts."""
    verb = "Counting" if count_only else "Tracing"
    return f"{verb} syscalls of {describe(target, syscall)}. Ctrl+C to end."


def describe(target: Target | None, syscall: str | None) -> str:
    parts = []
    if target and target.pid is not None:
        parts.append(f"pid {target.pid}")
    if target and target.comm is not None:
        parts.append(f"comm {target.comm}")
    if syscall:
        parts.append(f"syscall {syscall}")
    return ", ".join(parts) if parts else "all processes"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Trace syscalls system-wide, with counts per syscall and per process",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    parser.add_argument("-p", "--process", metavar="PID|NAME", help="only this pid or comm")
    parser.add_argument("-s", "--syscall", metavar="SYSCALL", help="only this syscall, e.g. read")
    parser.add_argument(
        "-c",
        "--count",
        action="store_true",
        help="count only: no line per syscall, the summary from the kernel's maps",
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
        parser.error("duration must be 0 or more seconds")
    return args


def trace(args: argparse.Namespace) -> int:
    table = syscall_table()
    target = parse_target(args.process) if args.process else None
    syscall = syscall_number(args.syscall, table) if args.syscall else None

    bpf = BPF(text=BPF_TEXT, cflags=["-DCOUNT_ONLY"] if args.count else [])
    set_filter(bpf, target, syscall)
    # bpf_ktime_get_ns() is CLOCK_MONOTONIC; this offset turns it into wall time.
    wall_offset = time.time() - time.monotonic()
    captured = 0

    def on_event(ctx: int, data: int, size: int) -> None:
        nonlocal captured
        e = bpf["events"].event(data)
        name = syscall_label(e.syscall, table)
        wall = wall_offset + e.ts_ns / 1e9
        print(format_event(wall, e.comm.decode(errors="replace"), e.pid, name))
        captured += 1

    if not args.count:  # with -c the kernel sends nothing to read
        bpf["events"].open_ring_buffer(on_event)
    print(banner(target, args.syscall, args.count))

    deadline = time.monotonic() + args.duration if args.duration else None
    while not stopping and (deadline is None or time.monotonic() < deadline):
        if args.count:
            time.sleep(0.1)
        else:
            bpf.ring_buffer_poll(timeout=100)
    if not args.count:
        bpf.ring_buffer_consume()  # what the kernel queued before we stopped

    by_syscall = {syscall_label(k.value, table): v.value for k, v in bpf["syscall_counts"].items()}
    by_process = {
        f"{k.comm.decode(errors='replace')}({k.pid})": v.value
        for k, v in bpf["process_counts"].items()
    }
    dropped = bpf["dropped"][ct.c_int(0)].value
    for line in format_summary(captured, dropped, by_syscall, by_process, args.count):
        print(line)
    return 0


def request_stop(signum: int, frame: object) -> None:
    """SIGINT (Ctrl+C, or the course runner) ends the loop and the summary follows.
    A flag, not KeyboardInterrupt: Ctrl+C may land inside bcc's ring buffer
    callback, where an exception is swallowed and the loop would go on."""
    global stopping
    stopping = True


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("This probe must run as root (try: sudo python3 probe.py ...).", file=sys.stderr)
        return 1
    # set up before compiling, so an early Ctrl+C is no traceback either
    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        return trace(args)
    except ProbeError as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
