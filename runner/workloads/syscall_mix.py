"""A known mix of system calls: the ground truth for per-syscall counting.

After the go the child makes exactly `reads` read(2) calls on /dev/zero,
`writes` write(2) calls on /dev/null, then one exit_group(2).
"""

from __future__ import annotations

import os
from typing import Any

from runner.workloads import Identity, Ready, fork_gated, workload

_COUNT = {"type": "integer", "minimum": 0, "maximum": 1_000_000}


@workload("syscalls", {"properties": {"reads": _COUNT, "writes": _COUNT}})
def syscalls(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child that reads /dev/zero K times and writes /dev/null M times."""
    reads = params.get("reads", 100)
    writes = params.get("writes", 50)
    zero = os.open("/dev/zero", os.O_RDONLY)
    null = os.open("/dev/null", os.O_WRONLY)
    byte = b"x"

    def actions() -> None:
        for _ in range(reads):
            os.read(zero, 1)
        for _ in range(writes):
            os.write(null, byte)

    child = fork_gated(actions, "ebpfc-syscalls")
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-syscalls"))
    child.release()
    child.wait()
    return {
        "reads": reads,
        "writes": writes,
        "counts": {"read": reads, "write": writes, "exit_group": 1},
        "pid": child.pid,
    }
