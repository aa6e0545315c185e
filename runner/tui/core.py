"""The TUI's only door into the core: run + grade, host facts, doctor text,
error explanations. `real_core()` wires the real modules; tests hand
`build_app` a Core whose `run` needs no root. Nothing here imports Textual."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.model import Lesson, Line, Recording, Report
from runner.tui.sudo import needs_password

OnLine = Callable[[str, Line], None]  # (step id, line), called from a worker thread
OnEvent = Callable[[str, str], None]  # (step id, "started"|"ready"|"go"|"stopping"|"done")


@dataclass
class Outcome:
    recording: Recording
    report: Report


RunFn = Callable[[Lesson, Path, OnLine, OnEvent], Outcome]


@dataclass
class Core:
    run: RunFn
    detect_host: Callable[[], dict[str, Any]]
    doctor_text: Callable[[dict[str, Any]], str]
    explain: Callable[[str, str | None], list[Any]]  # -> runner.present.explain.Hint-like
    run_vm: RunFn | None = None  # the same run inside a stock-kernel VM, if offered
    cancel: Callable[[], None] | None = None  # stop the run under way (quit mid-run)


def real_core(
    python: str = sys.executable,
    cache_dir: Path | None = None,
    course_dir: Path | None = None,
) -> Core:
    """The real thing: runner.live.execute, runner.grade, runner.live.host, runner.present.explain.
    Imported lazily so the TUI starts before the first (slow) host probe;
    host facts are cached in `cache_dir` per boot by runner.live.host."""
    lock = threading.Lock()
    cached: dict[str, Any] = {}
    cancelled = threading.Event()

    def detect_host() -> dict[str, Any]:
        with lock:  # detection loads BPF programs to decide: once, unless it lacked root
            facts = cached.get("facts")
            if facts is None or (lacked_privileges(facts) and not needs_password()):
                from runner.live.host import detect

                cached["facts"] = detect(cache_dir=cache_dir)
            return cached["facts"]

    def run(lesson: Lesson, probe: Path, on_line: OnLine, on_event: OnEvent) -> Outcome:
        from runner.grade import grade
        from runner.live.execute import run_lesson

        cancelled.clear()
        recording = run_lesson(
            lesson,
            probe,
            python=python,
            host=detect_host(),
            on_line=on_line,
            on_event=on_event,
            cancel=cancelled,
        )
        return Outcome(recording, grade(lesson, recording))

    def doctor_text(facts: dict[str, Any]) -> str:
        from runner.live.host import format_doctor

        return format_doctor(facts)

    def explain(stderr: str, source: str | None) -> list[Any]:
        from runner.present.explain import explain as explain_errors

        return explain_errors(stderr, source, host=cached.get("facts"))

    def run_vm(lesson: Lesson, probe: Path, on_line: OnLine, on_event: OnEvent) -> Outcome:
        from runner.grade import grade
        from runner.live import vm

        ok, reason = vm.vm_available()
        if not ok:
            raise RuntimeError(f"Cannot use the VM: {reason}")
        started = time.monotonic()

        def progress(message: str) -> None:  # boot and job steps, shown as they come
            on_line("vm", Line(time.monotonic() - started, "err", message))
            on_event("vm", message)

        job = vm.VmJob("job", lesson.id, probe)
        recordings = vm.run_in_vm(course_dir, [job], python=python, on_progress=progress)
        recording = recordings["job"]
        return Outcome(recording, grade(lesson, recording))

    return Core(
        run=run,
        detect_host=detect_host,
        doctor_text=doctor_text,
        explain=explain,
        run_vm=run_vm if course_dir is not None else None,
        cancel=cancelled.set,
    )


def lacked_privileges(facts: dict[str, Any]) -> bool:
    """Facts gathered while sudo wanted a password say nothing about the kernel."""
    bpf = (facts.get("features") or {}).get("bpf") or {}
    return not facts.get("root") and facts.get("sudo") == "password" and not bpf.get("ok")


def unsupported_reason(lesson: Lesson, facts: dict[str, Any] | None) -> str | None:
    """Why this host cannot run the lesson (first missing feature), or None.
    None too when the facts were gathered without root: the kernel is unknown
    until sudo works, and the TUI asks for the password before a run."""
    if facts and lacked_privileges(facts):
        return None
    features = (facts or {}).get("features") or {}
    for need in lesson.requires:
        state = features.get(need)
        if state is not None and not state.get("ok", False):
            return state.get("reason") or f"this kernel cannot do {need}"
    return None
