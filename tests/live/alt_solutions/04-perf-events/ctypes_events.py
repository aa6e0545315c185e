#!/usr/bin/env python3
# alternative solution: the pid filter written into the C text, events decoded with ctypes
# instead of table.event(), the stop flag a threading.Event, a bigger default buffer
"""Stream do_sys_openat2 events through a perf buffer and account for every one."""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
import threading
import time

PROGRAM = r"""
#include <uapi/linux/ptrace.h>

struct open_event_t {
    u32 pid;
    int dfd;
    char comm[16];
};
BPF_PERF_OUTPUT(events);

int on_open(struct pt_regs *ctx, int dfd) {
    u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (WANTED != 0 && tgid != WANTED)
        return 0;
    struct open_event_t ev = {.pid = tgid, .dfd = dfd};
    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));
    events.perf_submit(ctx, &ev, sizeof(ev));
    return 0;
}
"""


class OpenEvent(ctypes.Structure):
    _fields_ = [("pid", ctypes.c_uint32), ("dfd", ctypes.c_int), ("comm", ctypes.c_char * 16)]


def power_of_two(text: str) -> int:
    value = int(text)
    if value < 1 or value & (value - 1):
        raise argparse.ArgumentTypeError(f"{value} is not a power of two")
    return value


def options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Stream do_sys_openat2() events, count losses.")
    parser.add_argument("-d", "--duration", type=int, default=5, help="seconds, 0 = until Ctrl+C")
    parser.add_argument("-p", "--pid", type=int, default=0, help="only this process")
    parser.add_argument("-c", "--pages", type=power_of_two, default=128, help="pages per CPU")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print events")
    return parser.parse_args(argv)


class Counter:
    def __init__(self, quiet: bool) -> None:
        self.quiet, self.received, self.lost = quiet, 0, 0

    def event(self, cpu: int, data: int, size: int) -> None:
        ev = ctypes.cast(data, ctypes.POINTER(OpenEvent)).contents
        self.received += 1
        if not self.quiet:
            print(f"[{ev.pid}] {ev.comm.decode(errors='replace')}: dfd={ev.dfd}", flush=True)

    def dropped(self, count: int) -> None:
        self.lost += count

    def summary(self, seconds: float) -> list[str]:
        lines = [f"Received {self.received} events in {seconds:.2f} seconds"]
        return lines + ([f"Lost {self.lost} events"] if self.lost else [])


def main() -> int:
    opts = options()
    if os.geteuid() != 0:
        print("Run as root: this loads a BPF program.", file=sys.stderr)
        return 1
    from bcc import BPF

    bpf = BPF(text=PROGRAM.replace("WANTED", str(opts.pid)))
    bpf.attach_kprobe(event="do_sys_openat2", fn_name="on_open")
    counter = Counter(opts.quiet)
    bpf["events"].open_perf_buffer(counter.event, page_cnt=opts.pages, lost_cb=counter.dropped)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
    print(f"Attached kprobe to: do_sys_openat2 ({opts.pages} pages per CPU)", flush=True)
    start = time.monotonic()
    while not stop.is_set() and not (opts.duration and time.monotonic() - start >= opts.duration):
        bpf.perf_buffer_poll(timeout=50)
    bpf.detach_kprobe(event="do_sys_openat2")
    bpf.perf_buffer_poll(timeout=0)
    print("\n".join(counter.summary(time.monotonic() - start)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
