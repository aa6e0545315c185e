# expect: stack-limit
from bcc import BPF

PROGRAM = r"""
TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    char path[600]; // HERE
    bpf_probe_read_user_str(path, sizeof(path), args->filename);
    bpf_trace_printk("%s\n", path);
    return 0;
}
"""

BPF(text=PROGRAM)
