# expect: clang-syntax
from bcc import BPF

PROGRAM = r"""
int probe(void *ctx) {
    u64 id = bpf_get_current_pid_tgid() // HERE
    return id & 1;
}
"""

BPF(text=PROGRAM).load_func("probe", BPF.TRACEPOINT)
