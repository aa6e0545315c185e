#!/usr/bin/env python3
"""Challenge 05c written another way: a ring buffer instead of a perf buffer,
the entry map keyed by the whole pid_tgid (unique per thread too), an LRU
hash, and the return event carrying both timestamps, subtracted in Python.
No flush=True: the runner starts probes unbuffered."""

import argparse
import os
import shutil
import signal
import sys
import time

from bcc import BPF

PROGRAM = r"""
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

struct event {
    u32 tgid;
    u32 pid;
    u64 entered;
    u64 returned;
    char comm[16];
    char text[64];
};

BPF_RINGBUF_OUTPUT(events, 16);
BPF_TABLE("lru_hash", u64, u64, entered_at, 4096);

int at_call(struct pt_regs *ctx)
{
    u64 who = bpf_get_current_pid_tgid();
    struct event *e = events.ringbuf_reserve(sizeof(struct event));
    if (!e) return 0;
    e->tgid = who >> 32;
    e->pid = who & 0xffffffff;
    e->entered = 0;
    e->returned = 0;
    bpf_get_current_comm(e->comm, sizeof(e->comm));
    bpf_probe_read_user_str(e->text, sizeof(e->text), (const void *)PT_REGS_PARM1(ctx));
    events.ringbuf_submit(e, 0);
    return 0;
}

int at_entry(struct pt_regs *ctx)
{
    u64 who = bpf_get_current_pid_tgid(), t = bpf_ktime_get_ns();
    entered_at.update(&who, &t);
    return 0;
}

int at_return(struct pt_regs *ctx)
{
    u64 who = bpf_get_current_pid_tgid();
    u64 *t = entered_at.lookup(&who);
    if (!t) return 0;
    struct event *e = events.ringbuf_reserve(sizeof(struct event));
    if (e) {
        e->tgid = who >> 32;
        e->pid = who & 0xffffffff;
        e->entered = *t;
        e->returned = bpf_ktime_get_ns();
        e->text[0] = 0;
        bpf_get_current_comm(e->comm, sizeof(e->comm));
        events.ringbuf_submit(e, 0);
    }
    entered_at.delete(&who);
    return 0;
}
"""

done = False


class ProbeError(Exception):
    pass


def parse_args(argv=None):
    p = argparse.ArgumentParser(description="uprobe call tracer")
    p.add_argument("binary")
    p.add_argument("function")
    p.add_argument("-d", "--duration", type=float, default=5)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--arg", action="store_true")
    mode.add_argument("--latency", action="store_true")
    a = p.parse_args(argv)
    if a.duration < 0:
        p.error("duration must not be negative")
    return a


def resolve_binary(name):
    if "/" in name:
        return name if os.path.isfile(name) else None
    lib = BPF.find_library(name.encode())
    return lib.decode() if lib else shutil.which(name)


def format_call(pid, comm, arg=None, latency_ns=None):
    parts = [f"uprobe triggered! pid={pid}", f"comm={comm}"]
    if arg is not None:
        parts.append(f'arg="{arg}"')
    if latency_ns is not None:
        parts.append(f"latency_us={latency_ns // 1000:d}")
    return " ".join(parts)


def banner(function, path, latency):
    what = "uprobe and uretprobe" if latency else "uprobe"
    return f"Attached {what} to {function} in {path}. Ctrl+C to stop."


def on_signal(signum, frame):
    global done
    done = True


def main(argv=None):
    args = parse_args(argv)
    if os.geteuid() != 0:
        print("Run this probe as root.", file=sys.stderr)
        return 1
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    path = resolve_binary(args.binary)
    if path is None:
        print(f"Binary does not exist: {args.binary}", file=sys.stderr)
        return 1
    b = BPF(text=PROGRAM)
    try:
        if args.latency:
            b.attach_uprobe(name=path, sym=args.function, fn_name="at_entry")
            b.attach_uretprobe(name=path, sym=args.function, fn_name="at_return")
        else:
            b.attach_uprobe(name=path, sym=args.function, fn_name="at_call")
    except Exception:
        print(f"No function {args.function} in {path}.", file=sys.stderr)
        return 1
    count = 0

    def handle(ctx, data, size):
        nonlocal count
        e = b["events"].event(data)
        comm = e.comm.decode("utf-8", "replace")
        if args.latency:
            print(format_call(e.tgid, comm, latency_ns=e.returned - e.entered))
        else:
            print(
                format_call(e.tgid, comm, e.text.decode("utf-8", "replace") if args.arg else None)
            )
        count += 1

    b["events"].open_ring_buffer(handle)
    print(banner(args.function, path, args.latency))
    end = time.monotonic() + args.duration
    while not done and (args.duration == 0 or time.monotonic() < end):
        b.ring_buffer_poll(50)
    b.ring_buffer_consume()
    print(f"Traced {count} calls of {args.function}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
