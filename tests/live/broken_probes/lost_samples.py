# expect: lost-samples
"""A one-page perf buffer that is not read while 20,000 events arrive."""

import os

from bcc import BPF

PROGRAM = r"""
struct event { u64 pad[32]; };
BPF_PERF_OUTPUT(events);
BPF_PERCPU_ARRAY(scratch, struct event, 1);
RAW_TRACEPOINT_PROBE(sys_enter) {
    if ((bpf_get_current_pid_tgid() >> 32) != TGID) return 0;
    int zero = 0;
    struct event *e = scratch.lookup(&zero);
    if (e) events.perf_submit(ctx, e, sizeof(*e));
    return 0;
}
"""

b = BPF(text=PROGRAM.replace("TGID", str(os.getpid())))
b["events"].open_perf_buffer(lambda cpu, data, size: None, page_cnt=1)
for _ in range(20_000):
    os.getppid()
b.perf_buffer_poll(timeout=500)
# The kernel reports a loss with the next event it can write: send one more.
os.getppid()
b.perf_buffer_poll(timeout=500)
