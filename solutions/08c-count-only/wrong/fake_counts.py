#!/usr/bin/env python3
# must-fail: kernel-hook
# why: loads no BPF program: strace (ptrace) counts the reads, writes and exit_group
"""syscalltrace with a count-only mode (challenge 08c).

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
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
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
    u32 count_only;             // -c: count in the maps, send no event
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

TRACEPOINT_PROBE(raw_syscalls, sys_enter) {
    int zero = 0;
    struct filter_t *f = filter.lookup(&zero);
    if (!f || !f->armed)
        return 0;

    u32 pid = bpf_get_current_pid_tgid() >> 32;
    u32 nr = args->id;
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
    if (f->count_only)
        return 0;

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
}
"""

TOP_ROWS = 10


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


def filter_fields(
    target: Target | None, syscall: int | None, self_pid: int, count_only: bool = False
) -> dict[str, Any]:
    """The fields of the filter slot for -p, -s and -c (unset fields stay 0).
    Every filter has its own flag: read() is syscall 0 on x86_64."""
    fields: dict[str, Any] = {"armed": 1, "self_pid": self_pid}
    if count_only:
        fields["count_only"] = 1
    if target and target.pid is not None:
        fields.update(by_pid=1, pid=target.pid)
    if target and target.comm is not None:
        fields.update(by_comm=1, comm=target.comm.encode())
    if syscall is not None:
        fields.update(by_syscall=1, syscall=syscall)
    return fields


def set_filter(bpf: BPF, target: Target | None, syscall: int | None, count_only: bool) -> None:
    """Write the filter slot; `armed` goes with it, so tracing starts now."""
    slot = bpf["filter"]
    f = slot.Leaf()
    for name, value in filter_fields(target, syscall, os.getpid(), count_only).items():
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


def _targets(target: Target | None) -> list[int]:
    """The pids -p selects, from /proc."""
    if target and target.pid is not None:
        return [target.pid] if os.path.isdir(f"/proc/{target.pid}") else []
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                comm = Path(f"/proc/{entry}/comm").read_text().strip()
            except OSError:
                continue
            if target is None or comm == target.comm:
                found.append(int(entry))
    return found


def trace(args: argparse.Namespace) -> int:
    table = syscall_table()
    target = parse_target(args.process) if args.process else None
    syscall = syscall_number(args.syscall, table) if args.syscall else None
    # No BPF at all: strace (ptrace) stops the selected processes at each
    # read, write and exit_group, which is enough to fake these counts.
    wanted = ["read", "write", "exit_group"]
    if syscall is not None:
        wanted = [n for n in wanted if n == syscall_label(syscall, table)]
    pids = [p for p in _targets(target) if p != os.getpid()]
    if not pids:
        raise ProbeError("Nothing to trace: no such process.")
    comms = {}
    argv = ["strace", "-f", "-qq", "-e", f"trace={','.join(wanted)}"]
    for pid in pids:
        comms[pid] = Path(f"/proc/{pid}/comm").read_text().strip()
        for task in os.listdir(f"/proc/{pid}/task"):
            comms[int(task)] = comms[pid]
        argv += ["-p", str(pid)]
    tgid = {int(t): pid for pid in pids for t in os.listdir(f"/proc/{pid}/task")}
    strace = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True)
    time.sleep(0.5)  # let it attach
    print(banner(target, args.syscall, args.count), flush=True)
    by_syscall: dict[str, int] = {}
    by_process: dict[str, int] = {}
    captured = 0
    call = re.compile(r"^(?:\[pid\s+)?(\d+)\]?\s+(\w+)\(")
    try:
        for line in strace.stderr:
            m = call.match(line)
            if not m or m.group(2) not in wanted:
                continue
            tid, name = int(m.group(1)), m.group(2)
            pid = tgid.get(tid, tid)
            comm = comms.get(tid, "?")
            if not args.count:
                print(format_event(time.time(), comm, pid, name), flush=True)
                captured += 1
            by_syscall[name] = by_syscall.get(name, 0) + 1
            by_process[f"{comm}({pid})"] = by_process.get(f"{comm}({pid})", 0) + 1
    except KeyboardInterrupt:
        pass
    strace.terminate()
    for line in format_summary(captured, 0, by_syscall, by_process, args.count):
        print(line, flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return trace(args)
    except ProbeError as exc:
        print(exc, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
