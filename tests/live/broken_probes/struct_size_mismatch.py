# expect: struct-size-mismatch
"""The C struct is 16 bytes; the ctypes mirror below adds a comm field."""

import ctypes as ct
import os

from bcc import BPF

PROGRAM = r"""
struct event { u32 pid; u32 tid; u64 ts; };
BPF_PERF_OUTPUT(events);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    u64 id = bpf_get_current_pid_tgid();
    if ((id >> 32) != TGID) return 0;
    struct event e = {.pid = id >> 32, .tid = (u32)id, .ts = bpf_ktime_get_ns()};
    events.perf_submit(args, &e, sizeof(e));
    return 0;
}
"""


class Event(ct.Structure):
    _fields_ = [
        ("pid", ct.c_uint32),
        ("tid", ct.c_uint32),
        ("ts", ct.c_uint64),
        ("comm", ct.c_char * 16),
    ]


def on_event(cpu, data, size):
    event = Event.from_buffer_copy(ct.string_at(data, size))  # HERE
    print(event.pid)


b = BPF(text=PROGRAM.replace("TGID", str(os.getpid())))
b["events"].open_perf_buffer(on_event)
os.getpid()  # one event
b.perf_buffer_poll(timeout=1000)
