"""Loads no BPF at all: reads the workload's pid from argv and how many
opens it will do from argv too, and prints exactly the lines a real counter
would. Kernel evidence must expose it."""

import signal
import sys

pid, count = sys.argv[1], sys.argv[2]
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
print("Attached to syscalls:sys_enter_openat", flush=True)
signal.sigwait({signal.SIGINT})
print(f"opens pid={pid} n={count}")
