# expect: clang-undeclared
from bcc import BPF

PROGRAM = r"""
TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    bpf_trace_printk("pid %d\n", pidd); // HERE
    return 0;
}
"""

BPF(text=PROGRAM)
