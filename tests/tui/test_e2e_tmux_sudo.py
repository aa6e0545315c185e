"""End to end as a learner: the real `course start` in tmux, run by an
UNPRIVILEGED user whose only sudo right is the README's narrow rule (the
course interpreter running the root guard, no password). Watch mode sees
the reference solution of lesson 06 saved, the probe runs as root through
that rule, the lesson passes, and no password prompt ever appears: the
TUI decides sudo readiness as the runner uses sudo (runner.session), not
with `sudo -n true`, which that rule does not allow.

Creates a throw-away user and the sudoers rule, removes both afterwards."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner.course.load import load_course
from runner.live.privilege import sudoers_rule
from runner.progress import Progress
from runner.workspace import Workspace

pytestmark = [
    pytest.mark.live,
    pytest.mark.tui,
    pytest.mark.usefixtures("needs_bpf", "checkout_open_to_others"),
]

REPO = Path(__file__).resolve().parents[2]
LESSONS = len(load_course(REPO).lessons)  # the header counts challenges too
LESSON = "06-tracepoints"
LEARNER = "ebpfc-tui-learner"
RULE = Path("/etc/sudoers.d/ebpfc-tui-test")
PYTHON = sys.executable  # the interpreter `course` runs with: the rule names it
SOCKET = f"ebpfc-e2e-sudo-{os.getpid()}"  # a private tmux server, not the user's
# What the screen would show if the TUI sent the learner to a password prompt.
PROMPTS = ("password", "enter your password", "[sudo]", "needs root")


def tmux(*args: str) -> str:
    done = subprocess.run(
        ["tmux", "-L", SOCKET, *args], capture_output=True, text=True, check=False
    )
    return done.stdout


def screen() -> str:
    return tmux("capture-pane", "-p", "-t", "e2e")


def no_prompt(shown: str) -> None:
    lowered = shown.lower()
    seen = [p for p in PROMPTS if p in lowered]
    assert not seen, f"a password prompt appeared ({seen}); the screen was:\n{shown}"


def wait_for(text: str, timeout: float) -> str:
    """Poll the pane until `text` shows, failing at once on a password prompt."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        shown = screen()
        no_prompt(shown)
        if text in shown:
            return shown
        time.sleep(0.5)
    pytest.fail(f"{text!r} never appeared; the screen was:\n{screen()}")


def save_like_an_editor(source: Path, target: Path, owner: pwd.struct_passwd) -> None:
    fresh = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
    shutil.copyfile(source, fresh)
    os.chown(fresh, owner.pw_uid, owner.pw_gid)
    fresh.replace(target)


def processes_of(uid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and entry.stat().st_uid == uid:
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def stop_processes_of(uid: int, grace: float = 10.0) -> list[int]:
    """End what the test started as the learner (the app ignores tmux's
    hang-up while it runs); returns the pids that had to be signalled."""
    deadline = time.monotonic() + grace
    while processes_of(uid) and time.monotonic() < deadline:
        time.sleep(0.2)  # the app quits by itself after `q`
    left = processes_of(uid)
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return left


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "creating a test user and a sudoers rule needs root"
    for tool in ("tmux", "sudo", "runuser", "useradd", "userdel"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@pytest.fixture
def learner() -> Iterator[pwd.struct_passwd]:
    """A user with no rights but the README's one sudoers line."""
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", LEARNER],
        check=True,
    )
    try:
        RULE.write_text(sudoers_rule(LEARNER, PYTHON))
        RULE.chmod(0o440)
        if shutil.which("visudo"):
            subprocess.run(["visudo", "-cf", str(RULE)], check=True, capture_output=True)
        yield pwd.getpwnam(LEARNER)
    finally:
        RULE.unlink(missing_ok=True)
        stop_processes_of(pwd.getpwnam(LEARNER).pw_uid, grace=0)
        subprocess.run(["userdel", LEARNER], check=True)


@pytest.fixture
def home(learner: pwd.struct_passwd) -> Iterator[Path]:
    """The learner's own folder (workspace, caches), owned by them."""
    path = Path(tempfile.mkdtemp(prefix="ebpfc-tui-learner-", dir="/tmp"))
    os.chown(path, learner.pw_uid, learner.pw_gid)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def test_narrow_sudo_rule_passes_lesson_06_without_a_password(
    learner: pwd.struct_passwd, home: Path
) -> None:
    # the rule really is the narrow one: `sudo -n true` is refused to this user
    broad = subprocess.run(
        ["runuser", "-u", LEARNER, "--", "sudo", "-n", "true"], capture_output=True, check=False
    )
    assert broad.returncode != 0
    course = Path(PYTHON).with_name("course")
    workspace = home / "ws"
    command = " ".join(
        [
            "runuser", "-u", LEARNER, "--", "env", f"HOME={home}", "TERM=xterm-256color",
            f"XDG_CACHE_HOME={home / '.cache'}", str(course), "start", "--workspace",
            str(workspace), "--lesson", "06",
        ]
    )  # fmt: skip
    tmux("new-session", "-d", "-s", "e2e", "-x", "80", "-y", "24", "-c", str(home), command)
    try:
        wait_for("06 Tracepoints — ", timeout=60)
        wait_for(f"Passed 0/{LESSONS} lessons", timeout=60)
        assert "watch on" in screen()
        time.sleep(2)  # let the folder watcher of lesson 06 start before the save
        lesson_dir = workspace / LESSON
        assert (lesson_dir / "probe.py").is_file()  # the starter was copied in, as the learner
        assert lesson_dir.stat().st_uid == learner.pw_uid
        solution = REPO / "solutions" / LESSON
        # the learner un-skipped their tests, then saved a working probe
        for test in (solution / "tests").glob("*.py"):
            save_like_an_editor(test, lesson_dir / "tests" / test.name, learner)
        save_like_an_editor(solution / "probe.py", lesson_dir / "probe.py", learner)
        final = wait_for("06 Tracepoints — ✔ passed", timeout=300)
        assert "all public checks passed" in final
        no_prompt(final)
        tmux("send-keys", "-t", "e2e", "q")  # nothing is running: q quits at once
        assert stop_processes_of(learner.pw_uid) == [], "the app did not quit on q"
    finally:
        tmux("kill-server")
    progress, warning = Progress.load(Workspace(workspace).progress_path)
    assert warning is None
    state = progress.state(LESSON)
    assert state.status == "passed" and state.score == state.max_score > 0
