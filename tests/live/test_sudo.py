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
import signal
import subprocess
import sys
import time
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
    # the root guard took the kernel evidence the runner could not read
    assert [snap["at"] for snap in run["evidence"]] == ["ready", "stop"]
    ready, stop = run["evidence"]
    assert ready["error"] is None and stop["error"] is None, (ready["error"], stop["error"])
    assert stop["stats"] and run["probe_pids"] and run["probe_pids"] == stop["programs"][0]["pids"]
    (program,) = stop["programs"]
    assert program["type"] == "tracepoint"
    assert program["attach"] == [{"kind": "tracepoint", "target": "syscalls:sys_enter_openat"}]
    before = ready["programs"][0]["run_cnt"]
    assert program["run_cnt"] - before >= 6  # the workload's opens ran it
    (counts,) = stop["maps"]
    assert counts["name"] == "opens" and counts["type"] == "hash"
    mine = [
        e for e in counts["entries"] if int.from_bytes(bytes.fromhex(e["key"]), "little") == pid
    ]
    assert [int.from_bytes(bytes.fromhex(e["value"]), "little") for e in mine] == [6]
    assert not any("privilege.py" in line["text"] for line in run["lines"])  # guard kept quiet


def test_without_a_sudoers_rule_the_error_is_one_sentence(learner: pwd.struct_passwd) -> None:
    assert not RULE.exists()
    run = _run_as_learner("whoami.py", args=["1"], stop="after-workload")
    assert run["stop_reason"] == "error" and not run["ready"]
    # the test user is in no sudo group: `sudo -v` could not help it
    assert run["error"] == (
        "You have no sudo rights: run the course as root or ask an administrator for the "
        "rule in the README."
    )


# ---------------------------------------------------------------- the narrow rule


def _sudo_guard(*argv: str) -> subprocess.CompletedProcess[str]:
    """`sudo -n PYTHON GUARD -- ARGV` as the learner, as the README's rule allows."""
    return subprocess.run(
        ["runuser", "-u", LEARNER, "--", "sudo", "-n", PYTHON, GUARD, "--", *argv],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/tmp",
        check=False,
    )


def test_the_guard_runs_no_other_program(learner: pwd.struct_passwd, sudo_rule: str) -> None:
    done = _sudo_guard("/usr/bin/id", "-u")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("privilege.py: refused: it runs only the course interpreter")
    assert len(done.stderr.strip().splitlines()) == 1
    # the interpreter, but not on a probe file: -c CODE, -m any module
    for argv in ([PYTHON, "-c", "import os; print(os.getuid())"], [PYTHON, "-m", "pydoc"]):
        done = _sudo_guard(*argv)
        assert (done.returncode, done.stdout) == (2, ""), argv
        assert "refused" in done.stderr, argv


def test_the_guard_runs_only_the_learners_own_plain_probe_files(
    learner: pwd.struct_passwd, sudo_rule: str, tmp_path: Path
) -> None:
    home = tmp_path / "learner"
    home.mkdir()
    os.chown(home, learner.pw_uid, learner.pw_gid)
    tmp_path.chmod(0o755)
    mine = home / "mine.py"
    mine.write_text("import os\nprint('euid', os.geteuid())\n")
    os.chown(mine, learner.pw_uid, learner.pw_gid)
    done = _sudo_guard(PYTHON, "-u", str(mine))
    assert (done.returncode, done.stdout) == (0, "euid 0\n"), done.stderr
    # another user's file, and a symlink of the learner's to it
    other = home / "root.py"
    other.write_text("print('not yours')\n")
    link = home / "link.py"
    link.symlink_to(other)
    os.lchown(link, learner.pw_uid, learner.pw_gid)
    for path, why in ((other, "belongs to another user"), (link, "symlink")):
        done = _sudo_guard(PYTHON, "-u", str(path))
        assert (done.returncode, done.stdout) == (2, ""), path
        assert why in done.stderr and done.stderr.startswith("privilege.py: refused:"), path
    # a folder is no probe; nor is a device
    done = _sudo_guard(PYTHON, "-u", "/dev/zero")
    assert done.returncode == 2 and "refused" in done.stderr


def test_the_guard_runs_the_feature_trials(learner: pwd.struct_passwd, sudo_rule: str) -> None:
    done = _sudo_guard(PYTHON, "-m", "runner.live.feature_probe")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["bpf"]["ok"] is True


# ---------------------------------------------------------------- a killed runner


