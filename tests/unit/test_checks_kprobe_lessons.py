"""timing.since_ready on recorded runs shaped like real ones from the VM."""

from __future__ import annotations

import checks
from checks.context import Context
from runner.model import Line, Recording, Run

PARAMS = {"min": 3.8, "max": 7}


def recorded(*, ready_at: float | None, duration: float, stop_reason: str = "exited") -> Run:
    """A lesson-01 run: a slow compile (as under software emulation), the
    banner, some call lines, the goodbye line."""
    lines = []
    if ready_at is not None:
        lines.append(Line(ready_at, "out", "Attached kprobe to: do_sys_openat2"))
        lines += [
            Line(ready_at + 0.5, "out", "[412] ebpfc-opens called do_sys_openat2"),
            Line(duration, "out", "Kprobe detached. Exiting."),
        ]
    return Run(
        scenario="main",
        lines=lines,
        stdout_lines=len(lines),
        exit_code=0 if stop_reason == "exited" else None,
        duration=duration,
        ready=ready_at is not None,
        ready_at=ready_at,
        stop_reason=stop_reason,
    )


def judge(run: Run, params: dict | None = None):
    found = checks.get("timing.since_ready")
    assert found is not None
    recording = Recording(lesson="01-hello-kprobe", probe_path="probe.py", probe_source="")
    recording.runs["main"] = run
    return found.func(dict(PARAMS if params is None else params), Context(recording, run))


def test_passes_when_the_clock_starts_after_attaching():
    verdict = judge(recorded(ready_at=48.2, duration=52.6))
    assert verdict.status == "pass"
    assert verdict.observed == 4.4


def test_fails_when_the_clock_started_before_compiling():
    # -d 4 counted from process start: the compile ate the window.
    verdict = judge(recorded(ready_at=48.2, duration=48.4))
    assert verdict.status == "fail"
    assert "once the probe is attached" in verdict.message
    assert verdict.observed == 0.2


def test_fails_when_the_probe_runs_too_long():
    verdict = judge(recorded(ready_at=1.0, duration=12.0))
    assert verdict.status == "fail"
    assert "stop by itself" in verdict.message


def test_fails_when_the_runner_had_to_stop_it():
    verdict = judge(recorded(ready_at=1.0, duration=6.0, stop_reason="stopped"))
    assert verdict.status == "fail"
    assert "did not end by itself" in verdict.message


def test_fails_without_a_ready_line():
    verdict = judge(recorded(ready_at=None, duration=5.0))
    assert verdict.status == "fail"
    assert "ready line" in verdict.message


def test_inverted_bounds_are_an_error_not_a_verdict():
    verdict = judge(recorded(ready_at=1.0, duration=5.0), {"min": 7, "max": 3})
    assert verdict.status == "error"


def test_missing_bound_is_an_error():
    verdict = judge(recorded(ready_at=1.0, duration=5.0), {"min": 3})
    assert verdict.status == "error"
