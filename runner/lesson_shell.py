"""What a learner types in a lesson's folder of their workspace.

In a learner's shell `python` is rarely the course's interpreter (one has
pytest but no bcc, /usr/bin/python3 has bcc but no pytest), and `course`
is not on PATH unless the virtualenv is active. So each lesson folder gets
a small `./course` launcher that runs this course, for this workspace, with
the course's own interpreter: `./course test 06` works in a fresh shell.

`course test NN [PYTEST ARGS...]` runs `python -m pytest -q tests [ARGS]`
with that interpreter from the lesson's folder (test_argv), exactly what
the lesson's `tests` run does.
"""

from __future__ import annotations

import os
import shlex
import stat
from pathlib import Path

from runner.model import Lesson
from runner.workspace import Workspace, WorkspaceError, _Dir, _sudo_owner

LAUNCHER = "course"
MARKER = "# ebpf-course launcher"  # a file we wrote (and may rewrite) starts with these lines


def launcher_text(python: str, course_dir: Path, workspace_root: Path) -> str:
    # -P: the lesson folder (the current directory) must not shadow the course's modules.
    argv = [python, "-P", "-m", "runner.cli", "--course", str(course_dir)]
    argv += ["--workspace", str(workspace_root)]
    return (
        "#!/bin/sh\n"
        f"{MARKER}, written by the course: `./course test NN` runs this lesson's tests with\n"
        "# the course's own interpreter; every `course` command works here (`./course check NN`).\n"
        f'exec {shlex.join(argv)} "$@"\n'
    )


def write_launcher(
    workspace: Workspace, lesson: Lesson, *, python: str, course_dir: Path
) -> Path | None:
    """Put the `./course` launcher in the lesson's folder (which exists:
    Workspace.ensure made it). A launcher of ours that points elsewhere is
    replaced; a file of the learner's with that name is left alone (None).
    Links are never followed (WorkspaceError)."""
    text = launcher_text(python, Path(course_dir).resolve(), workspace.root.resolve()).encode()
    target = workspace.lesson_dir(lesson) / LAUNCHER
    with _Dir(workspace.root, Path(lesson.id), create=True) as folder:
        if folder.has(LAUNCHER):
            if folder.is_link(LAUNCHER):
                raise WorkspaceError(
                    f"{target} is a symbolic link, which the course does not follow because it "
                    "runs as root; delete it and the course writes its launcher there again"
                )
            current = folder.read(LAUNCHER, 4096)
            if current == text:
                return target
            if not current.startswith(b"#!/bin/sh\n" + MARKER.encode()):
                return None  # the learner's own file
        tmp = f".{LAUNCHER}.{os.getpid()}.tmp"
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(tmp, flags, 0o755, dir_fd=folder.fd)
        try:
            os.write(fd, text)
            os.fchmod(fd, 0o755)
            owner = _sudo_owner()
            if owner is not None:
                os.fchown(fd, *owner)
        finally:
            os.close(fd)
        try:
            os.rename(tmp, LAUNCHER, src_dir_fd=folder.fd, dst_dir_fd=folder.fd)
        except BaseException:
            os.unlink(tmp, dir_fd=folder.fd)
            raise
    return target


def is_launcher(path: Path) -> bool:
    try:
        return stat.S_ISREG(path.lstat().st_mode) and path.read_bytes().startswith(
            b"#!/bin/sh\n" + MARKER.encode()
        )
    except OSError:
        return False


def _names_a_path(arg: str, folder: Path) -> bool:
    return not arg.startswith("-") and (folder / arg.split("::", 1)[0]).exists()


def test_argv(python: str, folder: Path, extra: list[str]) -> list[str]:
    """`python -m pytest -q tests [extra]`, without `tests` when `extra`
    names test files or folders of its own (`tests/test_probe.py::test_x`)."""
    extra = [a for a in extra]
    if extra[:1] == ["--"]:
        extra = extra[1:]
    paths = any(_names_a_path(a, folder) for a in extra)
    return [python, "-m", "pytest", "-q", *([] if paths else ["tests"]), *extra]
