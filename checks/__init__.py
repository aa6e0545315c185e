"""Check kinds: pure functions of a recording.

A kind is a function `(params, ctx) -> Verdict` registered by name with the
JSON Schema of its params. Kind `X.y` lives in checks/X.py; every module in
this package (except the ones in `_NOT_KINDS`) is imported on first use, so
adding a family is adding a module. Kinds are written with `checks.api`.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from checks.context import Context
from runner.model import Verdict

CheckFunc = Callable[[dict[str, Any], Context], Verdict]


@dataclass(frozen=True)
class Kind:
    name: str
    func: CheckFunc
    params: dict[str, Any]  # JSON Schema of the params mapping
    needs_run: bool = True  # False for static checks on the source alone
    summary: str = ""
    # what the runner must record for this kind beyond a run's defaults:
    # "bpf_calls", the kernel's record of the probe's bpf() syscalls (Run.bpf_calls)
    records: tuple[str, ...] = ()


_KINDS: dict[str, Kind] = {}
# What a kind may ask the runner to record beyond a run's defaults (Kind.records).
RECORDS = ("bpf_calls",)
# Modules of the package that hold no kinds: the authoring API, the context, the docs generator.
_NOT_KINDS = ("api", "context", "docgen")
_loaded = False
# family.name, lowercase: the family is the module (checks/X.py, or a course's plugin file).
KIND_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")


class KindError(ValueError):
    """A kind the registry refuses. `clause` ends the sentence
    "<file> registers kind <name>, <clause>" (see runner.course.plugins)."""

    def __init__(self, name: str, clause: str) -> None:
        super().__init__(f"check kind {name!r}: {clause}")
        self.name = name
        self.clause = clause


def _taken_by(existing: Kind) -> str:
    if existing.func.__module__.startswith(f"{__name__}."):
        return "which the platform already has"
    # Another course's plugin, loaded earlier in this process.
    return f"which {inspect.getsourcefile(inspect.unwrap(existing.func))} already registers"


def kind(
    name: str,
    params: dict[str, Any] | None = None,
    *,
    needs_run: bool = True,
    records: tuple[str, ...] = (),
) -> Callable[[CheckFunc], CheckFunc]:
    """Register a check kind. `params` is a JSON Schema for its parameters;
    `records` names what the runner must record for it (RECORDS)."""

    schema = params or {"type": "object", "properties": {}}
    schema.setdefault("type", "object")
    schema.setdefault("additionalProperties", False)

    def register(func: CheckFunc) -> CheckFunc:
        if not KIND_NAME.match(name):
            raise KindError(name, "but a kind's name is family.name in lowercase, e.g. output.line")
        if name in _KINDS:
            raise KindError(name, _taken_by(_KINDS[name]))
        # The summary is the docstring's first paragraph (a sentence wrapped over lines).
        summary = " ".join((func.__doc__ or "").strip().split("\n\n")[0].split())
        unknown = [r for r in records if r not in RECORDS]
        if unknown:
            raise KindError(
                name, f"but the runner records no {unknown[0]!r} (only {', '.join(RECORDS)})"
            )
        _KINDS[name] = Kind(name, func, schema, needs_run, summary, tuple(records))
        return func

    return register


def _load_all() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for info in pkgutil.iter_modules(__path__):
        if info.name not in _NOT_KINDS and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


def get(name: str) -> Kind | None:
    _load_all()
    return _KINDS.get(name)


def all_kinds() -> dict[str, Kind]:
    _load_all()
    return dict(sorted(_KINDS.items()))


def records_for(checks: Iterable[Any], run_id: str) -> set[str]:
    """What the runner must record for the run `run_id`, for the given
    CheckSpecs (those that read it): the union of their kinds' `records`."""
    wanted: set[str] = set()
    for spec in checks:
        found = get(spec.kind) if spec.run == run_id else None
        if found is not None:
            wanted.update(found.records)
    return wanted


__all__ = [
    "Context",
    "Kind",
    "KindError",
    "Verdict",
    "all_kinds",
    "field",
    "get",
    "kind",
    "records_for",
]