def test_killing_the_runner_ends_sudo_the_guard_and_the_probe(
    learner: pwd.struct_passwd, sudo_rule: str
) -> None:
    spec = {"id": "main", "ready": "^Attached", "stop": "exit", "timeout": 60}
    runner = subprocess.Popen(
        ["runuser", "-u", LEARNER, "--", PYTHON, "-c", RUNNER, json.dumps(spec)]
        + [str(PROBES / "hang.py")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd="/tmp",
    )
    try:
        deadline = time.monotonic() + 60
        while not _processes_running(PROBES / "hang.py") and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _processes_running(PROBES / "hang.py"), "the probe never started"
        guards = _processes_running(Path(GUARD))
        learners_python = [pid for pid in _children(runner.pid) if pid not in guards]
        for pid in learners_python:
            os.kill(pid, signal.SIGKILL)  # the runner itself, not sudo
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (
            _processes_running(PROBES / "hang.py") or _processes_running(Path(GUARD))
        ):
            time.sleep(0.1)
        assert _processes_running(PROBES / "hang.py") == []  # the guard read end-of-file
        assert _processes_running(Path(GUARD)) == []  # and ended, and sudo with it
    finally:
        runner.kill()
        runner.wait()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def test_pins_made_through_sudo_are_removed_by_the_guard(
    needs_bpf: None, learner: pwd.struct_passwd, sudo_rule: str
) -> None:
    marker = f"ebpfc-sudo-pins-{os.getpid()}"
    run = _run_as_learner(
        "pins.py", args=[marker], stop="after-workload", settle=0.3, timeout=60, ready_timeout=45
    )
    folder = f"/sys/fs/bpf/{marker}"
    assert sorted(run["kernel_leftovers"]) == [f"pin {folder}/{n}" for n in ("link", "map", "prog")]
    assert run["error"] and "pinned 3 BPF objects" in run["error"]
    assert not os.path.exists(folder)


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
            + ["--file", str(mine / "probe.py"), "--json", "--record", str(home / "rec.json")],
            capture_output=True,
            text=True,
            timeout=300,
            cwd=str(home),
            check=False,
            env={**os.environ, "HOME": str(home)},
        )
        report = json.loads(proc.stdout) if proc.stdout.strip() else {}
        # the root guard recorded the kernel's view of every probe run that got ready
        runs = json.loads((home / "rec.json").read_text())["runs"]
        watched = [r for r in runs.values() if r["ready"] and r["stop_reason"] == "stopped"]
        assert watched, {k: r["stop_reason"] for k, r in runs.items()}
        for run in watched:
            assert [snap["at"] for snap in run["evidence"]] == ["ready", "stop"], run["id"]
            assert all(snap["error"] is None for snap in run["evidence"]), run["evidence"]
            assert run["evidence"][-1]["programs"] and run["probe_pids"], run["id"]
        failing = [
            (c["id"], c["message"]) for c in report.get("checks", []) if c["status"] != "pass"
        ]
        assert proc.returncode == 0, (failing, proc.stderr[-2000:])
        assert report["status"] == "pass" and report["score"] == report["max_score"]
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_the_guard_records_the_probes_bpf_calls_for_lesson_00(
    needs_bpf: None, learner: pwd.struct_passwd, sudo_rule: str
) -> None:
    """Lesson 00's `kernel-load` through sudo: the root guard traces the probe's
    bpf() calls from its exec and reports them; the reference passes, the
    perfect report that loads nothing fails, and no tracefs instance is left."""
    import tempfile

    from runner.live import bpfcalls

    repo = Path(__file__).resolve().parents[2]
    home = Path(tempfile.mkdtemp(prefix="ebpfc-learner-", dir="/tmp"))
    before = set(os.listdir(bpfcalls.tracefs_root() / "instances"))  # type: ignore[operator]
    try:
        mine = home / "00"
        shutil.copytree(
            repo / "solutions" / "00-setup",
            mine,
            ignore=shutil.ignore_patterns("wrong", "__pycache__", ".pytest_cache"),
        )
        shutil.copy(repo / "solutions" / "00-setup" / "wrong" / "claims_loaded.py", mine)
        for path in [home, *home.rglob("*")]:
            os.chown(path, learner.pw_uid, learner.pw_gid)
        kernel_load = {}
        for name in ("probe.py", "claims_loaded.py"):
            record = home / f"{name}.json"
            proc = subprocess.run(
                ["runuser", "-u", LEARNER, "--", PYTHON, "-m", "runner.cli"]
                + ["--workspace", str(home / "ws"), "check", "00", "--file", str(mine / name)]
                + ["--json", "--record", str(record)],
                capture_output=True,
                text=True,
                timeout=300,
                cwd=str(home),
                check=False,
                env={**os.environ, "HOME": str(home)},
            )
            report = json.loads(proc.stdout) if proc.stdout.strip() else {}
            run = json.loads(record.read_text())["runs"]["main"]
            assert run["argv"][:2] == [shutil.which("sudo"), "-n"] and "--bpf-calls" in run["argv"]
            assert run["bpf_calls"] is not None, run["bpf_calls_missing"]
            kernel_load[name] = next(c for c in report["checks"] if c["id"] == "kernel-load")
            if name == "probe.py":
                assert any(
                    c["cmd"] == "BPF_PROG_LOAD" and c["ret"] >= 0 for c in run["bpf_calls"]
                ), run["bpf_calls"]
            else:
                assert run["bpf_calls"] == []
        assert kernel_load["probe.py"]["status"] == "pass", kernel_load["probe.py"]
        assert kernel_load["claims_loaded.py"]["status"] == "fail"
        after = set(os.listdir(bpfcalls.tracefs_root() / "instances"))  # type: ignore[operator]
        assert not {n for n in after - before if n.startswith(bpfcalls.PREFIX)}
    finally:
        shutil.rmtree(home, ignore_errors=True)
