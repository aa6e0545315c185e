"""Ground-truth workloads: processes that do exactly known things.

A workload is a function `(params, ready) -> facts` registered by name with
the JSON Schema of its params. It sets itself up, calls `ready(identity)`
(which reports pid/tid/comm to the runner and blocks until the runner says
go), does exactly the counted actions, and returns what it did. Every module
in this package is imported on first use, so adding a workload is adding a
module. This package is the code that runs as the unprivileged workload:
stdlib only and self-contained, so it is copied whole for that user. The
runner side (`start_workload`) lives in `runner.live.workload_process`.
"""

from __future__ import annotations

import ctypes
import importlib
import os
import pkgutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMM_PREFIX = "ebpfc-"
COMM_MAX_BYTES = 15  # TASK_COMM_LEN is 16 including the terminating NUL
WORKDIR_ENV = "EBPFC_WORKDIR"

_PR_SET_NAME = 15


class WorkloadError(Exception):
    """A workload could not do its job; the message is one sentence."""


@dataclass(frozen=True)
class Identity:
    """Who does the counted work: checks match probe output against this."""

    pid: int  # tgid
    tid: int  # the thread doing the work (== pid unless a thread does it)
    comm: str


Ready = Callable[[Identity], None]
WorkloadFunc = Callable[[dict[str, Any], Ready], dict[str, Any]]


@dataclass(frozen=True)
class Workload:
    name: str
    func: WorkloadFunc
    params: dict[str, Any]  # JSON Schema of the params mapping
    summary: str = ""


_WORKLOADS: dict[str, Workload] = {}
_loaded = False


def workload(
    name: str, params: dict[str, Any] | None = None
) -> Callable[[WorkloadFunc], WorkloadFunc]:
    """Register a workload kind. `params` is a JSON Schema for its parameters."""

    schema = dict(params or {"type": "object", "properties": {}})
    schema.setdefault("type", "object")
    schema.setdefault("additionalProperties", False)

    def register(func: WorkloadFunc) -> WorkloadFunc:
        if name in _WORKLOADS:
            raise RuntimeError(f"workload {name!r} registered twice")
        doc = (func.__doc__ or "").strip().splitlines()
        _WORKLOADS[name] = Workload(name, func, schema, doc[0] if doc else "")
        return func

    return register


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def get(name: str) -> Workload | None:
    _load_all()
    return _WORKLOADS.get(name)


def all_workloads() -> dict[str, Workload]:
    _load_all()
    return dict(sorted(_WORKLOADS.items()))


def set_comm(name: str) -> None:
    """Name the calling thread (what the kernel reports as comm)."""
    raw = name.encode()
    if not name.startswith(COMM_PREFIX) or len(raw) > COMM_MAX_BYTES:
        raise ValueError(
            f"comm {name!r} must start with {COMM_PREFIX!r} and be at most {COMM_MAX_BYTES} bytes"
        )
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NAME, ctypes.c_char_p(raw), 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_NAME) failed: {os.strerror(err)}")


def workdir() -> Path:
    """The folder a workload may create files in (the runner makes a fresh one)."""
    given = os.environ.get(WORKDIR_ENV)
    if given:
        return Path(given)
    return Path(tempfile.mkdtemp(prefix="ebpfc-wl-"))


# Re-exported at the end: these modules use the names defined above.
from runner.workloads._child import Child, fork_gated  # noqa: E402

__all__ = [
    "Child",
    "Identity",
    "Ready",
    "Workload",
    "WorkloadError",
    "all_workloads",
    "fork_gated",
    "get",
    "set_comm",
    "workdir",
    "workload",
]
