"""Loads one BPF program of each kind the evidence records: a syscalls
tracepoint counting openat per process in a BPF_HASH (keyed by the tgid, or
by the thread id with --by-tid), a raw tracepoint on sys_enter, a uprobe on
libc getenv counting per process, and a perf event on the CPU clock of
every CPU. Prints `Attached` (without flush: the runner starts probes with
-u), then on SIGINT `opens pid=<pid> n=<count>` and `getenv pid=<pid> n=<count>`."""

import signal
import sys

from bcc import BPF, PerfSWConfig, PerfType

PROGRAM = r"""
BPF_HASH(opens, u32, u64);
BPF_HASH(getenvs, u32, u64);
BPF_ARRAY(raw_calls, u64, 1);
BPF_PERCPU_ARRAY(samples, u64, 1);

TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    u64 id = bpf_get_current_pid_tgid();
    u32 key = BY_TID ? (u32)id : id >> 32;
    opens.increment(key);
    return 0;
}

RAW_TRACEPOINT_PROBE(sys_enter) {
    int zero = 0;
    raw_calls.increment(zero);
    return 0;
}

int on_getenv(struct pt_regs *ctx) {
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    getenvs.increment(pid);
    return 0;
}

int on_sample(struct bpf_perf_event_data *ctx) {
    int zero = 0;
    samples.increment(zero);
    return 0;
}
"""

by_tid = "--by-tid" in sys.argv
bpf = BPF(text=PROGRAM, cflags=[f"-DBY_TID={int(by_tid)}"])
bpf.attach_uprobe(name="c", sym="getenv", fn_name="on_getenv")
bpf.attach_perf_event(
    ev_type=PerfType.SOFTWARE, ev_config=PerfSWConfig.CPU_CLOCK, fn_name="on_sample", sample_freq=99
)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
print("Attached")  # no flush=True on purpose
signal.sigwait({signal.SIGINT})
for name, label in (("opens", "opens"), ("getenvs", "getenv")):
    for key, count in sorted(bpf[name].items(), key=lambda kv: kv[0].value):
        print(f"{label} pid={key.value} n={count.value}")
sys.exit(0)
