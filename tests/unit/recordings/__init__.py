"""Builders for recorded runs used by the check-kind unit tests: the same
dataclasses the runner records, filled by hand or loaded from JSON here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import checks
from checks.context import Context
from runner.model import (
    Lesson,
    Line,
    Recording,
    Run,
    RunSpec,
    Verdict,
    WorkloadTruth,
)

HERE = Path(__file__).parent
PID = 4242
COMM = "ebpfc-open"


def truth(pid: int = PID, comm: str = COMM, **facts: Any) -> WorkloadTruth:
    """A workload's ground truth; its CLOCK_MONOTONIC span is 2e9..3e9 ns."""
    return WorkloadTruth(
        kind="open-marker",
        pid=pid,
        tid=pid,
        comm=comm,
        started_ns=2_000_000_000,
        ended_ns=3_000_000_000,
        facts=facts,
    )


def make_run(
    out: Sequence[str] = (),
    err: Sequence[str] = (),
    *,
    run_id: str = "main",
    **fields: Any,
) -> Run:
    """A finished run with these stdout then stderr lines (exact counts set)."""
    lines = [Line(0.1 * i, "out", text) for i, text in enumerate(out)]
    lines += [Line(0.1 * (len(out) + i), "err", text) for i, text in enumerate(err)]
    defaults: dict[str, Any] = {
        "stdout_lines": len(out),
        "stderr_lines": len(err),
        "exit_code": 0,
        "duration": 5.2,
        "ready": True,
        "stop_reason": "exited",
        "started_ns": 1_000_000_000,
        "ended_ns": 7_000_000_000,
    }
    defaults.update(fields)
    return Run(id=run_id, lines=lines, **defaults)


def make_lesson(directory: Path, text: str = "", run_specs: Sequence[RunSpec] = ()) -> Lesson:
    """A lesson whose text (README.md in `directory`) is `text`."""
    (directory / "README.md").write_text(text, encoding="utf-8")
    return Lesson(
        id="99-test",
        number=99,
        slug="test",
        title="Test",
        dir=directory,
        text=directory / "README.md",
        starter=directory / "probe.py",
        solution=None,
        tests_dir=None,
        runs=list(run_specs),
    )


def make_ctx(run: Run | None = None, *, source: str = "", lesson: Lesson | None = None) -> Context:
    runs = {run.id: run} if run else {}
    recording = Recording(
        lesson="99-test",
        probe_path="probe.py",
        probe_source=source,
        host={"arch": "x86_64"},
        runs=runs,
    )
    return Context(recording=recording, run=run, lesson=lesson)


def judge(kind_name: str, params: dict[str, Any], ctx: Context) -> Verdict:
    """Run a registered kind the way runner.grade does."""
    found = checks.get(kind_name)
    assert found is not None, f"kind {kind_name} is not registered"
    return found.func(params, ctx)


def load_recording(name: str) -> Recording:
    """A recording saved as JSON beside this module."""
    return Recording.from_dict(json.loads((HERE / name).read_text()))
