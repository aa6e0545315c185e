"""End to end: the real `course start` in tmux at 80x24 with the real core.

The learner's editor is played by copying the reference solution of lesson
06 into the workspace (written beside and renamed over, as editors save);
watch mode must notice, run the probe on this kernel, grade it, and the
screen must say the lesson passed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from runner.course.load import load_course
from runner.progress import Progress
from runner.workspace import Workspace

pytestmark = [pytest.mark.live, pytest.mark.tui]

REPO = Path(__file__).resolve().parents[2]
COURSE = load_course(REPO)
LESSONS = len(COURSE.lessons)  # the header counts challenges too
LESSON = "06-tracepoints"
STEPS = [lesson.id for lesson in COURSE.lessons].index(LESSON)  # `n` presses from lesson 00
SOCKET = f"ebpfc-e2e-{os.getpid()}"  # a private tmux server, not the user's


def tmux(*args: str) -> str:
    done = subprocess.run(
        ["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=False
    )
    return done.stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", "e2e")


def wait_for(text: str, timeout: float) -> str:
    """Poll the pane until `text` shows; fail with the last screen."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = screen()
        if text in shown:
            return shown
        time.sleep(0.5)
    pytest.fail(f"{text!r} never appeared; the screen was:\n{screen()}")


def save_like_an_editor(source: Path, target: Path) -> None:
    fresh = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    shutil.copyfile(source, fresh)
    fresh.replace(target)


@pytest.fixture
def can_run_probes() -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    if os.geteuid() != 0:
        sudo = subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False)
        if sudo.returncode != 0:
            pytest.skip("live test needs root or password-less sudo")


def test_watch_mode_passes_lesson_06_in_tmux(tmp_path: Path, can_run_probes: None) -> None:
    course = Path(sys.executable).with_name("course")
    workspace = tmp_path / "ws"
    command = f"{course} start --workspace {workspace}"
    tmux("new-session", "-d", "-s", "e2e", "-x", "80", "-y", "24", command)
    try:
        wait_for(f"Passed 0/{LESSONS} lessons", timeout=60)
        for _ in range(STEPS):
            tmux("send-keys", "-t", "e2e", "n")
        wait_for("06 Tracepoints — ", timeout=30)
        assert "watch on" in screen()
        time.sleep(2)  # let the folder watcher of lesson 06 start before the save
        lesson_dir = workspace / LESSON
        assert (lesson_dir / "probe.py").is_file()  # the starter was copied in
        solution = REPO / "solutions" / LESSON
        # the learner un-skipped their tests, then saved a working probe
        for test in (solution / "tests").glob("*.py"):
            shutil.copyfile(test, lesson_dir / "tests" / test.name)
        save_like_an_editor(solution / "probe.py", lesson_dir / "probe.py")
        final = wait_for("06 Tracepoints — ✔ passed", timeout=240)
        assert "all public checks passed" in final
        assert all(len(line) <= 80 for line in final.splitlines())
    finally:
        tmux("kill-server")
    progress, warning = Progress.load(Workspace(workspace).progress_path)
    assert warning is None
    state = progress.state(LESSON)
    assert state.status == "passed" and state.score == state.max_score > 0
