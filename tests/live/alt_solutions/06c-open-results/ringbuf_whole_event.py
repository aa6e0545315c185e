#!/usr/bin/env python3
"""06c written another way: the entry copies the file name into a per-thread
event kept in a hash (not the name's address), the exit fills in the result
and sends the event through a ring buffer; other spacing, no flush=True."""

import argparse
import ctypes
import os
import signal
import sys
import time

TRACEPOINT = "syscalls:sys_exit_openat"

BPF_TEXT = r"""
struct call_t { u32 tgid; s32 result; char task[16]; char path[256]; };

BPF_HASH(calls, u32, struct call_t, 10240);
BPF_RINGBUF_OUTPUT(results, 64);

TRACEPOINT_PROBE(syscalls, sys_enter_openat)
{
    u64 pid_tgid = bpf_get_current_pid_tgid();
    u32 thread = (u32) pid_tgid;
    struct call_t call = {};
    if ((pid_tgid >> 32) == OWN_TGID) { return 0; }
    call.tgid = pid_tgid >> 32;
    bpf_get_current_comm(call.task, sizeof(call.task));
    bpf_probe_read_user_str(call.path, sizeof(call.path), args->filename);
    calls.update(&thread, &call);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_exit_openat)
{
    u32 thread = (u32) bpf_get_current_pid_tgid();
    struct call_t *call = calls.lookup(&thread);
    if (!call) { return 0; }
    call->result = (s32) args->ret;
    results.ringbuf_output(call, sizeof(*call), 0);
    calls.delete(&thread);
    return 0;
}
"""


class Call(ctypes.Structure):
    _fields_ = [
        ("tgid", ctypes.c_uint32),
        ("result", ctypes.c_int32),
        ("task", ctypes.c_char * 16),
        ("path", ctypes.c_char * 256),
    ]


def format_result(pid, comm, filename, ret):
    return f"[{pid}] {comm}: openat({filename}) = {ret}"


def result_line(ev):
    return format_result(
        ev.tgid, ev.task.decode("utf-8", "replace"), ev.path.decode("utf-8", "replace"), ev.result
    )


def parse_args(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("-d", "--duration", type=float, default=5)
    args = parser.parse_args(argv)
    if args.duration < 0:
        parser.error("the duration cannot be negative")
    return args


def main():
    args = parse_args()
    done = []
    signal.signal(signal.SIGINT, lambda *_: done.append(1))
    from bcc import BPF

    bpf = BPF(text=BPF_TEXT, cflags=[f"-DOWN_TGID={os.getpid()}"])
    count = [0]

    def handle(ctx, data, size):
        count[0] += 1
        print(result_line(ctypes.cast(data, ctypes.POINTER(Call)).contents))

    bpf["results"].open_ring_buffer(handle)
    print("Attached to tracepoint " + TRACEPOINT)
    end = time.monotonic() + args.duration
    while not done and (args.duration == 0 or time.monotonic() < end):
        bpf.ring_buffer_poll(50)
    bpf.ring_buffer_consume()
    print(f"Detached from {TRACEPOINT} after {count[0]} events.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
