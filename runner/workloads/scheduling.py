"""Workloads the scheduler sees: a sleeper that keeps giving up the CPU and a
burner that keeps one CPU busy (the ground truth for sched_switch and for
CPU sampling)."""

from __future__ import annotations

import time
from typing import Any

from runner.workloads import Identity, Ready, fork_gated, workload


@workload(
    "sleeper",
    {
        "properties": {
            "count": {"type": "integer", "minimum": 1, "maximum": 10_000},
            "interval": {"type": "number", "exclusiveMinimum": 0, "maximum": 5},
        }
    },
)
def sleeper(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child that sleeps `count` times, so it is switched out (prev pid) each time."""
    count = params.get("count", 5)
    interval = params.get("interval", 0.02)

    def actions() -> None:
        for _ in range(count):
            time.sleep(interval)

    child = fork_gated(actions, "ebpfc-sleeper")
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-sleeper"))
    child.release()
    child.wait()
    return {"sleeps": count, "interval": interval, "pid": child.pid}


def _burn(seconds: float) -> dict[str, Any]:
    """Spin until `seconds` of wall time passed; report the CPU time it got."""
    cpu0 = time.clock_gettime(time.CLOCK_THREAD_CPUTIME_ID)
    wall0 = time.monotonic()
    spins = 0
    while time.monotonic() - wall0 < seconds:
        for _ in range(10_000):
            spins += 1
    cpu = time.clock_gettime(time.CLOCK_THREAD_CPUTIME_ID) - cpu0
    return {"cpu_seconds": round(cpu, 6), "wall_seconds": round(time.monotonic() - wall0, 6)}


@workload(
    "cpu-burn",
    {"properties": {"seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 60}}},
)
def cpu_burn(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child that keeps one CPU busy for `seconds` under a known comm."""
    seconds = params.get("seconds", 2.0)
    child = fork_gated(lambda: _burn(seconds), "ebpfc-burn")
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-burn"))
    child.release()
    measured = child.wait()
    return {"seconds": seconds, **measured, "pid": child.pid}
