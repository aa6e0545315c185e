# expect: ctx-past-record
from bcc import BPF

PROGRAM = r"""
TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    u64 beyond = *(u64 *)((char *)args + 512);
    return beyond & 1;
}
"""

BPF(text=PROGRAM)
