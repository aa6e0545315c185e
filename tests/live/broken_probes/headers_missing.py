# expect: headers-missing
# setup: no-headers
from bcc import BPF

PROGRAM = r"""
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    return 0;
}
"""

BPF(text=PROGRAM)
