"""Makes bpf() calls the kernel refuses (a NULL attr: -EFAULT or -EINVAL)
from three places: its main thread (BPF_PROG_LOAD), a thread
(BPF_MAP_CREATE) and a forked child (BPF_BTF_LOAD); says "Attached" and
waits for SIGINT. Loads nothing, needs no bcc: what the kernel saw is the
ground truth of the test."""

import ctypes
import os
import platform
import signal
import threading

NR = {"x86_64": 321, "aarch64": 280}[platform.machine()]
libc = ctypes.CDLL(None, use_errno=True)


def bpf(cmd: int) -> None:
    libc.syscall(NR, cmd, None, 0)


signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
bpf(5)
thread = threading.Thread(target=bpf, args=(0,))
thread.start()
thread.join()
child = os.fork()
if child == 0:
    bpf(18)
    os._exit(0)
os.waitpid(child, 0)
print(f"Attached pid={os.getpid()} thread={thread.native_id} child={child}", flush=True)
signal.sigwait({signal.SIGINT})
