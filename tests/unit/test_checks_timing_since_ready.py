"""timing.since_ready on recorded runs shaped like real ones from the VM."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import checks
from checks.context import Context
from runner.course.load import load_lesson
from runner.grade import grade
from runner.model import Line, Recording, Run

REPO = Path(__file__).resolve().parents[2]

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
        id="main",
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


# ---------------------------------------------------------------- a real recording

REAL = Path(__file__).parent / "recordings" / "hello_kprobe_vm.json"


def real_main_run() -> tuple[Recording, Run]:
    """Lesson 01's solution, recorded in the stock-kernel VM (`course check 01
    --vm --record`): the main run, with the workload."""
    recording = Recording.from_dict(json.loads(REAL.read_text()))
    return recording, recording.runs["main"]


def real_timed_run() -> tuple[Recording, Run]:
    """The same recording's `-d 2` run: seconds of compile under emulation
    before the banner, then two seconds of tracing."""
    recording = Recording.from_dict(json.loads(REAL.read_text()))
    return recording, recording.runs["duration"]


REAL_PARAMS = {"min": 1.9, "max": 4.5}  # lesson 01's duration check


def judge_real(run: Run, recording: Recording):
    found = checks.get("timing.since_ready")
    assert found is not None
    return found.func(dict(REAL_PARAMS), Context(recording, run))


def test_the_real_vm_run_passes_although_the_whole_run_took_far_longer_than_n():
    recording, run = real_timed_run()
    assert run.duration > 4.5 + 3  # a whole-run duration check could never judge this run
    assert judge_real(run, recording).status == "pass"


def test_the_real_vm_run_fails_when_its_clock_started_before_the_compile():
    # The same run, had the probe counted -d 2 from process start: it would
    # have ended long before the banner (0.3 s after it, at most).
    recording, run = real_timed_run()
    early = dataclasses.replace(run, duration=run.ready_at + 0.3)
    assert judge_real(early, recording).status == "fail"


def test_lesson_01_as_written_passes_the_real_solution_recording():
    """lesson.yaml's checks against what the solution really printed in the VM:
    catches a pattern or template in the YAML drifting from the real output."""
    lesson = load_lesson(REPO, "01-hello-kprobe")
    recording, _ = real_main_run()
    report = grade(lesson, recording)
    failing = {c.id: c.message for c in report.checks if c.status != "pass"}
    assert report.status == "pass", failing


def test_lesson_01_fails_a_recording_whose_call_lines_are_someone_elses():
    """The same real output, but the workload was another process: its 5
    opens are nowhere in the output, so the calls check must fail."""
    lesson = load_lesson(REPO, "01-hello-kprobe")
    recording, run = real_main_run()
    assert run.workload is not None
    run.workload.pid += 100_000
    report = grade(lesson, recording)
    assert {c.id: c.status for c in report.checks}["calls"] == "fail"
