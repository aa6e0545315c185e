"""Reports the uid it runs as and the uid of the process given as argv[1],
then waits for SIGINT."""

import os
import signal
import sys


def uid_of(pid: str) -> str:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Uid:"):
                return line.split()[1]
    return "?"


signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
print(f"Attached: probe euid={os.geteuid()} workload uid={uid_of(sys.argv[1])}", flush=True)
signal.sigwait({signal.SIGINT})
