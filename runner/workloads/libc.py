"""Workloads that call libc functions: the ground truth for uprobe lessons.

The interpreter calls getenv dozens of times by itself at start-up, so the
counted calls carry a unique marker argument and come from a dedicated child.
"""

from __future__ import annotations

import ctypes
import secrets
from typing import Any

from runner.workloads import Identity, Ready, WorkloadError, fork_gated, workload


def _libc_path() -> str:
    """The libc file this process really maps (what a uprobe must attach to)."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "/libc.so" in path or "/libc-" in path:
                return path
    raise WorkloadError("could not find the C library in /proc/self/maps.")


@workload(
    "getenv-marker",
    {"properties": {"count": {"type": "integer", "minimum": 1, "maximum": 100_000}}},
)
def getenv_marker(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child that calls libc getenv("<marker>") `count` times through ctypes."""
    count = params.get("count", 5)
    marker = f"EBPFC_MARKER_{secrets.token_hex(4).upper()}"
    libc = ctypes.CDLL("libc.so.6")
    getenv = libc.getenv
    getenv.argtypes = [ctypes.c_char_p]
    getenv.restype = ctypes.c_char_p
    name = marker.encode()

    def actions() -> None:
        for _ in range(count):
            getenv(name)

    child = fork_gated(actions, "ebpfc-getenv")
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-getenv"))
    child.release()
    child.wait()
    return {
        "marker": marker,
        "calls": count,
        "function": "getenv",
        "libc": _libc_path(),
        "pid": child.pid,
    }
