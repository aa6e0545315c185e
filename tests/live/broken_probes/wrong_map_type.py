# expect: wrong-map-type
from bcc import BPF

PROGRAM = r"""
BPF_HASH(events, u32, u64);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    return 0;
}
"""

b = BPF(text=PROGRAM)
b["events"].open_perf_buffer(print)  # HERE
