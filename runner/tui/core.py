"""The TUI's only door into the core: run + grade, host facts, doctor text,
error explanations. `real_core()` wires the real modules; tests hand
`build_app` a Core whose `run` needs no root. Nothing here imports Textual."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.model import Lesson, Line, Recording, Report

OnLine = Callable[[str, Line], None]  # (step id, line), called from a worker thread


@dataclass
class Outcome:
    recording: Recording
    report: Report


@dataclass
class Core:
    run: Callable[[Lesson, Path, OnLine], Outcome]
    detect_host: Callable[[], dict[str, Any]]
    doctor_text: Callable[[dict[str, Any]], str]
    explain: Callable[[str, str | None], list[Any]]  # -> runner.explain.Hint-like


def real_core(python: str = sys.executable, cache_dir: Path | None = None) -> Core:
    """The real thing: runner.execute, runner.grade, runner.host, runner.explain.
    Imported lazily so the TUI starts before the first (slow) host probe;
    host facts are cached in `cache_dir` per boot by runner.host."""
    lock = threading.Lock()
    cached: dict[str, Any] = {}

    def detect_host() -> dict[str, Any]:
        with lock:  # one detection per session; it loads BPF programs to decide
            if "facts" not in cached:
                from runner.host import detect

                cached["facts"] = detect(cache_dir=cache_dir)
            return cached["facts"]

    def run(lesson: Lesson, probe: Path, on_line: OnLine) -> Outcome:
        from runner.execute import run_lesson
        from runner.grade import grade

        recording = run_lesson(lesson, probe, python=python, host=detect_host(), on_line=on_line)
        return Outcome(recording, grade(lesson, recording))

    def doctor_text(facts: dict[str, Any]) -> str:
        from runner.host import format_doctor

        return format_doctor(facts)

    def explain(stderr: str, source: str | None) -> list[Any]:
        from runner.explain import explain as explain_errors

        return explain_errors(stderr, source)

    return Core(run=run, detect_host=detect_host, doctor_text=doctor_text, explain=explain)


def unsupported_reason(lesson: Lesson, facts: dict[str, Any] | None) -> str | None:
    """Why this host cannot run the lesson (first missing feature), or None."""
    features = (facts or {}).get("features") or {}
    for need in lesson.requires:
        state = features.get(need)
        if state is not None and not state.get("ok", False):
            return state.get("reason") or f"this kernel cannot do {need}"
    return None
