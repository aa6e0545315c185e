"""Ignores SIGINT and SIGTERM and never ends: only SIGKILL stops it."""

import signal
import time

signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("Attached (and I will not leave)", flush=True)
while True:
    time.sleep(60)
