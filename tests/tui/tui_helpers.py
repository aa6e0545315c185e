"""Helpers for driving the real app from `build_app`.

The course is built from model types over files in tests/tui/fixtures (the
TUI takes a Course; loading YAML is runner.course.load's business and tested
there). Workspace and Progress are the real ones in a temporary folder.
Only the core's run is scripted, because a real run needs root and BPF:
the tmux end-to-end test (test_e2e_tmux.py) uses the real core."""

from __future__ import annotations

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
from runner.tui.core import Core, Outcome
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
            _lesson(1, "alpha", "Alpha", hints=["First hint.", "Second hint."]),
            _lesson(2, "perf-sampling", "Perf sampling"),
            _lesson(3, "long", "Long", requires=["kprobes"]),
        ],
    )


def report_for(lesson: Lesson, status: str) -> Report:
    """A graded report: both checks pass, or `events` fails."""
    events_ok = status == "pass"
    checks = [
        CheckResult("banner", "output.line", "pass", "The banner was printed.", 1, 1, 1, 1),
        CheckResult(
            "events",
            "events.match",
            "pass" if events_ok else "fail",
            "Lines for the workload's pid." if events_ok else "No line had the workload's pid.",
            ">= 3 lines with pid 4242",
            "3 lines" if events_ok else "0 lines",
            2 if events_ok else 0,
            2,
            "" if events_ok else "Print the pid with bpf_get_current_pid_tgid() >> 32.",
        ),
    ]
    score = sum(c.points for c in checks)
    return Report(lesson.id, "pass" if events_ok else "fail", score, 3, checks)


@dataclass
class ScriptedCore:
    """Stands in for runner.live.execute + runner.grade: streams `lines` through
    on_line from the worker thread, then returns a report with `status`."""

    status: str = "pass"
    lines: list[str] = field(default_factory=lambda: ["Attached to openat", "event pid=4242"])
    stderr: list[str] = field(default_factory=list)
    raises: Exception | None = None
    facts: dict[str, Any] = field(
        default_factory=lambda: {
            "features": {
                "kprobes": {"ok": False, "reason": "this kernel was built without kprobes"},
                "tracepoints": {"ok": True, "reason": ""},
            }
        }
    )
    calls: list[tuple[str, Path]] = field(default_factory=list)
    vm_calls: list[str] = field(default_factory=list)
    explained: list[str] = field(default_factory=list)
    release: threading.Event | None = None  # when set, a run waits for it
    cancelled: bool = False

    def run(
        self,
        lesson: Lesson,
        probe: Path,
        on_line: Callable[[str, Line], None],
        on_event: Callable[[str, str], None],
    ) -> Outcome:
        self.calls.append((lesson.id, probe))
        on_event("main", "started")
        if self.release is not None:
            self.release.wait(30)
        if self.raises is not None:
            raise self.raises
        kept = []
        for i, text in enumerate(self.lines):
            line = Line(i * 0.001, "out", text)
            on_line("main", line)
            kept.append(line)
        for text in self.stderr:
            line = Line(0.5, "err", text)
            on_line("main", line)
            kept.append(line)
        recording = Recording(
            lesson.id,
            str(probe),
            probe.read_text(),
            runs={"main": Run("main", lines=kept[:20000], stdout_lines=len(self.lines))},
        )
        return Outcome(recording, report_for(lesson, self.status))

    def run_vm(
        self,
        lesson: Lesson,
        probe: Path,
        on_line: Callable[[str, Line], None],
        on_event: Callable[[str, str], None],
    ) -> Outcome:
        self.vm_calls.append(lesson.id)
        on_line("vm", Line(0.0, "err", "booting the VM kernel 6.1.0-56-amd64"))
        return self.run(lesson, probe, on_line, on_event)

    def explain(self, stderr: str, source: str | None) -> list[Any]:
        self.explained.append(stderr)

        @dataclass
        class Hint:
            title: str
            cause: str
            fix: str
            line: int | None

        return [Hint("Kernel headers missing", "bcc found no headers.", "Run setup.sh.", None)]

    def core(self) -> Core:
        return Core(
            run=self.run,
            detect_host=lambda: self.facts,
            doctor_text=lambda facts: f"kernel: fixture\nkprobes: {facts['features']['kprobes']}",
            explain=self.explain,
            run_vm=self.run_vm,
            cancel=self.cancel,
        )

    def cancel(self) -> None:
        """What quitting mid-run asks of the core: stop the run (here: release it)."""
        self.cancelled = True
        if self.release is not None:
            self.release.set()


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
