"""Helpers for driving the real app from `build_app`.

The course is built from model types over files in tests/tui/fixtures (the
TUI takes a Course; loading YAML is runner.course.load's business and tested
there). Workspace and Progress are the real ones in a temporary folder.
Only the session's runner (run_lesson, the VM, the grade) and its host
facts are scripted, because a real run needs root and BPF: the tmux
end-to-end tests (test_e2e_tmux*.py) use the real session."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.model import (
    CheckResult,
    CheckSpec,
    Course,
    Lesson,
    Line,
    Recording,
    Report,
    Run,
)
from runner.progress import Progress
from runner.session import Session
from runner.workspace import Workspace

FIXTURES = Path(__file__).parent / "fixtures" / "lessons"


def _lesson(number: int, slug: str, title: str, **extra: Any) -> Lesson:
    folder = FIXTURES / f"{number:02d}-{slug}"
    solution = folder / "solution.py"
    return Lesson(
        id=f"{number:02d}-{slug}",
        number=number,
        slug=slug,
        title=title,
        dir=folder,
        text=folder / "README.md",
        starter=folder / "probe.py",
        solution=solution if solution.exists() else None,
        tests_dir=None,
        checks=[
            CheckSpec("banner", "output.line", points=1),
            CheckSpec("events", "events.match", points=2),
        ],
        **extra,
    )


def fixture_course() -> Course:
    return Course(
        "Fixture course",
        "1",
        FIXTURES.parent,
        [
            _lesson(
                1,
                "alpha",
                "Alpha",
                hints=["First hint.", "Second hint."],
                minutes=20,
                difficulty="beginner",
            ),
            _lesson(2, "perf-sampling", "Perf sampling"),
            _lesson(3, "long", "Long", requires=["kprobes"]),
        ],
    )


def report_for(lesson: Lesson, status: str) -> Report:
    """A graded report: both checks pass, or `events` fails."""
    events_ok = status == "pass"
    checks = [
        CheckResult(
            "banner",
            "output.line",
            "pass",
            "The banner was printed.",
            {"pattern": "^Attached", "min": 1, "max": None},
            {"matching": 1, "lines": 3, "examples": ["Attached to openat"]},
            1,
            1,
        ),
        CheckResult(
            "events",
            "events.match",
            "pass" if events_ok else "fail",
            "Lines for the workload's pid." if events_ok else "No line had the workload's pid.",
            {"where": {"pid": 4242}, "min": 3, "max": None},
            {"matching": 3 if events_ok else 0, "other": 0, "lines": 3, "examples": []},
            2 if events_ok else 0,
            2,
            "" if events_ok else "Print the pid with bpf_get_current_pid_tgid() >> 32.",
            "Print",  # the heading of 01-alpha's text that teaches it
        ),
    ]
    score = sum(c.points for c in checks)
    return Report(lesson.id, "pass" if events_ok else "fail", score, 3, checks)


# Host facts as runner.live.host.detect reports them on a cloud kernel
# without kprobes (recorded here, trimmed to what the doctor table reads).
FACTS: dict[str, Any] = {
    "kernel_release": "6.18.0-fixture",
    "arch": "x86_64",
    "root": True,
    "sudo": "root",
    "bcc_version": "0.29.1",
    "headers": "exact",
    "headers_path": "/lib/modules/6.18.0-fixture/build",
    "tracefs": True,
    "debugfs": True,
    "btf": True,
    "lockdown": "none",
    "kvm": {"ok": False, "reason": "/dev/kvm is missing"},
    "features": {
        "kprobes": {"ok": False, "reason": "this kernel was built without kprobes"},
        "tracepoints": {"ok": True, "reason": ""},
    },
}


@dataclass
class ScriptedRunner:
    """Stands in for runner.live.execute.run_lesson (and the VM, and
    runner.grade): streams `lines` through on_line from the worker thread,
    then the grade returns a report with `status`. Everything else is the
    real runner.session.Session."""

    status: str = "pass"
    lines: list[str] = field(default_factory=lambda: ["Attached to openat", "event pid=4242"])
    stderr: list[str] = field(default_factory=list)
    raises: Exception | None = None
    recording: Recording | None = None  # returned as is when set
    grade_real: bool = False  # grade with runner.grade instead of report_for
    facts: dict[str, Any] = field(default_factory=lambda: json.loads(json.dumps(FACTS)))
    calls: list[tuple[str, Path]] = field(default_factory=list)
    vm_calls: list[str] = field(default_factory=list)
    release: threading.Event | None = None  # when set, a run waits for it
    cancel_event: threading.Event | None = None  # the session's, handed to each run

    def run_lesson(
        self,
        lesson: Lesson,
        probe: Path,
        *,
        python: str,
        host: dict[str, Any],
        on_line: Callable[[str, Line], None] | None = None,
        on_event: Callable[[str, str], None] | None = None,
        only: list[str] | None = None,
        cancel: threading.Event | None = None,
        stop_after: Callable[..., bool] | None = None,
    ) -> Recording:
        self.calls.append((lesson.id, probe))
        self.cancel_event = cancel
        on_line = on_line or (lambda _step, _line: None)
        if on_event is not None:
            on_event("main", "started")
        if self.release is not None:
            self.release.wait(30)
        if self.raises is not None:
            raise self.raises
        if self.recording is not None:
            for run in self.recording.runs.values():
                for line in run.lines:
                    on_line(run.id, line)
            return self.recording
        kept = []
        for i, text in enumerate(self.lines):
            line = Line(i * 0.001, "out", text)
            on_line("main", line)
            kept.append(line)
        for text in self.stderr:
            line = Line(0.5, "err", text)
            on_line("main", line)
            kept.append(line)
        return Recording(
            lesson.id,
            str(probe),
            probe.read_text(),
            runs={"main": Run("main", lines=kept[:20000], stdout_lines=len(self.lines))},
        )

    def run_in_vm(
        self,
        course_dir: Path,
        jobs: list[Any],
        *,
        python: str,
        on_progress: Callable[[str], None] | None = None,
    ) -> dict[str, Recording]:
        course = fixture_course()
        found = {}
        for job in jobs:
            self.vm_calls.append(job.lesson_id)
            if on_progress is not None:
                on_progress("booting the VM kernel 6.1.0-56-amd64")
            lesson = course.lesson(job.lesson_id)
            assert lesson is not None
            found[job.key] = self.run_lesson(lesson, Path(job.probe_path), python=python, host={})
        return found

    def grade(self, lesson: Lesson, recording: Recording) -> Report:
        if self.grade_real:
            from runner.grade import grade

            return grade(lesson, recording)
        return report_for(lesson, self.status)

    @property
    def cancelled(self) -> bool:
        """Whether the session asked the run under way to stop."""
        return self.cancel_event is not None and self.cancel_event.is_set()

    def session(self, workspace: Workspace, course: Course | None = None) -> Session:
        return Session(
            course or fixture_course(),
            workspace,
            run_lesson=self.run_lesson,
            run_in_vm=self.run_in_vm,
            grade=self.grade,
            detect=lambda **_: self.facts,
            needs_password=lambda: False,
            ensure_tracefs=lambda: None,
        )


def saved_progress(workspace: Workspace) -> Progress:
    progress, warning = Progress.load(workspace.progress_path)
    assert warning is None
    return progress


async def wait_until(pilot: Any, condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Let the app work until `condition` holds (a wait, not a timing check)."""
    waited = 0.0
    while not condition():
        if waited > timeout:
            raise AssertionError("the app never reached the expected state")
        await pilot.pause(0.05)
        waited += 0.05
