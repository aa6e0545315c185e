#!/usr/bin/env python3
# alternative solution: the pid in a BPF array set before attaching, per-CPU counts in a percpu slot
"""A one-process profiler written another way than the reference: the -p
filter is a BPF array slot that user space fills before attaching (no
recompile per pid), the per-CPU counts live in one BPF_PERCPU_ARRAY slot
(one value per CPU, read back as a list), and the report is laid out with
its own helpers. No flush=True: the runner starts probes unbuffered."""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import time

PROGRAM = r"""
#include <uapi/linux/bpf_perf_event.h>
struct who { u32 tgid; char comm[16]; };
BPF_ARRAY(only, u32, 1);
BPF_PERCPU_ARRAY(per_cpu, u64, 1);
BPF_HASH(per_process, struct who, u64);
int on_sample(struct bpf_perf_event_data *ctx)
{
    u32 tgid = bpf_get_current_pid_tgid() >> 32, zero = 0;
    u32 *want = only.lookup(&zero);
    if (tgid == 0 || (want && *want && *want != tgid))
        return 0;
    u64 *n = per_cpu.lookup(&zero);
    if (n) (*n)++;
    struct who w = {.tgid = tgid};
    bpf_get_current_comm(w.comm, sizeof(w.comm));
    per_process.increment(w);
    return 0;
}
"""
FLAGS = ["-fms-extensions", "-Wno-microsoft-anon-tag"]  # 7.x headers, as in lesson 07


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="CPU profiler, one process or all")
    p.add_argument("-f", "--frequency", type=int, default=99)
    p.add_argument("-d", "--duration", type=float, default=5)
    p.add_argument("-t", "--top", type=int, default=10)
    p.add_argument("-p", "--pid", type=int, default=0)
    a = p.parse_args(argv)
    if a.frequency <= 0 or a.duration < 0 or a.top <= 0 or a.pid < 0:
        p.error("frequency and top must be positive, duration and pid not negative")
    return a


def top_processes(counts: dict[tuple[int, str], int], limit: int) -> list[tuple[int, str, int]]:
    return sorted(((p, c, n) for (p, c), n in counts.items()), key=lambda r: (-r[2], r[0]))[:limit]


def bar(n: int, biggest: int, width: int = 30) -> str:
    return "#" * max(1, round(width * n / biggest)) if n > 0 and biggest > 0 else ""


def format_report(per_cpu: dict[int, int], rows: list[tuple[int, str, int]]) -> list[str]:
    out = [f"Collected {sum(per_cpu.values())} samples"]
    out += [f"CPU {cpu}: {per_cpu[cpu]} samples" for cpu in sorted(per_cpu)]
    out += ["Top processes by samples:", "    PID  COMM             SAMPLES"]
    most = rows[0][2] if rows else 0
    out += [f"{pid:>7}  {comm:<16} {n:>7}  {bar(n, most)}" for pid, comm, n in rows]
    return out + ([] if rows else ["(No samples collected)"])


def banner(frequency: int, cpus: int, pid: int = 0) -> str:
    target = f"process {pid} " if pid else ""
    return f"Sampling {target}at {frequency} Hz on {cpus} CPUs... Hit Ctrl-C to end."


def main() -> int:
    args = parse_args()
    if os.geteuid() != 0:
        print("Run this profiler as root.", file=sys.stderr)
        return 1
    done = []
    signal.signal(signal.SIGINT, lambda *_: done.append(1))
    from bcc import BPF, PerfSWConfig, PerfType
    from bcc.utils import get_online_cpus

    cpus = get_online_cpus()
    bpf = BPF(text=PROGRAM, cflags=FLAGS)
    bpf["only"][ctypes.c_int(0)] = ctypes.c_uint32(args.pid)
    bpf.attach_perf_event(
        ev_type=PerfType.SOFTWARE,
        ev_config=PerfSWConfig.CPU_CLOCK,
        fn_name="on_sample",
        sample_freq=args.frequency,
    )
    print(banner(args.frequency, len(cpus), args.pid))
    end = time.monotonic() + args.duration
    while not done and (not args.duration or time.monotonic() < end):
        time.sleep(0.1)
    bpf.detach_perf_event(ev_type=PerfType.SOFTWARE, ev_config=PerfSWConfig.CPU_CLOCK)
    values = bpf["per_cpu"][ctypes.c_int(0)]
    per_cpu = {cpu: int(values[cpu]) for cpu in cpus}
    counts = {
        (k.tgid, k.comm.decode(errors="replace")): v.value for k, v in bpf["per_process"].items()
    }
    for line in format_report(per_cpu, top_processes(counts, args.top)):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
