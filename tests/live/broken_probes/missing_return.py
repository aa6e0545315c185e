# expect: verifier-r0
from bcc import BPF

PROGRAM = r"""
int probe(void *ctx) {
    // TODO: count this event
} // HERE
"""

BPF(text=PROGRAM).load_func("probe", BPF.TRACEPOINT)
