"""Ground-truth workloads: processes that do exactly known things.

A workload is a function `(params, ready) -> facts` registered by name with
the JSON Schema of its params. It sets itself up, calls `ready(identity)`
(which reports pid/tid/comm to the runner and blocks until the runner says
go), does exactly the counted actions, and returns what it did. The counted
actions run in a worker thread of a forked child (`fork_gated`), so the pid
a probe must print (the tgid) is never the thread id. Any integer param may
be given as `{"random": [MIN, MAX]}` in a lesson: the runner draws it
(`runner.live.workload_process`), the workload only ever sees integers. Every module
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
RANDOM_KEY = "random"
NOISE_PARAM = {
    "type": "boolean",
    "default": False,
    "description": "Also start an 'ebpfc-noise' process making the same calls meanwhile.",
}


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
    schema["properties"] = {
        key: _allow_random(prop) for key, prop in schema.get("properties", {}).items()
    }

    def register(func: WorkloadFunc) -> WorkloadFunc:
        if name in _WORKLOADS:
            raise RuntimeError(f"workload {name!r} registered twice")
        doc = (func.__doc__ or "").strip().splitlines()
        _WORKLOADS[name] = Workload(name, func, schema, doc[0] if doc else "")
        return func

    return register


def _allow_random(prop: dict[str, Any]) -> dict[str, Any]:
    """An integer param's schema, widened to also accept `{"random": [MIN, MAX]}`
    with both bounds inside the integer's own (MIN <= MAX is the runner's check)."""
    if prop.get("type") != "integer":
        return prop
    plain = {k: v for k, v in prop.items() if k not in ("default", "description", "title")}
    outer = {k: v for k, v in prop.items() if k in ("default", "description", "title")}
    drawn = {
        "title": "Random integer",
        "description": "Drawn by the runner for each run, MIN <= value <= MAX.",
        "type": "object",
        "additionalProperties": False,
        "required": [RANDOM_KEY],
        "properties": {
            RANDOM_KEY: {
                "type": "array",
                "prefixItems": [plain, plain],
                "items": False,
                "minItems": 2,
                "maxItems": 2,
            }
        },
    }
    # if/then/else, not anyOf: a mapping is judged only as a random range and
    # anything else only as the integer, so each error names the form meant
    return {**outer, "if": {"type": "object"}, "then": drawn, "else": plain}


def is_random(value: Any) -> bool:
    """True for a `{"random": [MIN, MAX]}` param (not yet drawn)."""
    return isinstance(value, dict) and RANDOM_KEY in value


def random_range_problem(params: dict[str, Any]) -> tuple[str, str] | None:
    """(param, sentence) for the first `{"random": [MIN, MAX]}` with MIN > MAX
    (a schema cannot say that), or None. Call it on params the schema accepts."""
    for key, value in params.items():
        if is_random(value):
            low, high = value[RANDOM_KEY]
            if low > high:
                return key, f"the random range [{low}, {high}] is empty (write it as [MIN, MAX])"
    return None


def with_defaults(found: Workload, params: dict[str, Any]) -> dict[str, Any]:
    """`params` with every param its schema gives a default for filled in."""
    filled = dict(params)
    for key, prop in found.params.get("properties", {}).items():
        if key not in filled and "default" in prop:
            filled[key] = prop["default"]
    return filled


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
from runner.workloads._child import (  # noqa: E402
    NOISE_COMM,
    Child,
    Noise,
    fork_gated,
    fork_noise,
    run_released,
)

__all__ = [
    "Child",
    "Identity",
    "NOISE_COMM",
    "NOISE_PARAM",
    "Noise",
    "Ready",
    "Workload",
    "WorkloadError",
    "all_workloads",
    "fork_gated",
    "fork_noise",
    "get",
    "is_random",
    "random_range_problem",
    "run_released",
    "set_comm",
    "workdir",
    "with_defaults",
    "workload",
]
