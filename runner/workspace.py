"""The learner's visible workspace: one folder per lesson with their own copy
of the starter probe.py and the learner tests, plus hidden state
(.course/progress.json, .course/cache/).

Files are never overwritten: first use copies, `reset` keeps a backup.
When the course runs as root through sudo, what it creates is handed to
the invoking user so their editor can save the files.
"""

from __future__ import annotations

import os
import pwd
import shutil
import time
from pathlib import Path

from runner.model import Lesson

WORKSPACE_ENV = "EBPF_COURSE_WORKSPACE"
STATE_DIR = ".course"


def default_root() -> Path:
    """$EBPF_COURSE_WORKSPACE, else ~/ebpf-course of the invoking user."""
    given = os.environ.get(WORKSPACE_ENV)
    if given:
        return Path(given).expanduser()
    return _invoking_home() / "ebpf-course"


def _invoking_home() -> Path:
    # Under sudo, HOME may be root's; the workspace belongs to the learner.
    uid = _sudo_owner()
    if uid is not None:
        try:
            return Path(pwd.getpwuid(uid[0]).pw_dir)
        except KeyError:
            pass
    return Path.home()


def _sudo_owner() -> tuple[int, int] | None:
    """(uid, gid) of the user who ran sudo, when we are root because of it."""
    if os.geteuid() != 0:
        return None
    try:
        uid = int(os.environ["SUDO_UID"])
        gid = int(os.environ.get("SUDO_GID", uid))
    except (KeyError, ValueError):
        return None
    return (uid, gid) if uid != 0 else None


def give_to_invoking_user(path: Path) -> None:
    """chown a file or folder we created to the sudo user (no-op otherwise)."""
    owner = _sudo_owner()
    if owner is not None:
        os.chown(path, *owner)


def make_dirs(path: Path) -> None:
    """mkdir -p, handing every folder it creates to the invoking user."""
    missing = []
    current = path
    while not current.exists():
        missing.append(current)
        current = current.parent
    for folder in reversed(missing):
        folder.mkdir(exist_ok=True)
        give_to_invoking_user(folder)


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser()

    @property
    def progress_path(self) -> Path:
        return self.root / STATE_DIR / "progress.json"

    @property
    def cache_dir(self) -> Path:
        return self.root / STATE_DIR / "cache"

    def lesson_dir(self, lesson: Lesson) -> Path:
        return self.root / lesson.id

    def probe_path(self, lesson: Lesson) -> Path:
        return self.lesson_dir(lesson) / lesson.starter.name

    def ensure(self, lesson: Lesson) -> Path:
        """Copy the starter and learner tests on first use; never overwrite.
        Returns the learner's probe path."""
        make_dirs(self.lesson_dir(lesson))
        probe = self.probe_path(lesson)
        if not probe.exists():
            self._copy(lesson.starter, probe)
        if lesson.tests_dir is not None:
            for source in sorted(lesson.tests_dir.rglob("*")):
                if source.is_dir() or "__pycache__" in source.parts:
                    continue
                target = self.lesson_dir(lesson) / "tests" / source.relative_to(lesson.tests_dir)
                if not target.exists():
                    make_dirs(target.parent)
                    self._copy(source, target)
        return probe

    def reset(self, lesson: Lesson) -> Path | None:
        """Restore the starter. The learner's file is first moved to a
        timestamped backup beside it, whose path is returned (None when
        there was no file to keep)."""
        probe = self.probe_path(lesson)
        backup = None
        if probe.exists():
            backup = self._backup_name(probe)
            probe.rename(backup)
        self.ensure(lesson)
        return backup

    @staticmethod
    def _backup_name(probe: Path) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        candidate = probe.with_name(f"{probe.name}.{stamp}.bak")
        n = 1
        while candidate.exists():  # two resets within one second
            n += 1
            candidate = probe.with_name(f"{probe.name}.{stamp}-{n}.bak")
        return candidate

    @staticmethod
    def _copy(source: Path, target: Path) -> None:
        shutil.copyfile(source, target)
        shutil.copymode(source, target)
        give_to_invoking_user(target)
