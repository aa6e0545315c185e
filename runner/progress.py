"""The learner's progress per lesson, kept in one JSON file.

Writes are atomic (a temp file in the same folder, fsync, rename), so a
crash or kill mid-write leaves the old or the new file, never half of one.
A file that cannot be understood is moved aside and reported, never
silently replaced by an empty progress.

A change is a read-modify-write under a lock (`<file>.lock`, an flock via
the filelock library), so two courses at once (the TUI and `course hint`
in another terminal) cannot lose each other's updates:

    with progress.update() as fresh:   # re-read from disk, locked
        fresh.reveal_hint(lesson.id, len(lesson.hints))
    # saved on leaving the block (not if it raised); `progress` is current too

The course may run as root in the learner's folder, so neither the file,
its lock nor its folder may be a symbolic link (ProgressError).
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import filelock

from runner.model import Lesson, Report
from runner.workspace import give_to_invoking_user, make_dirs

PROGRESS_VERSION = 1
LOCK_TIMEOUT = 10.0  # seconds; an update holds the lock for milliseconds
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
    # What passed, the last time it did: course.yaml's version and lesson_hash(), so a
    # course update that changes the lesson shows as "passed (older version)".
    passed_version: str | None = None
    passed_hash: str | None = None
    # Where it last passed: "host", or "vm:<kernel release>" for a lesson run in
    # the stock-kernel VM, so a list on a kernel that cannot run it says so.
    passed_where: str | None = None

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
        for name in ("passed_version", "passed_hash", "passed_where"):
            if getattr(state, name) is not None and not isinstance(getattr(state, name), str):
                raise ValueError(f"{name} is not a string")
        return state

    def outdated(self, content_hash: str) -> bool:
        """Passed, but the lesson has changed since (a course update). A pass
        recorded before hashes were kept cannot tell, and is not outdated."""
        return (
            self.status == "passed"
            and self.passed_hash is not None
            and self.passed_hash != content_hash
        )


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
        _refuse_links(path)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
            with os.fdopen(fd, "rb") as handle:
                raw = handle.read()
        except FileNotFoundError:
            return cls(path), None
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise _link_error(path) from None
            raise ProgressError(
                f"Cannot read your progress file {path} ({exc.strerror}); "
                "check its permissions or pass another --workspace."
            ) from None
        try:
            return cls(path, parse_progress(raw.decode("utf-8"))), None
        except (ValueError, TypeError) as exc:  # bad JSON, bad UTF-8, wrong shape
            moved = _aside(path)
            message = (
                f"Your progress file {path} could not be read ({exc}); it was moved to "
                f"{moved} and progress starts afresh."
            )
            return cls(path), ProgressWarning(message, moved)

    @contextmanager
    def update(
        self,
        on_warning: Callable[[ProgressWarning], None] | None = None,
        *,
        timeout: float = LOCK_TIMEOUT,
    ) -> Iterator[Progress]:
        """Lock the file, yield the progress as it is on disk now, save it
        when the block ends without an exception, unlock. This object then
        holds the saved state too. A corrupt file is moved aside as in
        load() and `on_warning` is told. ProgressError when the lock is not
        free within `timeout` seconds or the file cannot be read or saved."""
        with locked(self.path, timeout):
            fresh, warning = Progress.load(self.path)
            if warning is not None and on_warning is not None:
                on_warning(warning)
            yield fresh
            fresh.save()
        self.lessons = fresh.lessons

    def state(self, lesson_id: str) -> LessonState:
        """The state of a lesson (not-started when it was never run)."""
        return self.lessons.get(lesson_id) or LessonState()

    def _entry(self, lesson_id: str) -> LessonState:
        return self.lessons.setdefault(lesson_id, LessonState())

    def record(
        self,
        report: Report,
        *,
        course_version: str | None = None,
        content_hash: str | None = None,
    ) -> LessonState:
        """Count one graded attempt; the status follows the latest run, while
        `passed_at` keeps the first pass. A pass records which course version
        and lesson content (lesson_hash) it was."""
        entry = self._entry(report.lesson)
        now = _now()
        entry.status = _status_of(report)
        entry.score = report.score
        entry.max_score = report.max_score
        entry.attempts += 1
        entry.last_run = now
        if entry.status == "passed":
            if entry.passed_at is None:
                entry.passed_at = now
            entry.passed_version = course_version
            entry.passed_hash = content_hash
            entry.passed_where = report.where
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
        _refuse_links(self.path)
        try:
            write_atomically(self.path, data)
        except OSError as exc:
            raise ProgressError(
                f"Cannot save your progress to {self.path} ({exc.strerror}); "
                "check the folder's permissions or pass another --workspace."
            ) from None


def lesson_hash(lesson: Lesson) -> str:
    """sha256 over what decides a pass: lesson.yaml, the starter, the
    solution and the learner tests (names and bytes, in a fixed order). The
    lesson text is left out: a reworded paragraph does not undo a pass."""
    lesson_dir = Path(lesson.dir)
    files = [("lesson.yaml", lesson_dir / "lesson.yaml"), ("starter", Path(lesson.starter))]
    if lesson.solution is not None:
        files.append(("solution", Path(lesson.solution)))
    if lesson.tests_dir is not None and Path(lesson.tests_dir).is_dir():
        tests = Path(lesson.tests_dir)
        files += [
            (f"tests/{p.relative_to(tests).as_posix()}", p)
            for p in sorted(tests.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        ]
    digest = hashlib.sha256()
    for name, path in files:
        try:
            data = path.read_bytes()
        except OSError:
            data = b"\0missing"
        digest.update(f"{name}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _link_error(path: Path) -> ProgressError:
    return ProgressError(
        f"{path} is a symbolic link, which the course does not follow (it may run as root); "
        "replace it with a real file or folder, or pass another --workspace."
    )


def _refuse_links(path: Path) -> None:
    """The progress file, its lock and its folder must not be links (the
    workspace root above them may be)."""
    for candidate in (path.parent, path, _lock_path(path)):
        if candidate.is_symlink():
            raise _link_error(candidate)


def _lock_path(path: Path) -> Path:
    return path.with_name(f"{path.name}.lock")


@contextmanager
def locked(path: Path, timeout: float = LOCK_TIMEOUT) -> Iterator[None]:
    lock_path = _lock_path(path)
    try:
        make_dirs(path.parent)
    except OSError as exc:
        raise ProgressError(
            f"Cannot create the folder of your progress file {path} ({exc.strerror}); "
            "check its permissions or pass another --workspace."
        ) from None
    _refuse_links(path)
    created = not lock_path.exists()
    lock = filelock.FileLock(lock_path, timeout=timeout, mode=0o600)
    try:
        lock.acquire()
    except filelock.Timeout:
        raise ProgressError(
            f"Your progress file {path} stayed locked by another course for {timeout:g} s; "
            f"close the other course (or remove {lock_path} if none is running) and retry."
        ) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _link_error(lock_path) from None
        raise ProgressError(
            f"Cannot lock your progress file {path} ({exc.strerror}); "
            "check the folder's permissions or pass another --workspace."
        ) from None
    try:
        if created:
            give_to_invoking_user(lock_path)  # so the learner's own runs can lock it too
        yield
    finally:
        lock.release()


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


def parse_progress(text: str) -> dict[str, LessonState]:
    raw = json.loads(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("lessons"), dict):
        raise ValueError("it has no 'lessons' mapping")
    if raw.get("version") != PROGRESS_VERSION:
        raise ValueError(f"version {raw.get('version')!r} is not {PROGRESS_VERSION}")
    return {str(k): LessonState.from_dict(v) for k, v in raw["lessons"].items()}


def write_atomically(path: Path, text: str | bytes) -> None:
    """Replace `path` with `text` so readers see the old or the new file only."""
    make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
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
