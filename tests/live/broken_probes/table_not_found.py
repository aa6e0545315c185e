# expect: table-not-found
from bcc import BPF

PROGRAM = r"""
BPF_HASH(counts, u32, u64);
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    return 0;
}
"""

b = BPF(text=PROGRAM)
table = b["count"]  # HERE
