"""Workloads that call libc functions: the ground truth for uprobe lessons.

The interpreter calls getenv dozens of times by itself at start-up, so the
counted calls carry a marker argument drawn at random and come from a
dedicated child's worker thread.
"""

from __future__ import annotations

import ctypes
import secrets
from typing import Any

from runner.workloads import (
    NOISE_PARAM,
    Identity,
    Ready,
    WorkloadError,
    fork_gated,
    fork_noise,
    run_released,
    workload,
)


def _libc_path() -> str:
    """The libc file this process really maps (what a uprobe must attach to)."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "/libc.so" in path or "/libc-" in path:
                return path
    raise WorkloadError("could not find the C library in /proc/self/maps.")


def _marker() -> str:
    return f"EBPFC_MARKER_{secrets.token_hex(6).upper()}"


@workload(
    "getenv-marker",
    {
        "properties": {
            "count": {"type": "integer", "minimum": 1, "maximum": 100_000, "default": 5},
            "noise": NOISE_PARAM,
        }
    },
)
def getenv_marker(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child that calls libc getenv("<marker>") `count` times through ctypes."""
    count = params["count"]
    marker = _marker()
    libc = ctypes.CDLL("libc.so.6")
    getenv = libc.getenv
    getenv.argtypes = [ctypes.c_char_p]
    getenv.restype = ctypes.c_char_p
    name = marker.encode()

    def actions() -> None:
        for _ in range(count):
            getenv(name)

    child = fork_gated(actions, "ebpfc-getenv")
    noise = None
    noise_marker = _marker() if params["noise"] else ""
    if noise_marker:
        other = noise_marker.encode()
        noise = fork_noise(lambda: getenv(other), count)
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-getenv"))
    _, noise_raw = run_released(child, noise)
    noise_facts = None
    if noise_raw is not None:
        steps = noise_raw.pop("steps")
        noise_facts = {**noise_raw, "counts": {"getenv": steps}, "marker": noise_marker}
    return {
        "marker": marker,
        "calls": count,
        "function": "getenv",
        "libc": _libc_path(),
        "pid": child.pid,
        "tid": child.tid,
        "noise": noise_facts,
    }
