"""The learner's progress per lesson, kept in one JSON file.

Writes are atomic (a temp file in the same folder, fsync, rename), so a
crash or kill mid-write leaves the old or the new file, never half of one.
A file that cannot be understood is moved aside and reported, never
silently replaced by an empty progress.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from runner.model import Report
from runner.workspace import give_to_invoking_user, make_dirs

PROGRESS_VERSION = 1
LessonStatus = Literal["not-started", "failing", "passed", "unsupported"]
LESSON_STATUSES = ("not-started", "failing", "passed", "unsupported")


class ProgressError(Exception):
    """The progress file cannot be read or written (one sentence)."""


@dataclass(frozen=True)
class ProgressWarning:
    """Something the learner should know about their progress file."""

    message: str
    moved_to: Path | None = None

    def __str__(self) -> str:
        return self.message


@dataclass
class LessonState:
    status: LessonStatus = "not-started"
    score: int = 0
    max_score: int = 0
    attempts: int = 0
    last_run: str | None = None  # ISO 8601, UTC
    hints_revealed: int = 0
    passed_at: str | None = None  # the first time the lesson passed

    @classmethod
    def from_dict(cls, raw: Any) -> LessonState:
        """Strict: anything unexpected means the file is not ours to trust."""
        if not isinstance(raw, dict):
            raise ValueError("a lesson entry is not a mapping")
        names = {f.name for f in fields(cls)}
        if set(raw) - names:
            raise ValueError(f"unknown keys {sorted(set(raw) - names)}")
        state = cls(**raw)
        if state.status not in LESSON_STATUSES:
            raise ValueError(f"unknown status {state.status!r}")
        for name in ("score", "max_score", "attempts", "hints_revealed"):
            value = getattr(state, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{name} is not a count")
        for name in ("last_run", "passed_at"):
            if getattr(state, name) is not None and not isinstance(getattr(state, name), str):
                raise ValueError(f"{name} is not a time")
        return state


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _status_of(report: Report) -> LessonStatus:
    if report.status == "pass":
        return "passed"
    if report.status == "unsupported":
        return "unsupported"
    return "failing"  # fail, error and timeout all mean "not there yet"


@dataclass
class Progress:
    path: Path
    lessons: dict[str, LessonState] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> tuple[Progress, ProgressWarning | None]:
        """Read the progress file. A missing file is a fresh start; a corrupt
        one is moved to `<name>.corrupt-<timestamp>` and reported."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(path), None
        except OSError as exc:
            raise ProgressError(
                f"Cannot read your progress file {path} ({exc.strerror}); "
                "check its permissions or pass another --workspace."
            ) from None
        try:
            return cls(path, _parse(raw.decode("utf-8"))), None
        except (ValueError, TypeError) as exc:  # bad JSON, bad UTF-8, wrong shape
            moved = _aside(path)
            message = (
                f"Your progress file {path} could not be read ({exc}); it was moved to "
                f"{moved} and progress starts afresh."
            )
            return cls(path), ProgressWarning(message, moved)

    def state(self, lesson_id: str) -> LessonState:
        """The state of a lesson (not-started when it was never run)."""
        return self.lessons.get(lesson_id) or LessonState()

    def _entry(self, lesson_id: str) -> LessonState:
        return self.lessons.setdefault(lesson_id, LessonState())

    def record(self, report: Report) -> LessonState:
        """Count one graded attempt; the status follows the latest run, while
        `passed_at` keeps the first pass."""
        entry = self._entry(report.lesson)
        now = _now()
        entry.status = _status_of(report)
        entry.score = report.score
        entry.max_score = report.max_score
        entry.attempts += 1
        entry.last_run = now
        if entry.status == "passed" and entry.passed_at is None:
            entry.passed_at = now
        return entry

    def reveal_hint(self, lesson_id: str, available: int | None = None) -> int:
        """Reveal one more hint; returns how many are revealed now (capped at
        `available` + 1 so callers can tell "no more hints")."""
        entry = self._entry(lesson_id)
        if available is None or entry.hints_revealed <= available:
            entry.hints_revealed += 1
        return entry.hints_revealed

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": PROGRESS_VERSION,
            "lessons": {k: asdict(v) for k, v in sorted(self.lessons.items())},
        }

    def save(self) -> None:
        """Write atomically: temp file in the same folder, fsync, rename."""
        data = json.dumps(self.to_dict(), indent=2) + "\n"
        try:
            write_atomically(self.path, data)
        except OSError as exc:
            raise ProgressError(
                f"Cannot save your progress to {self.path} ({exc.strerror}); "
                "check the folder's permissions or pass another --workspace."
            ) from None


def _aside(path: Path) -> Path:
    """Move a corrupt file out of the way, keeping it for the learner."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    moved = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while moved.exists():
        n += 1
        moved = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    try:
        path.rename(moved)
    except OSError as exc:
        raise ProgressError(
            f"Your progress file {path} is corrupt and cannot be moved aside "
            f"({exc.strerror}); move or delete it yourself."
        ) from None
    return moved


def _parse(text: str) -> dict[str, LessonState]:
    raw = json.loads(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("lessons"), dict):
        raise ValueError("it has no 'lessons' mapping")
    if raw.get("version") != PROGRESS_VERSION:
        raise ValueError(f"version {raw.get('version')!r} is not {PROGRESS_VERSION}")
    return {str(k): LessonState.from_dict(v) for k, v in raw["lessons"].items()}


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` with `text` so readers see the old or the new file only."""
    make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        give_to_invoking_user(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # The rename itself is durable only once the folder is synced.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
