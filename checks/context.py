"""What a check kind sees: the recording, the run it reads, and a way to
fill `{workload.pid}`-style templates from the ground truth."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.model import Lesson, Recording, Run

_PLACEHOLDER = re.compile(r"\{([a-zA-Z_][\w.]*)\}")


class TemplateError(ValueError):
    """A template names something the recording does not have."""


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

    def lookup(self, dotted: str) -> Any:
        """Resolve `workload.pid`, `workload.facts.opens`, `run.duration`,
        `host.kernel_release`, `runs.<id>.exit_code` ..."""
        parts = dotted.split(".")
        roots: dict[str, Any] = {
            "workload": self.run.workload if self.run else None,
            "run": self.run,
            "host": self.recording.host,
            "runs": self.recording.runs,
        }
        if parts[0] not in roots:
            raise TemplateError(f"unknown template root {parts[0]!r} in {{{dotted}}}")
        value: Any = roots[parts[0]]
        for part in parts[1:]:
            if value is None:
                break
            if isinstance(value, dict):
                if part not in value:
                    raise TemplateError(f"{{{dotted}}}: no {part!r} recorded")
                value = value[part]
            elif hasattr(value, part):
                value = getattr(value, part)
            else:
                raise TemplateError(f"{{{dotted}}}: no {part!r} recorded")
        if value is None:
            raise TemplateError(f"{{{dotted}}} is not known for this run")
        return value

    def expand(self, value: Any) -> Any:
        """Fill templates. A string that is exactly one placeholder keeps the
        value's type (so `"{workload.pid}"` becomes an int)."""
        if isinstance(value, str):
            whole = _PLACEHOLDER.fullmatch(value)
            if whole:
                return self.lookup(whole.group(1))
            return _PLACEHOLDER.sub(lambda m: str(self.lookup(m.group(1))), value)
        if isinstance(value, list):
            return [self.expand(v) for v in value]
        if isinstance(value, dict):
            return {k: self.expand(v) for k, v in value.items()}
        return value
