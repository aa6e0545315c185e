"""A known mix of system calls: the ground truth for per-syscall counting.

After the go the child's worker thread makes exactly `reads` read(2) calls on
/dev/zero, `writes` write(2) calls on /dev/null, then one exit_group(2); the
process makes no other system call. With `noise: true` an `ebpfc-noise`
process reads and writes the same devices meanwhile.
"""

from __future__ import annotations

import os
from typing import Any

from runner.workloads import (
    NOISE_PARAM,
    Identity,
    Ready,
    fork_gated,
    fork_noise,
    run_released,
    workload,
)


def _count(default: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "maximum": 1_000_000, "default": default}


@workload(
    "syscalls",
    {"properties": {"reads": _count(100), "writes": _count(50), "noise": NOISE_PARAM}},
)
def syscalls(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child that reads /dev/zero K times and writes /dev/null M times."""
    reads = params["reads"]
    writes = params["writes"]
    zero = os.open("/dev/zero", os.O_RDONLY)
    null = os.open("/dev/null", os.O_WRONLY)
    byte = b"x"

    def actions() -> None:
        for _ in range(reads):
            os.read(zero, 1)
        for _ in range(writes):
            os.write(null, byte)

    def noise_step() -> None:
        os.read(zero, 1)
        os.write(null, byte)

    child = fork_gated(actions, "ebpfc-syscalls")
    noise = fork_noise(noise_step, max(reads, writes, 1)) if params["noise"] else None
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-syscalls"))
    _, noise_raw = run_released(child, noise)
    noise_facts = None
    if noise_raw is not None:
        steps = noise_raw.pop("steps")
        noise_facts = {**noise_raw, "counts": {"read": steps, "write": steps, "exit_group": 1}}
    return {
        "reads": reads,
        "writes": writes,
        "counts": {"read": reads, "write": writes, "exit_group": 1},
        "pid": child.pid,
        "tid": child.tid,
        "noise": noise_facts,
    }
