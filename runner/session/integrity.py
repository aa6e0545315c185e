"""The learner's files must come out of a run as they went in.

The probe runs as root in the learner's folder, so it could delete or
scribble over `progress.json` or its own `probe.py`. Before a run the
session keeps a copy of both (`FilesBefore.take`); afterwards `repair()`
puts back a progress file the run removed or left unreadable (from that
copy, so no passed lesson is lost) and a probe the run removed, and says
so in one sentence each. A progress file that changed but still reads is
kept: another `course` command (a hint in a second terminal) may have
saved it meanwhile under the lock. A probe that changed is kept too (the
learner's editor saves it in watch mode), with a sentence saying the check
graded the version that ran. Deliberate forgery by a root probe is beyond
this (README, threat model).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from runner.progress import parse_progress, write_atomically


def _read(path: Path) -> bytes | None:
    """The file's bytes, None when it is missing (links are not followed)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        return handle.read()


def _readable_progress(data: bytes | None) -> bool:
    if data is None:
        return False
    try:
        parse_progress(data.decode("utf-8"))
    except (ValueError, TypeError):
        return False
    return True


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
        now = _read(self.progress)
        good = _readable_progress(self.progress_data)
        if good and now != self.progress_data and not _readable_progress(now):
            what = "removed" if now is None else "left unreadable"
            assert self.progress_data is not None
            write_atomically(self.progress, self.progress_data)
            said.append(
                f"The run {what} your progress file {self.progress}; it was restored from "
                "the copy taken before the run, so no progress is lost."
            )
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
