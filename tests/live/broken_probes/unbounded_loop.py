# expect: verifier-loop
from bcc import BPF

PROGRAM = r"""
int probe(void *ctx) {
    volatile u32 i = 0;
    while (i < 10) { // HERE
        i = i * 0;
    }
    return 0;
}
"""

BPF(text=PROGRAM).load_func("probe", BPF.TRACEPOINT)
