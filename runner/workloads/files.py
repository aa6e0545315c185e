"""Workloads that open files: the ground truth for openat tracing lessons.

Each open is `os.open`, which glibc turns into exactly one openat(2): with
AT_FDCWD for a plain path, or with the held directory fd for `dir_fd=`.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

from runner.workloads import Identity, Ready, fork_gated, workdir, workload

AT_FDCWD = -100

_COUNT = {"type": "integer", "minimum": 1, "maximum": 1_000_000}


def _open_close(path: str, times: int, dir_fd: int | None = None) -> None:
    for _ in range(times):
        os.close(os.open(path, os.O_RDONLY, dir_fd=dir_fd))


def _target(prefix: str) -> str:
    """A fresh file to open, named uniquely so no other process opens it."""
    path = workdir() / f"{prefix}-{secrets.token_hex(4)}"
    path.write_bytes(b"")
    return str(path)


@workload("opens", {"properties": {"count": _COUNT}})
def opens(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child that opens one file `count` times (AT_FDCWD) and does nothing else."""
    count = params.get("count", 5)
    path = _target("ebpfc-opens")
    child = fork_gated(lambda: _open_close(path, count), "ebpfc-opens")
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-opens"))
    child.release()
    child.wait()
    return {"opens": count, "path": path, "pid": child.pid, "dfd": AT_FDCWD}


@workload(
    "open-marker",
    {"properties": {"count": _COUNT, "dirfd": {"type": "boolean"}}},
)
def open_marker(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child that opens a unique marker path `count` times with AT_FDCWD and,
    with `dirfd: true`, as often again relative to a directory fd it holds."""
    count = params.get("count", 1)
    relative = params.get("dirfd", False)
    path = _target("ebpfc-marker")
    folder, marker = os.path.split(path)
    dirfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)

    def actions() -> None:
        _open_close(path, count)
        if relative:
            _open_close(marker, count, dir_fd=dirfd)

    child = fork_gated(actions, "ebpfc-marker")
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-marker"))
    child.release()
    child.wait()
    return {
        "path": path,
        "marker": marker,
        "opens": count,
        "dfd_cwd": AT_FDCWD,
        "dirfd": dirfd,
        "dirfd_opens": count if relative else 0,
        "pid": child.pid,
    }


@workload("open-burst", {"properties": {"count": _COUNT}})
def open_burst(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child that opens one file tens of thousands of times as fast as it can."""
    count = params.get("count", 20_000)
    path = _target("ebpfc-burst")
    child = fork_gated(lambda: _open_close(path, count), "ebpfc-burst")
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-burst"))
    child.release()
    child.wait()
    return {"opens": count, "path": path, "pid": child.pid}


@workload("open-thread", {"properties": {"count": _COUNT}})
def open_thread(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child whose second thread does the opens, so its tid differs from its pid."""
    count = params.get("count", 3)
    path = _target("ebpfc-othread")
    child = fork_gated(lambda: _open_close(path, count), "ebpfc-omain", thread_comm="ebpfc-othread")
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-othread"))
    child.release()
    child.wait()
    return {"opens": count, "path": path, "pid": child.pid, "tid": child.tid}
