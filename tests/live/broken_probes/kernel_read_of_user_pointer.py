# expect: read-user-with-kernel
"""Runs without any error: the filenames simply come out empty or wrong."""

import os
import time

from bcc import BPF

PROGRAM = r"""
TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    char name[64] = {};
    bpf_probe_read_kernel_str(name, sizeof(name), args->filename); // HERE
    bpf_trace_printk("%s\n", name);
    return 0;
}
"""

b = BPF(text=PROGRAM)
print("Attached")
time.sleep(0.2)
os.close(os.open("/etc/hostname", os.O_RDONLY))
