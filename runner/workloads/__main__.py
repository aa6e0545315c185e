"""`python -m runner.workloads KIND`: one workload, line protocol.

stdin, from the runner: first one line holding the params as a JSON object
(an empty line means all defaults), later a line `go`; end of input before
the go means "cancelled". The params never travel in argv or the
environment, where a probe could read them from /proc before the go; they
are already drawn (a `{"random": [MIN, MAX]}` is the runner's to resolve).

stdout, to the runner: one JSON object per line: `{"identity": {pid, tid,
comm}}` once the workload is set up, then `{"facts": {...}}` when it is done
(always with `"params"`: the params it ran with, defaults filled in), or
`{"error": "one sentence"}` instead of either.

By hand: `printf '{"count": 3}\ngo\n' | python -m runner.workloads opens`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import asdict
from typing import Any

from runner.workloads import WORKDIR_ENV, Identity, WorkloadError, get, is_random, with_defaults

EXIT_CANCELLED = 3


def _send(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class _Gate:
    """The `ready` callable handed to a workload: report, then wait for go."""

    def __init__(self) -> None:
        self.identity: Identity | None = None

    def __call__(self, identity: Identity) -> None:
        if self.identity is not None:
            raise WorkloadError("the workload reported ready twice.")
        self.identity = identity
        _send({"identity": asdict(identity)})
        if sys.stdin.readline().strip() != "go":
            raise SystemExit(EXIT_CANCELLED)


def _read_params() -> dict[str, Any] | str:
    """The params line from stdin, or one sentence saying what is wrong with it."""
    line = sys.stdin.readline()
    if not line.endswith("\n"):
        return "the workload got no params line on stdin (send a JSON object, then go)."
    try:
        params = json.loads(line) if line.strip() else {}
    except json.JSONDecodeError as exc:
        return f"the workload params are not valid JSON ({exc.msg})."
    if not isinstance(params, dict):
        return "the workload params must be a JSON object."
    drawn = [key for key, value in params.items() if is_random(value)]
    if drawn:
        return f"param {drawn[0]!r} is still random; the runner draws it before the start."
    return params


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        _send({"error": "usage: python -m runner.workloads KIND (params as a JSON line on stdin)."})
        return 2
    name = argv[0]
    # The runner validated the params before starting us (with jsonschema,
    # which an unprivileged copy of this code cannot import); here only the name.
    found = get(name)
    if found is None:
        _send({"error": f"there is no workload {name!r}."})
        return 2
    given = _read_params()
    if isinstance(given, str):
        _send({"error": given})
        return 2
    params = with_defaults(found, given)
    gate = _Gate()
    try:
        facts = found.func(params, gate)
    except WorkloadError as exc:
        _send({"error": str(exc)})
        return 1
    except OSError as exc:
        _send({"error": f"workload {name!r} failed: {exc.strerror or exc}."})
        return 1
    except Exception as exc:  # a bug in a workload: still one sentence for the learner
        _send({"error": f"workload {name!r} failed: {type(exc).__name__}: {exc}."})
        return 1
    if gate.identity is None:
        _send({"error": f"workload {name!r} finished without reporting who does the work."})
        return 1
    _send({"facts": {**facts, "params": params}})
    return 0


def _main_with_workdir(argv: list[str]) -> int:
    """Run by hand (not by the runner), a workload cleans up its own folder."""
    if os.environ.get(WORKDIR_ENV):
        return main(argv)
    with tempfile.TemporaryDirectory(prefix="ebpfc-wl-") as folder:
        os.environ[WORKDIR_ENV] = folder
        return main(argv)


if __name__ == "__main__":
    sys.exit(_main_with_workdir(sys.argv[1:]))
