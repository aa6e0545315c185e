"""Counts system calls by number for one pid (argv[1]) with raw_syscalls:sys_enter;
prints `syscall nr=<nr> n=<count>` on SIGINT."""

import signal
import sys

from bcc import BPF

PROGRAM = r"""
BPF_HASH(calls, u64, u64);

TRACEPOINT_PROBE(raw_syscalls, sys_enter) {
    if ((bpf_get_current_pid_tgid() >> 32) != TARGET)
        return 0;
    u64 nr = args->id;
    calls.increment(nr);
    return 0;
}
"""

target = int(sys.argv[1])
bpf = BPF(text=PROGRAM, cflags=[f"-DTARGET={target}"])
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
print(f"Attached to raw_syscalls:sys_enter for pid {target}", flush=True)
signal.sigwait({signal.SIGINT})
for nr, count in sorted(bpf["calls"].items(), key=lambda kv: kv[0].value):
    print(f"syscall nr={nr.value} n={count.value}")
