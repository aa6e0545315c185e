"""Forks a child that sleeps for an hour in the same process group, then
waits for SIGINT and exits, leaving the child behind."""

import os
import signal
import time

child = os.fork()
if child == 0:
    time.sleep(3600)
    os._exit(0)
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
print(f"Attached; child pid={child}", flush=True)
signal.sigwait({signal.SIGINT})
print("leaving my child behind", flush=True)
