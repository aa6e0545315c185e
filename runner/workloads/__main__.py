"""`python -m runner.workloads KIND PARAMS_JSON`: one workload, line protocol.

stdout carries one JSON object per line: `{"identity": {pid, tid, comm}}`
once the workload is set up, then `{"facts": {...}}` when it is done, or
`{"error": "one sentence"}` instead of either. After the identity line the
workload waits for a line `go` on stdin; end of input means "cancelled".
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import asdict
from typing import Any

from runner.workloads import WORKDIR_ENV, Identity, WorkloadError, get

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


def main(argv: list[str]) -> int:
    if len(argv) not in (1, 2):
        _send({"error": "usage: python -m runner.workloads KIND [PARAMS_JSON]."})
        return 2
    name = argv[0]
    try:
        params = json.loads(argv[1]) if len(argv) == 2 else {}
    except json.JSONDecodeError as exc:
        _send({"error": f"the workload params are not valid JSON ({exc.msg})."})
        return 2
    # The runner validated the params before starting us (with jsonschema,
    # which an unprivileged copy of this code cannot import); here only the name.
    found = get(name)
    if found is None:
        _send({"error": f"there is no workload {name!r}."})
        return 2
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
    _send({"facts": facts})
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
