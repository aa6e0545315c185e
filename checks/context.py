"""What a check kind sees: the recording, the run it reads, and a way to
fill `{workload.pid}`-style templates from the ground truth (runner.templates)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner import templates
from runner.model import Lesson, Recording, Run

# The one template error; kept here because check kinds import it from checks.
TemplateError = templates.TemplateError


@dataclass
class Context:
    recording: Recording
    run: Run | None  # None for checks that need no run (static ones)
    lesson: Lesson | None = None  # None when re-grading without the course

    @property
    def source(self) -> str:
        return self.recording.probe_source

    @property
    def lesson_dir(self) -> Path | None:
        return self.lesson.dir if self.lesson else None

    def template_values(self) -> dict[str, Any]:
        """What the roots a check's params may use (runner.templates) stand for."""
        host = self.recording.host
        if self.lesson and self.lesson.kernel_functions and "kernel_functions" not in host:
            # a recording from before the lesson named alternatives: its first names
            chosen = {role: names[0] for role, names in self.lesson.kernel_functions.items()}
            host = {**host, "kernel_functions": chosen}
        return {
            "workload": self.run.workload if self.run else None,
            "run": self.run,
            "host": host,
            "runs": self.recording.runs,
        }

    def lookup(self, dotted: str) -> Any:
        """Resolve `workload.pid`, `workload.facts.opens`, `run.duration`,
        `host.kernel_release`, `runs.<id>.exit_code` ..."""
        return templates.lookup(dotted, self.template_values())

    def expand(self, value: Any) -> Any:
        """Fill templates. A string that is exactly one placeholder keeps the
        value's type (so `"{workload.pid}"` becomes an int)."""
        return templates.expand(value, self.template_values())
