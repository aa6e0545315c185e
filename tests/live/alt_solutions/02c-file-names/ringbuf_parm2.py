#!/usr/bin/env python3
# alternative solution: a ring buffer record with room for a whole path, PT_REGS_PARM2, no flush
"""Print who opened which file (by the name the caller passed) relative to
which directory, and when.

Written another way than the reference: the record is reserved in a BPF ring
buffer, so the name field can hold PATH_MAX bytes (no 512-byte stack limit);
the arguments are read from the registers with PT_REGS_PARM1/2 instead of
named parameters; the names are cut at their first NUL with bytes.partition.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

PROGRAM = r"""
#include <uapi/linux/ptrace.h>
#define NAME_BYTES 4096
struct rec { u32 tgid; u32 thread; s32 dirfd; u64 when; char task[16]; char name[NAME_BYTES]; };
BPF_RINGBUF_OUTPUT(records, 64);
int on_open(struct pt_regs *ctx)
{
    struct rec *r = records.ringbuf_reserve(sizeof(struct rec));
    if (r == NULL) return 0;
    u64 id = bpf_get_current_pid_tgid();
    r->tgid = id >> 32;
    r->thread = id;
    r->dirfd = (s32)PT_REGS_PARM1(ctx);
    r->when = bpf_ktime_get_ns();
    bpf_get_current_comm(r->task, sizeof(r->task));
    if (bpf_probe_read_user_str(r->name, sizeof(r->name), (const char *)PT_REGS_PARM2(ctx)) < 0)
        r->name[0] = 0;
    records.ringbuf_submit(r, 0);
    return 0;
}
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Trace do_sys_openat2() with its file names.")
    parser.add_argument("-d", "--duration", type=int, default=5, help="seconds; 0 = until Ctrl+C")
    found = parser.parse_args(argv)
    if found.duration < 0:
        parser.error("the duration cannot be negative")
    return found


def text(field: bytes) -> str:
    """A char[] member of a ctypes struct reads as bytes: cut at its first NUL."""
    return field.partition(b"\0")[0].decode("utf-8", "replace")


def main() -> int:
    opts = parse_args()
    if os.geteuid():
        sys.exit("Run this probe as root (sudo): it loads a BPF program.")
    from bcc import BPF

    bpf = BPF(text=PROGRAM)
    bpf.attach_kprobe(event="do_sys_openat2", fn_name="on_open")

    def show(ctx: object, data: int, size: int) -> None:
        r = bpf["records"].event(data)
        print(
            f"[{r.tgid}/{r.thread}] {text(r.task)}: dfd={r.dirfd}, filename={text(r.name)}, "
            f"timestamp={r.when}"
        )

    bpf["records"].open_ring_buffer(show)
    print("Attached kprobe to: do_sys_openat2")
    end = time.monotonic() + opts.duration if opts.duration else float("inf")
    try:
        while time.monotonic() < end:
            bpf.ring_buffer_poll(timeout=100)
    except KeyboardInterrupt:
        bpf.ring_buffer_consume()
    return 0


if __name__ == "__main__":
    sys.exit(main())
