"""The test command each lesson text documents works as typed: in a fresh
shell (minimal environment, no virtualenv on PATH, `python` not the
course's interpreter) in the lesson's folder of a fresh workspace, with the
reference solution in place and the skip line deleted, it runs every test
and they pass. Before `course test` the documented `python -m pytest -q
tests` failed there: one interpreter has pytest but no bcc, the other bcc
but no pytest."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from checks.docs import _shell_commands, course_test
from runner.course.load import load_course
from runner.course.markdown import fenced_blocks

REPO = Path(__file__).resolve().parents[2]
LESSONS = load_course(REPO).lessons
COURSE_BIN = Path(sys.executable).parent / "course"
SKIP_LINE = re.compile(r"^pytestmark = pytest\.mark\.skip\b.*\n", re.M)


def fresh_env(home: Path) -> dict[str, str]:
    """What a new login shell has: no virtualenv, no PYTHONPATH, no editor."""
    return {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}


def documented_test_commands(text: str) -> list[str]:
    found = []
    for block in fenced_blocks(text):
        if block.lang in ("bash", "sh", "console"):
            for _, argv in _shell_commands(block.lines, console=block.lang == "console"):
                if course_test(argv) is not None:
                    found.append(shlex.join(argv))
    return found


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.id for lesson in LESSONS])
def test_the_documented_test_command_runs_in_a_fresh_shell(lesson, tmp_path: Path) -> None:
    commands = documented_test_commands(lesson.text.read_text(encoding="utf-8"))
    assert commands, f"{lesson.text} documents no `./course test` command"
    home, workspace = tmp_path / "home", tmp_path / "ws"
    home.mkdir()
    env = fresh_env(home)
    # A fresh workspace, made the way a learner's first command makes it.
    opened = subprocess.run(
        [str(COURSE_BIN), "--workspace", str(workspace), "open", lesson.code],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert opened.returncode == 0, opened.stderr
    folder = workspace / lesson.id
    assert opened.stdout.strip() == str(folder / "probe.py")
    assert (folder / "course").is_file() and os.access(folder / "course", os.X_OK)

    # The learner's work done: the solution in place, the skip line deleted.
    assert lesson.solution is not None
    (folder / "probe.py").write_text(lesson.solution.read_text(encoding="utf-8"))
    for test_file in (folder / "tests").glob("test_*.py"):
        text = test_file.read_text(encoding="utf-8")
        test_file.write_text(SKIP_LINE.sub("", text))

    for command in commands:
        done = subprocess.run(
            ["/bin/sh", "-c", command],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        out = done.stdout + done.stderr
        assert done.returncode == 0, f"`{command}` in {folder}:\n{out}"
        summary = out.strip().splitlines()[-1] if out.strip() else ""
        assert re.search(r"\d+ passed", out) and "skipped" not in out, (command, summary)


def test_the_starter_tests_run_skipped_in_a_fresh_shell(tmp_path: Path) -> None:
    """The same command on an untouched lesson runs pytest (all skipped), and
    passes pytest's arguments through."""
    lesson = next(lesson for lesson in LESSONS if lesson.number == 6)
    home, workspace = tmp_path / "home", tmp_path / "ws"
    home.mkdir()
    env = fresh_env(home)
    subprocess.run(
        [str(COURSE_BIN), "--workspace", str(workspace), "open", "06"],
        env=env,
        capture_output=True,
        check=True,
        timeout=60,
    )
    folder = workspace / lesson.id
    done = subprocess.run(
        ["/bin/sh", "-c", "./course test 06 -k duration"],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert re.search(r"\d+ skipped, \d+ deselected", done.stdout), done.stdout
    assert "running `python -m pytest -q tests -k duration`" in done.stderr
