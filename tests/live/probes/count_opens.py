"""Counts openat(2) calls per process with a syscalls tracepoint; prints
`opens pid=<pid> n=<count>` for every process on SIGINT."""

import signal
import sys

from bcc import BPF

PROGRAM = r"""
BPF_HASH(opens, u32, u64);

TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    opens.increment(pid);
    return 0;
}
"""

bpf = BPF(text=PROGRAM)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
print("Attached to syscalls:sys_enter_openat", flush=True)
signal.sigwait({signal.SIGINT})
for pid, count in sorted(bpf["opens"].items(), key=lambda kv: kv[0].value):
    print(f"opens pid={pid.value} n={count.value}")
sys.exit(0)
