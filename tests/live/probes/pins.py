"""Pins a program, a map and a raw-tracepoint link in bpffs and exits as if
all were well: the kernel keeps all three (and the link keeps the program
running on every syscall) after the probe is gone, unless the runner
removes the pins. The folder under bpffs is argv[1] (default: ebpfc-pins)."""

import ctypes as ct
import os
import subprocess
import sys
import time

from bcc import BPF
from bcc.libbcc import lib

BPFFS = "/sys/fs/bpf"
PROGRAM = r"""
BPF_ARRAY(pinned_hits, u64, 1);
RAW_TRACEPOINT_PROBE(sys_enter) {
    int zero = 0;
    u64 *n = pinned_hits.lookup(&zero);
    if (n) __sync_fetch_and_add(n, 1);
    return 0;
}
"""

if not os.path.ismount(BPFFS):  # systemd mounts it; a bare machine may not have it
    subprocess.run(["mount", "-t", "bpf", "bpf", BPFFS], check=True)
folder = os.path.join(BPFFS, sys.argv[1] if len(sys.argv) > 1 else "ebpfc-pins")
os.makedirs(folder, exist_ok=True)
b = BPF(text=PROGRAM)  # RAW_TRACEPOINT_PROBE attaches itself
pin = lib.bpf_obj_pin
pin.argtypes = [ct.c_int, ct.c_char_p]
fn = b.funcs[b"raw_tracepoint__sys_enter"]
link_fd = b.raw_tracepoint_fds[b"sys_enter"]
for fd, name in ((fn.fd, "prog"), (b["pinned_hits"].map_fd, "map"), (link_fd, "link")):
    if pin(fd, os.path.join(folder, name).encode()) != 0:
        print(f"pinning {name} failed: errno {ct.get_errno()}", file=sys.stderr)
        sys.exit(1)
print("Attached (and pinned)", flush=True)
try:
    while True:
        time.sleep(60)
except KeyboardInterrupt:
    print("Detached, leaving my pins behind")
