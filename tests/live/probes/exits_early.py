"""Attaches a real tracepoint, prints its ready line, then exits by itself
after a moment, before the runner stops it (so there is no stop snapshot)."""

import time

from bcc import BPF

bpf = BPF(text="TRACEPOINT_PROBE(syscalls, sys_enter_openat) { return 0; }")
print("Attached", flush=True)
time.sleep(0.3)
