"""Workloads the scheduler sees: a sleeper that keeps giving up the CPU and a
burner that keeps one CPU (or, with `per_cpu`, every CPU) busy: the ground
truth for sched_switch and for CPU sampling."""

from __future__ import annotations

import os
import time
from typing import Any

from runner.workloads import (
    NOISE_COMM,
    NOISE_PARAM,
    Identity,
    Ready,
    WorkloadError,
    fork_gated,
    fork_noise,
    run_released,
    workload,
)


@workload(
    "sleeper",
    {
        "properties": {
            "count": {"type": "integer", "minimum": 1, "maximum": 10_000, "default": 5},
            "interval": {"type": "number", "exclusiveMinimum": 0, "maximum": 5, "default": 0.02},
            "noise": NOISE_PARAM,
        }
    },
)
def sleeper(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child that sleeps `count` times, so its worker thread is switched out
    (sched_switch's prev_pid is that thread's tid) each time."""
    count = params["count"]
    interval = params["interval"]

    def actions() -> None:
        for _ in range(count):
            time.sleep(interval)

    child = fork_gated(actions, "ebpfc-sleeper")
    noise = fork_noise(lambda: time.sleep(interval), count) if params["noise"] else None
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-sleeper"))
    _, noise_raw = run_released(child, noise)
    noise_facts = None
    if noise_raw is not None:
        steps = noise_raw.pop("steps")
        noise_facts = {**noise_raw, "counts": {"sleeps": steps}}
    return {
        "sleeps": count,
        "interval": interval,
        "pid": child.pid,
        "tid": child.tid,
        "noise": noise_facts,
    }


def _this_cpu() -> int:
    """The CPU the calling thread last ran on (field 39 of its stat line)."""
    with open("/proc/thread-self/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[36])


def _burn(seconds: float) -> dict[str, Any]:
    """Spin until `seconds` of wall time passed; report the CPU time it got."""
    cpu0 = time.clock_gettime(time.CLOCK_THREAD_CPUTIME_ID)
    wall0 = time.monotonic()
    spins = 0
    while time.monotonic() - wall0 < seconds:
        for _ in range(10_000):
            spins += 1
    cpu = time.clock_gettime(time.CLOCK_THREAD_CPUTIME_ID) - cpu0
    return {
        "cpu_seconds": round(cpu, 6),
        "wall_seconds": round(time.monotonic() - wall0, 6),
        "last_cpu": _this_cpu(),
    }


def _online_cpus() -> list[int]:
    """The online CPUs this process may run on."""
    allowed = os.sched_getaffinity(0)
    try:
        with open("/sys/devices/system/cpu/online") as online:
            spec = online.read().strip()
    except OSError:
        return sorted(allowed)
    cpus: set[int] = set()
    for part in spec.split(","):
        low, _, high = part.partition("-")
        cpus.update(range(int(low), int(high or low) + 1))
    return sorted(cpus & allowed)


@workload(
    "cpu-burn",
    {
        "properties": {
            "seconds": {"type": "number", "exclusiveMinimum": 0, "maximum": 60, "default": 2.0},
            "per_cpu": {
                "type": "boolean",
                "default": False,
                "description": "Burn one thread pinned to each online CPU instead of one.",
            },
            "noise": {
                **NOISE_PARAM,
                "description": "Also start an 'ebpfc-noise' process burning the same CPUs "
                "for the same time, so both share them.",
            },
        }
    },
)
def cpu_burn(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child that keeps one CPU (or each online CPU) busy for `seconds` under
    a known comm; with `noise`, a second process burns the same CPUs meanwhile
    (each measures the CPU time it really got)."""
    seconds = params["seconds"]
    per_cpu = params["per_cpu"]
    cpus = _online_cpus() if per_cpu else None
    if cpus == []:
        raise WorkloadError("the workload may run on no online CPU.")
    child = fork_gated(lambda: _burn(seconds), "ebpfc-burn", cpus=cpus)
    noise = fork_gated(lambda: _burn(seconds), NOISE_COMM, cpus=cpus) if params["noise"] else None
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-burn"))
    noise_facts = None
    if noise is None:
        measured, _ = run_released(child, None)
    else:
        noise.release()
        child.release()
        measured = child.wait()
        noisy = _threads(noise.wait(), noise.tid, per_cpu)
        noise_facts = {
            "pid": noise.pid,
            "tid": noise.tid,
            "comm": NOISE_COMM,
            "threads": noisy,
            "cpu_seconds": round(sum(t["cpu_seconds"] for t in noisy), 6),
        }
    threads = _threads(measured, child.tid, per_cpu)
    return {
        "seconds": seconds,
        "per_cpu": per_cpu,
        "cpus": cpus,
        "threads": threads,
        "cpu_seconds": round(sum(t["cpu_seconds"] for t in threads), 6),
        "wall_seconds": max(t["wall_seconds"] for t in threads),
        "pid": child.pid,
        "tid": child.tid,
        "noise": noise_facts,
    }


def _threads(measured: dict[str, Any], tid: int, per_cpu: bool) -> list[dict[str, Any]]:
    """Each burning thread's facts: the pinned workers', or the one worker's."""
    return measured["threads"] if per_cpu else [{"tid": tid, "cpu": None, **measured}]
