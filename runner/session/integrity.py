"""The learner's files must come out of a run as they went in.

The probe runs as root in the learner's folder, so it could delete, scribble
over or rewrite `progress.json` (mark every lesson passed and so unlock the
solutions) or remove its own `probe.py`. Before a run the session keeps a
copy of both (`FilesBefore.take`); afterwards `repair()`, under the
progress lock, puts back the progress as it was before the run, keeping
only what another `course` command may legitimately have saved meanwhile
(a hint revealed in a second terminal: hint counts only grow), and a probe
the run removed; it says what it did in one sentence each. A probe that
changed is kept (the learner's editor saves it in watch mode), with a
sentence saying the check graded the version that ran. What the run itself
scored is recorded after this, by the session. A root probe that forges
the file and this copy too is beyond it (README, threat model).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from runner.progress import LessonState, Progress, locked, parse_progress, write_atomically


def _read(path: Path) -> bytes | None:
    """The file's bytes, None when it is missing (links are not followed)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def _lessons(data: bytes | None) -> dict[str, LessonState] | None:
    """The progress in `data`; {} for no file; None when it does not read."""
    if data is None:
        return {}
    try:
        return parse_progress(data.decode("utf-8"))
    except (ValueError, TypeError, UnicodeDecodeError):
        return None


def _with_hints_of(
    before: dict[str, LessonState], now: dict[str, LessonState]
) -> dict[str, LessonState]:
    """The progress before the run, with the hint counts saved meanwhile."""
    merged = dict(before)
    for lesson_id, state in now.items():
        old = merged.get(lesson_id, LessonState())
        if state.hints_revealed > old.hints_revealed:
            merged[lesson_id] = dataclasses.replace(old, hints_revealed=state.hints_revealed)
    return merged


@dataclass(frozen=True)
class FilesBefore:
    progress: Path
    progress_data: bytes | None  # None: no progress yet
    probe: Path
    probe_data: bytes | None

    @classmethod
    def take(cls, progress: Path, probe: Path) -> FilesBefore:
        return cls(progress, _read(progress), probe, _read(probe))

    def repair(self) -> list[str]:
        """Undo what the run did to the learner's files; one sentence each."""
        said = []
        progress = self._repair_progress()
        if progress:
            said.append(progress)
        probe_now = _read(self.probe)
        if self.probe_data is not None and probe_now is None:
            write_atomically(self.probe, self.probe_data)
            said.append(
                f"The run removed your probe {self.probe}; it was restored as it was before "
                "the run."
            )
        elif self.probe_data is not None and probe_now != self.probe_data:
            said.append(
                f"Your probe {self.probe} changed while it ran (by the probe itself or your "
                "editor); this check graded the version that ran."
            )
        return said

    def _repair_progress(self) -> str | None:
        before = _lessons(self.progress_data)
        if before is None:  # unreadable before the run: Progress.load deals with it
            return None
        with locked(self.progress):
            data = _read(self.progress)
            if data == self.progress_data:
                return None
            now = _lessons(data) if data is not None else None
            if now is not None and _with_hints_of(before, now) == now:
                return None  # only hints revealed meanwhile (another course command)
            if now is None and self.progress_data is not None:
                write_atomically(self.progress, self.progress_data)  # byte for byte
            else:
                Progress(self.progress, _with_hints_of(before, now or {})).save()
        what = "removed" if data is None else "left unreadable" if now is None else "changed"
        return (
            f"The run {what} your progress file {self.progress}; it was put back as it was "
            "before the run, so a run can neither lose nor forge progress."
        )
