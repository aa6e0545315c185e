"""What the application layer's actions return, for both front ends."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runner.model import Recording, Report
from runner.present.notes import Note
from runner.session.decide import doctor_text, env_error


@dataclass
class CheckOutcome:
    """One check or run of a lesson, as both front ends show it."""

    recording: Recording
    report: Report | None  # None for `course run` (not scored)
    notes: list[Note] = field(default_factory=list)

    @property
    def env_error(self) -> str | None:
        return env_error(self.recording)


@dataclass(frozen=True)
class LessonRow:
    id: str
    number: int
    title: str
    status: str  # passed | failing | not-started | unsupported
    requires: list[str]
    unsupported_reason: str | None
    score: int
    max_score: int
    outdated: bool = False  # passed, but the lesson changed since (a course update)
    passed_where: str | None = None  # "host", "vm:<release>", None: not recorded
    minutes: int | None = None  # the lesson's metadata (lesson.yaml), when given
    difficulty: str | None = None
    concepts: list[str] = field(default_factory=list)
    prerequisites: list[str] = field(default_factory=list)
    tested_on: str | None = None  # "tested on 6.1, 6.12"; None: the course has no tested-on.yaml
    tested_warning: str | None = None  # this kernel is outside the kernels it passed on

    @property
    def meta_shown(self) -> str:
        """ "~20 min · beginner", or what of it the lesson gives ("" for none)."""
        parts = [f"~{self.minutes} min" if self.minutes else "", self.difficulty or ""]
        return " · ".join(p for p in parts if p)

    @property
    def passed_at_shown(self) -> str:
        """Where a pass happened, when this kernel could not have run it:
        "in the VM (6.1.0-57-amd64)", "elsewhere", or "" (here)."""
        if self.status != "passed" or not self.passed_where:
            return "elsewhere" if self.status == "passed" and self.unsupported_reason else ""
        if self.passed_where.startswith("vm:"):
            return f"in the VM ({self.passed_where.removeprefix('vm:')})"
        return "elsewhere" if self.unsupported_reason and self.passed_where != "host" else ""

    @property
    def shown_status(self) -> str:
        """The status as a list shows it."""
        shown = "passed (older version)" if self.outdated else self.status
        return f"{shown} {self.passed_at_shown}".strip()

    def to_dict(self) -> dict[str, Any]:
        """The row of `course list --json`."""
        return {
            "id": self.id,
            "title": self.title,
            "status": self.status,
            "requires": self.requires,
            "unsupported_reason": self.unsupported_reason,
            "score": self.score,
            "max_score": self.max_score,
            "outdated": self.outdated,
            "passed_where": self.passed_where,
            "minutes": self.minutes,
            "difficulty": self.difficulty,
            "concepts": self.concepts,
            "prerequisites": self.prerequisites,
            "tested_on": self.tested_on,
            "tested_warning": self.tested_warning,
        }


@dataclass(frozen=True)
class Hints:
    shown: list[str]  # the hints revealed so far, in order
    total: int
    revealed: bool  # this call revealed one more

    @property
    def all_shown(self) -> bool:
        return len(self.shown) >= self.total


@dataclass(frozen=True)
class SolutionGate:
    text: str | None  # the reference solution, when it may be shown
    refusal: str | None = None  # "locked" (not passed yet) | "missing" (none exists)
    reason: str = ""  # one sentence, no advice


@dataclass(frozen=True)
class Doctor:
    facts: dict[str, Any]
    tracefs_advice: str | None  # what to run when tracefs/debugfs cannot be mounted
    # the course's tested-on.yaml as lines (runner.present.doctor.tested_on_lines)
    tested_on: list[str] = field(default_factory=list)
    tested_on_data: dict[str, Any] | None = None  # for --json: the file, warnings, error

    @property
    def text(self) -> str:
        """The doctor table (runner.live.host.format_doctor)."""
        return doctor_text(self.facts)
