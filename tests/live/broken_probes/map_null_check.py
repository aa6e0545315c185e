# expect: map-null-check
from bcc import BPF

PROGRAM = r"""
BPF_HASH(counts, u32, u64);
TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    u64 *count = counts.lookup(&pid);
    *count += 1; // HERE
    return 0;
}
"""

BPF(text=PROGRAM)
