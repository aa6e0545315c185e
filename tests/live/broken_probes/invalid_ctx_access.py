# expect: verifier-ctx
from bcc import BPF

PROGRAM = r"""
RAW_TRACEPOINT_PROBE(sys_enter) {
    u32 odd = *(u32 *)((char *)ctx + 3); // HERE
    return odd & 1;
}
"""

BPF(text=PROGRAM)
