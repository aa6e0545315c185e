# expect: not-root
# run-as: nobody
from bcc import BPF

PROGRAM = r"""
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    return 0;
}
"""

BPF(text=PROGRAM)
