# must-fail: received-equals-printed
# why: counts every call in a BPF array before the -p filter: other processes' opens are counted
"""Stream do_sys_openat2 events through a perf buffer and account for losses.

Every call becomes one event in a per-CPU ring shared with user space. If
user space reads too slowly, the ring fills up and the kernel drops events;
bcc tells us how many through the lost callback. The summary at the end
says how many events arrived and how many were lost, so nothing vanishes
silently.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

BPF_TEXT = r"""
#include <uapi/linux/ptrace.h>

struct open_event_t {
    u32 pid;            // tgid
    int dfd;            // directory fd argument (AT_FDCWD is -100)
    char comm[16];
};

BPF_PERF_OUTPUT(events);
BPF_ARRAY(calls, u64, 1);

int trace_open(struct pt_regs *ctx, int dfd) {
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    calls.increment(0);  // counted before the filter below: every process's opens
    if (FILTER_PID && pid != FILTER_PID)
        return 0;
    struct open_event_t ev = {};
    ev.pid = pid;
    ev.dfd = dfd;
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    events.perf_submit(ctx, &ev, sizeof(ev));
    return 0;
}
"""

FUNCTION = "do_sys_openat2"

EXAMPLES = """examples:
    ./probe.py                  # stream every do_sys_openat2() call for 5 seconds
    ./probe.py -p 1234 -d 0     # only process 1234, until Ctrl+C
    ./probe.py -q -c 2          # count only, with a small 2-page buffer per CPU
"""


class Tally:
    """What arrived and what the kernel had to drop."""

    def __init__(self) -> None:
        self.received = 0
        self.lost = 0

    def on_event(self) -> None:
        self.received += 1

    def on_lost(self, count: int) -> None:
        self.lost += count


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=f"Stream {FUNCTION}() events through a perf buffer and count losses.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=EXAMPLES,
    )
    parser.add_argument(
        "-d",
        "--duration",
        type=int,
        default=5,
        help="seconds to trace; 0 traces until Ctrl+C (default: 5)",
    )
    parser.add_argument("-p", "--pid", type=int, default=0, help="trace only this process id")
    parser.add_argument(
        "-c",
        "--pages",
        type=int,
        default=64,
        help="perf buffer size per CPU in pages, a power of two (default: 64)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="count events without printing each one"
    )
    args = parser.parse_args(argv)
    if args.duration < 0:
        parser.error("the duration must be 0 (until Ctrl+C) or a positive number of seconds")
    if args.pages < 1 or args.pages & (args.pages - 1):
        parser.error(f"--pages must be a power of two (1, 2, 4, 8 ...), not {args.pages}")
    return args


def format_event(pid: int, comm: bytes, dfd: int) -> str:
    name = comm.split(b"\0", 1)[0].decode(errors="replace")
    return f"[{pid}] {name}: dfd={dfd}"


def summary_lines(tally: Tally, seconds: float) -> list[str]:
    lines = [f"Received {tally.received} events in {seconds:.1f} seconds"]
    if tally.lost:
        lines.append(f"Lost {tally.lost} events")
    return lines


def fail(message: str) -> None:
    print(message, file=sys.stderr, flush=True)
    sys.exit(1)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if os.geteuid() != 0:
        fail("This probe loads a BPF program and must run as root: try sudo.")
    from bcc import BPF  # imported late so --help works without bcc

    b = BPF(text=BPF_TEXT, cflags=[f"-DFILTER_PID={args.pid}"])
    try:
        b.attach_kprobe(event=FUNCTION, fn_name="trace_open")
    except Exception:
        fail(f"Cannot attach a kprobe to {FUNCTION}: this kernel does not have it traceable.")

    tally = Tally()

    def handle_event(cpu: int, data: int, size: int) -> None:
        if not args.quiet:
            ev = b["events"].event(data)
            print(format_event(ev.pid, ev.comm, ev.dfd), flush=True)

    def handle_lost(count: int) -> None:
        tally.on_lost(count)

    b["events"].open_perf_buffer(handle_event, page_cnt=args.pages, lost_cb=handle_lost)
    print(f"Attached kprobe to: {FUNCTION} ({args.pages} pages per CPU)", flush=True)
    # Ctrl+C sets a flag instead of raising: an exception in the middle of a
    # callback could count an event whose line was never printed.
    stopping: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: stopping.append(signum))
    started = time.monotonic()
    deadline = started + args.duration if args.duration else None
    while not stopping and (deadline is None or time.monotonic() < deadline):
        b.perf_buffer_poll(timeout=100)
    b.detach_kprobe(event=FUNCTION)
    b.perf_buffer_poll(timeout=0)  # what was already in the buffer still counts
    tally.received = sum(v.value for v in b["calls"].values())
    for line in summary_lines(tally, time.monotonic() - started):
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
