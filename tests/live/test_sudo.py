"""The sudo path for real: the runner runs as an unprivileged learner, the
probe runs as root through `sudo -n` and the root guard, the workload stays
unprivileged, signals reach the probe, and nothing it started survives.

Creates a throw-away user and a sudoers rule limited to the course
interpreter running the guard, and removes both afterwards."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runner.live.privilege import GUARD, sudoers_rule

# the learner runs the course from this checkout, as from their own install
pytestmark = [pytest.mark.live, pytest.mark.usefixtures("checkout_open_to_others")]

LEARNER = "ebpfc-learner"
RULE = Path("/etc/sudoers.d/ebpfc-course-test")
PROBES = Path(__file__).parent / "probes"
PYTHON = sys.executable

# Runs as the learner: one step of a one-step lesson, the Run as JSON.
RUNNER = """
import json, sys
from dataclasses import asdict
from pathlib import Path
from runner.live import execute
from runner.model import Lesson, RunSpec, WorkloadSpec

spec = json.loads(sys.argv[1])
workload = spec.pop("workload", None)
step = RunSpec(**spec, workload=WorkloadSpec(**workload) if workload else None)
probe = Path(sys.argv[2])
lesson = Lesson(id="99-sudo", number=99, slug="sudo", title="sudo", dir=probe.parent,
                text=probe, starter=probe, solution=None, tests_dir=None, runs=[step])
run = execute.run_one(lesson, step, probe, python=sys.executable, host={"features": {}})
print(json.dumps(asdict(run)))
"""


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "creating a test user and a sudoers rule needs root"
    for tool in ("sudo", "runuser", "useradd", "userdel"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    return None


@pytest.fixture(scope="module")
def learner() -> Iterator[pwd.struct_passwd]:
    reason = _why_not()
    if reason:
        pytest.skip(reason)
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", LEARNER],
        check=True,
    )
    try:
        yield pwd.getpwnam(LEARNER)
    finally:
        RULE.unlink(missing_ok=True)
        subprocess.run(["userdel", LEARNER], check=False)


@pytest.fixture
def sudo_rule(learner: pwd.struct_passwd) -> Iterator[str]:
    """Only the course interpreter running the root guard, without a password."""
    rule = sudoers_rule(LEARNER, PYTHON)
    RULE.write_text(rule)
    RULE.chmod(0o440)
    if shutil.which("visudo"):
        subprocess.run(["visudo", "-cf", str(RULE)], check=True, capture_output=True)
    try:
        yield rule
    finally:
        RULE.unlink(missing_ok=True)


def _run_as_learner(probe: str, **spec: Any) -> dict[str, Any]:
    spec.setdefault("id", "main")
    spec.setdefault("ready", "^Attached")
    proc = subprocess.run(
        ["runuser", "-u", LEARNER, "--", PYTHON, "-c", RUNNER, json.dumps(spec)]
        + [str(PROBES / probe)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/tmp",
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _processes_running(path: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(path).encode() in cmdline and state not in "ZX":
            found.append(int(entry.name))
    return found


def test_probe_runs_as_root_and_workload_as_the_learner(
    learner: pwd.struct_passwd, sudo_rule: str
) -> None:
    run = _run_as_learner(
        "whoami.py",
        args=["{workload.pid}"],
        stop="after-workload",
        workload={"kind": "sleeper", "params": {"count": 1}},
    )
    assert run["error"] is None, run["error"]
    assert run["ready"] and run["exit_code"] == 0  # SIGINT went through sudo and the guard
    assert run["argv"][:2] == [shutil.which("sudo"), "-n"] and GUARD in run["argv"]
    out = [line["text"] for line in run["lines"] if line["stream"] == "out"]
    assert out == [f"Attached: probe euid=0 workload uid={learner.pw_uid}"]
    assert run["workload"]["facts"]["sleeps"] == 1


def test_sigint_reaches_the_probe_and_its_child_dies(
    learner: pwd.struct_passwd, sudo_rule: str
) -> None:
    run = _run_as_learner("forker.py", stop="after-workload", settle=0.0, timeout=30)
    out = [line["text"] for line in run["lines"] if line["stream"] == "out"]
    assert run["exit_code"] == 0 and "leaving my child behind" in out
    assert _processes_running(PROBES / "forker.py") == []


def test_probe_ignoring_signals_is_killed_through_sudo(
    learner: pwd.struct_passwd, sudo_rule: str
) -> None:
    run = _run_as_learner("hang.py", stop="after-workload", settle=0.0, timeout=60)
    assert run["ready"] and run["stop_reason"] == "stopped" and run["signal"] is not None
    assert _processes_running(PROBES / "hang.py") == []


def test_exact_counts_through_sudo(
    needs_bpf: None, learner: pwd.struct_passwd, sudo_rule: str
) -> None:
    run = _run_as_learner(
        "count_opens.py",
        stop="after-workload",
        settle=0.5,
        timeout=60,
        workload={"kind": "opens", "params": {"count": 6}},
    )
    assert run["error"] is None and run["exit_code"] == 0
    pid = run["workload"]["pid"]
    out = [line["text"] for line in run["lines"] if line["stream"] == "out"]
    assert f"opens pid={pid} n=6" in out


def test_without_a_sudoers_rule_the_error_is_one_sentence(learner: pwd.struct_passwd) -> None:
    assert not RULE.exists()
    run = _run_as_learner("whoami.py", args=["1"], stop="after-workload")
    assert run["stop_reason"] == "error" and not run["ready"]
    assert "sudo -v" in run["error"] and "sudoers rule" in run["error"]
    assert "\n" not in run["error"] and run["error"].endswith(".")


def test_course_check_as_the_learner_passes_lesson_06_through_sudo(
    learner: pwd.struct_passwd, sudo_rule: str
) -> None:
    """The whole CLI as a learner would run it: host facts found through the
    narrow sudoers rule, the probe as root, workload and pytest as the learner."""
    import tempfile

    repo = Path(__file__).resolve().parents[2]
    home = Path(tempfile.mkdtemp(prefix="ebpfc-learner-", dir="/tmp"))
    try:
        mine = home / "06"
        shutil.copytree(
            repo / "solutions" / "06-tracepoints",
            mine,
            ignore=shutil.ignore_patterns("wrong", "__pycache__", ".pytest_cache"),
        )
        for path in [home, *home.rglob("*")]:
            os.chown(path, learner.pw_uid, learner.pw_gid)
        proc = subprocess.run(
            ["runuser", "-u", LEARNER, "--", PYTHON, "-m", "runner.cli"]
            + ["--workspace", str(home / "ws"), "check", "06"]
            + ["--file", str(mine / "probe.py"), "--json"],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=str(home),
            check=False,
            env={**os.environ, "HOME": str(home)},
        )
        report = json.loads(proc.stdout) if proc.stdout.strip() else {}
        failing = [
            (c["id"], c["message"]) for c in report.get("checks", []) if c["status"] != "pass"
        ]
        assert proc.returncode == 0, (failing, proc.stderr[-2000:])
        assert report["status"] == "pass" and report["score"] == report["max_score"]
    finally:
        shutil.rmtree(home, ignore_errors=True)
