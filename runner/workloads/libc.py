"""Workloads that call libc functions: the ground truth for uprobe lessons.

The interpreter calls getenv dozens of times by itself at start-up, so the
counted calls carry a marker argument drawn at random and come from a
dedicated child's worker thread.
"""

from __future__ import annotations

import ctypes
import secrets
import threading
import time
from collections.abc import Callable
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


# usleep-nested: the outer call's length, where the inner call starts within
# it, and the inner call's length (milliseconds). The inner call starts and
# ends inside the outer one with room to spare on a loaded 2-core machine, so
# a probe that keys its start times by process rather than by thread loses or
# shortens the outer call every time.
_OUTER_MS = (150, 300)
_INNER_DELAY_MS = 20
_INNER_MS = (20, 60)


def _timed(call: Callable[[], Any]) -> tuple[int, int]:
    """The caller's own view of one call: its start and end, CLOCK_MONOTONIC ns
    (the clock bpf_ktime_get_ns reads), so what the kernel measures between
    entry and return lies within them."""
    start = time.monotonic_ns()
    call()
    return start, time.monotonic_ns()


@workload(
    "usleep-nested",
    {
        "properties": {
            "pairs": {"type": "integer", "minimum": 1, "maximum": 20, "default": 3},
            "noise": NOISE_PARAM,
        }
    },
)
def usleep_nested(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child whose two threads call libc usleep: each pair is an outer call
    with an inner one on the second thread nested in it. Lengths are drawn
    here, per run; each call's facts say what it asked for (its floor) and
    what its caller measured around it (its ceiling)."""
    draw = secrets.SystemRandom()
    plan = [
        (draw.randint(*_OUTER_MS) * 1000, draw.randint(*_INNER_MS) * 1000)
        for _ in range(params["pairs"])
    ]
    libc = ctypes.CDLL("libc.so.6")
    usleep = libc.usleep
    usleep.argtypes = [ctypes.c_uint]

    def actions() -> dict[str, Any]:
        calls: list[dict[str, Any]] = []
        inner_go = threading.Event()
        inner_done = threading.Event()
        inner: dict[str, Any] = {}

        def inner_thread() -> None:
            for _, inner_us in plan:
                inner_go.wait()
                inner_go.clear()
                time.sleep(_INNER_DELAY_MS / 1000)
                start, end = _timed(lambda us=inner_us: usleep(us))
                inner.update(tid=threading.get_native_id(), start=start, end=end)
                inner_done.set()

        helper = threading.Thread(target=inner_thread, daemon=True)
        helper.start()
        for outer_us, inner_us in plan:
            inner_done.clear()
            inner_go.set()
            start, end = _timed(lambda us=outer_us: usleep(us))
            inner_done.wait()
            nested = start < inner["start"] and inner["end"] < end
            calls.append(_call("outer", outer_us, start, end, threading.get_native_id(), nested))
            calls.append(
                _call("inner", inner_us, inner["start"], inner["end"], inner["tid"], nested)
            )
        helper.join()
        tids = sorted({call["tid"] for call in calls})
        return {"calls": calls, "tids": tids}

    child = fork_gated(actions, "ebpfc-sleep")
    noise = fork_noise(lambda: usleep(500), 5) if params["noise"] else None
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-sleep"))
    measured, noise_raw = run_released(child, noise)
    noise_facts = None
    if noise_raw is not None:
        noise_facts = {**noise_raw, "counts": {"usleep": noise_raw.pop("steps")}}
    calls = measured["calls"]
    return {
        "calls": calls,
        "count": len(calls),
        "all_nested": all(call["nested"] for call in calls),
        "tids": measured["tids"],
        "function": "usleep",
        "libc": _libc_path(),
        "pid": child.pid,
        "tid": child.tid,
        "noise": noise_facts,
    }


def _call(role: str, asked_us: int, start: int, end: int, tid: int, nested: bool) -> dict:
    return {
        "role": role,
        "asked_us": asked_us,
        "min_ns": asked_us * 1000,  # usleep sleeps at least this long
        "max_ns": end - start,  # what the caller saw around the call
        "tid": tid,
        "nested": nested,
    }
