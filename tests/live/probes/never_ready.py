"""Prints something, but never the ready line; ends on SIGINT."""

import signal

signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
print("compiling... (forever)", flush=True)
signal.sigwait({signal.SIGINT})
