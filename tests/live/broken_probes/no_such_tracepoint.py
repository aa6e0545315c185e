# expect: tracepoint-missing
from bcc import BPF

PROGRAM = r"""
TRACEPOINT_PROBE(syscalls, sys_enter_open_file) { // HERE
    return 0;
}
"""

BPF(text=PROGRAM)
