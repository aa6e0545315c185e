# expect: tracepoint-field
from bcc import BPF

PROGRAM = r"""
TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    int dfd = args->dirfd; // HERE
    return dfd & 1;
}
"""

BPF(text=PROGRAM)
