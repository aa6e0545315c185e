#!/usr/bin/env python3
# must-fail: workload-rate
# why: compares the thread id (the lower 32 bits) with PID: the burners are not the main thread
"""Sample what runs on every CPU at a fixed frequency.

A software perf event (the CPU clock) fires F times per second on each
online CPU; each time, a small BPF program counts the sample for the CPU
and for the process that was running. At the end the counts are read from
the maps and printed: the total, one line per CPU, and the top processes.
With -p PID only that process's samples are counted: the program still runs
at every sample, and returns before counting anything of another process.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

BPF_TEXT = r"""
#include <uapi/linux/bpf_perf_event.h>

struct proc_key_t {
    u32 pid;            // tgid: the process, not the thread
    char comm[16];
};

BPF_HASH(by_process, struct proc_key_t, u64);
BPF_ARRAY(by_cpu, u64, MAX_CPUS);

int on_sample(struct bpf_perf_event_data *ctx) {
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    if (pid == 0)
        return 0;       // the idle task: nothing ran on this CPU
    if (TARGET_PID != 0 && (u32)bpf_get_current_pid_tgid() != TARGET_PID)
        return 0;       // -p: another process's sample, counted nowhere
    u32 cpu = bpf_get_smp_processor_id();
    u64 *per_cpu = by_cpu.lookup(&cpu);
    if (per_cpu)
        __sync_fetch_and_add(per_cpu, 1);
    struct proc_key_t key = {.pid = pid};
    bpf_get_current_comm(&key.comm, sizeof(key.comm));
    // lookup_or_try_init, then an atomic add: the same process may be sampled
    // on two CPUs at once, and increment() adds without a lock
    u64 zero = 0;
    u64 *count = by_process.lookup_or_try_init(&key, &zero);
    if (count)
        __sync_fetch_and_add(count, 1);
    return 0;
}
"""


# Kernel headers from 6.19 on (Debian's 7.2 among them) declare tagged
# anonymous members (struct ns_common's `struct ns_tree;`), a Microsoft C
# extension clang reads only with -fms-extensions; older headers don't care.
HEADER_FLAGS = ["-fms-extensions", "-Wno-microsoft-anon-tag"]

EXAMPLES = """examples:
    ./probe.py              # sample at 99 Hz for 5 seconds
    ./probe.py -f 49 -d 10  # sample at 49 Hz for 10 seconds
    ./probe.py -d 0         # until Ctrl+C
    ./probe.py -t 5         # show only the top 5 processes
    ./probe.py -p 1234      # only process 1234 (its threads on every CPU)
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Sample running processes on every CPU with a software CPU clock",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "-f",
        "--frequency",
        type=int,
        default=99,
        help="samples per second on each CPU (default 99)",
    )
    parser.add_argument(
        "-d",
        "--duration",
        type=float,
        default=5,
        help="seconds to sample (default 5, 0 = until Ctrl+C)",
    )
    parser.add_argument("-t", "--top", type=int, default=10, help="processes to show (default 10)")
    parser.add_argument("-p", "--pid", type=int, default=0, help="sample only this process")
    args = parser.parse_args(argv)
    if args.frequency <= 0:
        parser.error("--frequency must be a positive number of samples per second")
    if args.duration < 0:
        parser.error("--duration must be 0 or more seconds")
    if args.top <= 0:
        parser.error("--top must be at least 1")
    if args.pid < 0:
        parser.error("--pid must be a process id")
    return args


def top_processes(counts: dict[tuple[int, str], int], limit: int) -> list[tuple[int, str, int]]:
    """(pid, comm, samples) rows, most samples first, ties by pid."""
    rows = [(pid, comm, n) for (pid, comm), n in counts.items()]
    rows.sort(key=lambda row: (-row[2], row[0]))
    return rows[:limit]


def bar(n: int, biggest: int, width: int = 30) -> str:
    """A bar proportional to n, at least one mark for any sample."""
    if n <= 0 or biggest <= 0:
        return ""
    return "#" * max(1, round(width * n / biggest))


def format_report(per_cpu: dict[int, int], processes: list[tuple[int, str, int]]) -> list[str]:
    """The summary: total, one line per CPU, then the process table."""
    total = sum(per_cpu.values())
    lines = [f"Collected {total} samples"]
    lines += [f"CPU {cpu}: {n} samples" for cpu, n in sorted(per_cpu.items())]
    lines.append("Top processes by samples:")
    lines.append(f"{'PID':>7}  {'COMM':<16} {'SAMPLES':>7}")
    biggest = processes[0][2] if processes else 0
    for pid, comm, n in processes:
        lines.append(f"{pid:>7}  {comm:<16} {n:>7}  {bar(n, biggest)}")
    if not processes:
        lines.append("(No samples collected)")
    return lines


def banner(frequency: int, cpus: int, pid: int = 0) -> str:
    """What is sampled, said before the first sample; pid 0 is every process."""
    what = f"process {pid} at" if pid else "at"
    return f"Sampling {what} {frequency} Hz on {cpus} CPUs... Hit Ctrl-C to end."


def need_root() -> str | None:
    """One sentence when this process cannot load tracing programs, else None."""
    if os.geteuid() != 0:
        return "This probe loads BPF programs and must run as root: run it with sudo."
    try:
        import bcc  # noqa: F401
    except ImportError:
        return "The bcc Python module is missing: install python3-bpfcc (bcc is not on PyPI)."
    return None


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    problem = need_root()
    if problem:
        print(problem, file=sys.stderr)
        return 1

    # SIGINT (Ctrl+C, or the course runner) ends the loop and the summary
    # follows; set up first so an early Ctrl+C is no traceback either.
    stop = False

    def request_stop(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    from bcc import BPF, PerfSWConfig, PerfType  # late: --help needs no bcc
    from bcc.utils import get_online_cpus

    cpus = get_online_cpus()
    try:
        flags = [f"-DMAX_CPUS={max(cpus) + 1}", f"-DTARGET_PID={args.pid}", *HEADER_FLAGS]
        bpf = BPF(text=BPF_TEXT, cflags=flags)
        # cpu=-1 (the default) opens one perf event on each online CPU.
        bpf.attach_perf_event(
            ev_type=PerfType.SOFTWARE,
            ev_config=PerfSWConfig.CPU_CLOCK,
            fn_name="on_sample",
            sample_freq=args.frequency,
        )
    except Exception as exc:  # bcc raises plain Exception
        print(f"Could not attach the sampling program: {exc}", file=sys.stderr)
        return 1
    print(banner(args.frequency, len(cpus), args.pid), flush=True)

    deadline = time.monotonic() + args.duration if args.duration else None
    while not stop and (deadline is None or time.monotonic() < deadline):
        time.sleep(0.1)

    # Stop sampling first so the total and the per-CPU lines count the same samples.
    bpf.detach_perf_event(ev_type=PerfType.SOFTWARE, ev_config=PerfSWConfig.CPU_CLOCK)
    per_cpu = {cpu: bpf["by_cpu"][bpf["by_cpu"].Key(cpu)].value for cpu in cpus}
    counts = {
        (k.pid, k.comm.decode(errors="replace")): v.value for k, v in bpf["by_process"].items()
    }
    for line in format_report(per_cpu, top_processes(counts, args.top)):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
