# expect: verifier-invalid-mem
from bcc import BPF

PROGRAM = r"""
TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    char first = *(char *)args->filename; // HERE
    return first == '/';
}
"""

BPF(text=PROGRAM)
