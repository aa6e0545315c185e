"""Workloads without BPF: identity, privilege drop, facts, clean-up, and (with
strace, when the machine has it) that the child does exactly the counted
system calls after the go and nothing else of that kind."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from runner.live.workload_process import params_error, start_workload
from runner.model import WorkloadSpec
from runner.workloads import (
    WORKDIR_ENV,
    WorkloadError,
    all_workloads,
    set_comm,
)

PYTHON = sys.executable
GENERIC = {
    "opens",
    "open-marker",
    "open-burst",
    "open-thread",
    "getenv-marker",
    "sleeper",
    "cpu-burn",
    "syscalls",
}


def _status(pid: int, field: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    raise KeyError(field)


def _alive(pid: int) -> bool:
    try:
        return _status(pid, "State")[0] not in "ZX"
    except (FileNotFoundError, ProcessLookupError):
        return False


def _comes_to_rest(pid: int) -> bool:
    """The process reaches a sleeping state (generous bound: not a timing test)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _status(pid, "State").startswith("S"):
            return True
        time.sleep(0.01)
    return False


def test_generic_workloads_are_registered() -> None:
    assert GENERIC <= set(all_workloads())


@pytest.mark.parametrize(
    ("kind", "params", "expected"),
    [
        ("nope", {}, "unknown workload kind 'nope'"),
        ("opens", {"count": 0}, "bad params at count"),
        ("opens", {"cuont": 3}, "bad params"),
        ("sleeper", {"interval": "fast"}, "bad params at interval"),
    ],
)
def test_bad_kind_or_params_is_one_sentence(kind: str, params: dict, expected: str) -> None:
    problem = params_error(kind, params)
    assert problem is not None and expected in problem
    with pytest.raises(WorkloadError, match=re.escape(expected[1:])):
        start_workload(WorkloadSpec(kind, params), PYTHON)


def test_missing_interpreter_is_a_workload_error() -> None:
    with pytest.raises(WorkloadError, match="could not start workload"):
        start_workload(WorkloadSpec("opens", {}), "/nonexistent/python3")


@pytest.mark.parametrize("name", ["python", "ebpfc-this-is-far-too-long"])
def test_set_comm_rejects_foreign_or_long_names(name: str) -> None:
    with pytest.raises(ValueError, match="must start with"):
        set_comm(name)


def test_set_comm_names_the_calling_thread() -> None:
    seen: list[str] = []

    def named() -> None:
        set_comm("ebpfc-unit")
        tid = threading.get_native_id()
        seen.append(Path(f"/proc/self/task/{tid}/comm").read_text().strip())

    thread = threading.Thread(target=named)
    thread.start()
    thread.join()
    assert seen == ["ebpfc-unit"]


def test_paused_workload_has_its_identity_and_drops_root() -> None:
    with start_workload(WorkloadSpec("opens", {"count": 3}), PYTHON) as wl:
        ident = wl.identity
        assert ident is not None and ident.pid == ident.tid
        assert Path(f"/proc/{ident.pid}/comm").read_text().strip() == "ebpfc-opens"
        # paused: it comes to rest (blocked in sigwait) and does not finish
        assert _comes_to_rest(ident.pid)
        assert not wl.is_finished()
        if os.geteuid() == 0:
            assert _status(ident.pid, "Uid").split()[:2] == ["65534", "65534"]
        wl.go()
        truth = wl.finish(timeout=30)
    assert truth.kind == "opens" and truth.pid == ident.pid and truth.comm == "ebpfc-opens"
    assert truth.facts["opens"] == 3 and truth.facts["dfd"] == -100
    assert 0 < truth.started_ns < truth.ended_ns
    assert not _alive(ident.pid)
    assert not Path(truth.facts["path"]).exists()  # its folder was removed


def test_thread_workload_reports_a_distinct_tid() -> None:
    with start_workload(WorkloadSpec("open-thread", {"count": 2}), PYTHON) as wl:
        ident = wl.identity
        assert ident is not None and ident.tid != ident.pid
        task = Path(f"/proc/{ident.pid}/task/{ident.tid}/comm")
        assert task.read_text().strip() == "ebpfc-othread"
        wl.go()
        truth = wl.finish(timeout=30)
    assert (truth.facts["pid"], truth.facts["tid"]) == (ident.pid, ident.tid)


def test_marker_workload_holds_a_real_directory_fd() -> None:
    with start_workload(WorkloadSpec("open-marker", {"count": 2, "dirfd": True}), PYTHON) as wl:
        ident = wl.identity
        assert ident is not None
        fds = Path(f"/proc/{ident.pid}/fd")
        held = {int(fd.name): os.readlink(fd) for fd in fds.iterdir()}  # before the go
        wl.go()
        truth = wl.finish(timeout=30)
    facts = truth.facts
    assert held[facts["dirfd"]] == os.path.dirname(facts["path"])
    assert facts["marker"] == os.path.basename(facts["path"])
    assert facts["dfd_cwd"] == -100
    assert facts["opens"] == 2 and facts["dirfd_opens"] == 2


def test_cpu_burn_measures_its_own_cpu_time() -> None:
    with start_workload(WorkloadSpec("cpu-burn", {"seconds": 0.3}), PYTHON) as wl:
        wl.go()
        truth = wl.finish(timeout=30)
    facts = truth.facts
    assert facts["wall_seconds"] >= 0.3
    assert 0 < facts["cpu_seconds"] <= facts["wall_seconds"] + 0.05


def test_kill_before_go_leaves_nothing() -> None:
    wl = start_workload(WorkloadSpec("sleeper", {}), PYTHON)
    ident = wl.identity
    assert ident is not None and _alive(ident.pid)
    wl.kill()
    wl.kill()  # idempotent
    assert not _alive(ident.pid)


# ------------------------------------------------- exactness (needs strace)


def _calls_after_go(kind: str, params: dict, tmp_path: Path) -> tuple[dict, list[str]]:
    """Run a workload under strace; the system calls its counted thread made
    after it was released, by name."""
    log = tmp_path / "strace.txt"
    proc = subprocess.run(
        ["strace", "-f", "-qq", "-o", str(log), PYTHON, "-m", "runner.workloads", kind]
        + [json.dumps(params)],
        input="go\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, WORKDIR_ENV: str(tmp_path)},
        check=True,
    )
    messages = [json.loads(line) for line in proc.stdout.splitlines()]
    ident, facts = messages[0]["identity"], messages[1]["facts"]
    calls: list[str] = []
    released = False
    for line in log.read_text().splitlines():
        tid, rest = line.split(None, 1)
        if int(tid) != ident["tid"]:
            continue
        if not released:
            # the wait returns either on one line or on its "<... resumed>" line
            released = "rt_sigtimedwait" in rest and "<unfinished" not in rest
            continue
        call = re.match(r"(\w+)\(", rest)  # not "<... resumed>", "+++ exited", "--- SIG"
        if call:
            calls.append(call.group(1))
    return {"identity": ident, **facts}, calls


needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")


@needs_strace
@pytest.mark.parametrize("kind", ["opens", "open-burst", "open-thread"])
def test_open_workloads_are_exact(kind: str, tmp_path: Path) -> None:
    facts, calls = _calls_after_go(kind, {"count": 7}, tmp_path)
    assert calls.count("openat") == facts["opens"] == 7


@needs_strace
def test_marker_workload_is_exact(tmp_path: Path) -> None:
    facts, calls = _calls_after_go("open-marker", {"count": 2, "dirfd": True}, tmp_path)
    assert calls.count("openat") == facts["opens"] + facts["dirfd_opens"] == 4


@needs_strace
def test_syscall_mix_is_exact(tmp_path: Path) -> None:
    facts, calls = _calls_after_go("syscalls", {"reads": 9, "writes": 4}, tmp_path)
    assert calls == ["read"] * 9 + ["write"] * 4 + ["exit_group"]
    assert facts["counts"] == {"read": 9, "write": 4, "exit_group": 1}


def test_sweep_ends_a_grandchild_that_left_its_group_and_session(tmp_path):
    """A child subreaper adopts a setsid'd orphan; the sweep ends and reaps it."""
    import os
    import subprocess
    import sys
    import time

    from runner.live.privilege import become_subreaper, start_ticks, sweep_adopted

    if not become_subreaper():
        pytest.skip("this kernel refuses PR_SET_CHILD_SUBREAPER")
    pidfile = tmp_path / "pid"
    code = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        open({str(pidfile)!r}, 'w').write(str(os.getpid())); time.sleep(60)\n"
        "    os._exit(0)\n"
        "os.wait()\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    since = start_ticks(proc.pid)
    proc.wait()
    for _ in range(200):
        if pidfile.exists() and pidfile.read_text():
            break
        time.sleep(0.02)
    orphan = int(pidfile.read_text())
    assert orphan in sweep_adopted(since)
    assert not os.path.exists(f"/proc/{orphan}")


def test_code_for_nobody_is_a_world_readable_copy_that_imports_without_the_venv():
    """Workloads run as nobody even when the course lives in a private folder."""
    import stat
    import subprocess

    from runner.live.workload_process import _code_for_nobody

    root = _code_for_nobody()
    for path in (root, *root.rglob("*")):
        assert stat.S_IMODE(path.stat().st_mode) & 0o004, path
    done = subprocess.run(
        [
            "/usr/bin/python3",
            "-I",
            "-c",
            "import sys; sys.path.insert(0, sys.argv[1]);"
            "import runner.workloads as w; print(sorted(w.all_workloads()))",
            str(root),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "open-marker" in done.stdout
