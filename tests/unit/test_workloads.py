"""Workloads without BPF: identity, privilege drop, facts, clean-up, what a
probe could read before the go (nothing of the answer), random params, noise,
per-CPU burners, and (with strace, when the machine has it) that the child's
worker thread does exactly the counted system calls after the go, its other
thread none at all, and the noise exactly what it reports."""

from __future__ import annotations

import errno
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

from runner.live.workload_process import draw_params, params_error, start_workload
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
    "usleep-nested",
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
        ("opens", {"count": {"random": [0, 5]}}, "bad params at count/random/0"),
        ("opens", {"count": {"random": [5]}}, "bad params at count/random"),
        ("opens", {"count": {"random": [9, 3]}}, "random range [9, 3] is empty"),
        ("opens", {"count": {"random": [1, 3], "seed": 1}}, "bad params at count"),
        ("sleeper", {"interval": {"random": [1, 2]}}, "bad params at interval"),  # not an integer
        ("cpu-burn", {"per_cpu": "yes"}, "bad params at per_cpu"),
        ("syscalls", {"noise": 1}, "bad params at noise"),
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


def _listing(pid: int) -> list[str]:
    return sorted(os.listdir(f"/proc/{pid}/cwd"))


def _visible(pid: int) -> str:
    """Everything about `pid` a probe could read in /proc without its memory:
    the command line, the environment and a listing of its working folder, of
    its own process and of the workload runner that started it."""
    parent = int(_status(pid, "PPid"))
    parts = []
    for p in (pid, parent):
        parts.append(Path(f"/proc/{p}/cmdline").read_bytes().decode(errors="replace"))
        parts.append(Path(f"/proc/{p}/environ").read_bytes().decode(errors="replace"))
        parts.extend(_listing(p))
    return "\n".join(parts)


def test_paused_workload_has_its_identity_and_drops_root() -> None:
    with start_workload(WorkloadSpec("opens", {"count": 3}), PYTHON) as wl:
        ident = wl.identity
        assert ident is not None and ident.pid != ident.tid  # the work runs in a thread
        assert Path(f"/proc/{ident.pid}/comm").read_text().strip() == "ebpfc-opens"
        task = Path(f"/proc/{ident.pid}/task/{ident.tid}/comm")
        assert task.read_text().strip() == "ebpfc-opens"
        # paused: it comes to rest (blocked in sigwait) and does not finish
        assert _comes_to_rest(ident.pid)
        assert not wl.is_finished()
        if os.geteuid() == 0:
            assert _status(ident.pid, "Uid").split()[:2] == ["65534", "65534"]
        before = _visible(ident.pid)
        wl.go()
        truth = wl.finish(timeout=30)
    assert truth.kind == "opens" and truth.pid == ident.pid and truth.comm == "ebpfc-opens"
    assert (truth.tid, truth.facts["tid"], truth.facts["pid"]) == (ident.tid, ident.tid, ident.pid)
    assert truth.facts["opens"] == 3 and truth.facts["dfd"] == -100
    assert truth.facts["params"] == {"count": 3, "noise": False}
    assert truth.facts["noise"] is None
    assert 0 < truth.started_ns < truth.ended_ns
    assert not _alive(ident.pid)
    assert os.path.basename(truth.facts["path"]) not in before
    assert not Path(truth.facts["path"]).exists()  # its folder was removed


@pytest.mark.parametrize(
    ("kind", "params", "secrets"),
    [
        ("opens", {"count": 4127}, ["path"]),
        ("open-marker", {"count": 2203, "dirfd": True}, ["marker"]),
        ("getenv-marker", {"count": 3301}, ["marker"]),
        ("syscalls", {"reads": 1373, "writes": 7129}, []),
    ],
)
def test_nothing_of_the_answer_shows_before_the_go(kind: str, params: dict, secrets: list) -> None:
    with start_workload(WorkloadSpec(kind, params), PYTHON) as wl:
        ident = wl.identity
        assert ident is not None
        before = _visible(ident.pid)
        assert _listing(ident.pid) == []  # the counted open creates the file
        argv = Path(f"/proc/{wl.process_pid}/cmdline").read_bytes().split(b"\0")[:-1]
        assert [a.decode() for a in argv[1:]] == ["-m", "runner.workloads", kind]
        wl.go()
        truth = wl.finish(timeout=30)
    for value in params.values():
        if not isinstance(value, bool):
            assert str(value) not in before
    for key in secrets:
        assert os.path.basename(str(truth.facts[key])) not in before
    assert kind not in {"open-marker", "getenv-marker"} or len(truth.facts["marker"]) >= 20


def test_random_params_are_drawn_per_run_and_reported() -> None:
    spec = WorkloadSpec("syscalls", {"reads": {"random": [5, 40]}, "writes": 3})
    drawn = [draw_params(spec.params) for _ in range(60)]
    assert all(5 <= d["reads"] <= 40 and d["writes"] == 3 for d in drawn)
    assert len({d["reads"] for d in drawn}) > 1  # 60 equal draws: p = 36**-59
    with start_workload(spec, PYTHON) as wl:
        wl.go()
        truth = wl.finish(timeout=30)
    reads = truth.facts["params"]["reads"]
    assert 5 <= reads <= 40 and truth.facts["counts"]["read"] == truth.facts["reads"] == reads
    assert truth.facts["counts"]["write"] == 3


def test_params_never_travel_in_argv(tmp_path: Path) -> None:
    done = subprocess.run(
        [PYTHON, "-m", "runner.workloads", "opens", '{"count": 3}'],
        input="",
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, WORKDIR_ENV: str(tmp_path)},
        check=False,
    )
    assert done.returncode == 2 and "params as a JSON line on stdin" in done.stdout
    done = subprocess.run(
        [PYTHON, "-m", "runner.workloads", "opens"],
        input='{"count": {"random": [1, 2]}}\n',
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, WORKDIR_ENV: str(tmp_path)},
        check=False,
    )
    assert done.returncode == 2 and "still random" in done.stdout


def test_thread_workload_reports_a_distinct_tid() -> None:
    with start_workload(WorkloadSpec("open-thread", {"count": 2}), PYTHON) as wl:
        ident = wl.identity
        assert ident is not None and ident.tid != ident.pid
        task = Path(f"/proc/{ident.pid}/task/{ident.tid}/comm")
        assert task.read_text().strip() == "ebpfc-othread"
        assert Path(f"/proc/{ident.pid}/comm").read_text().strip() == "ebpfc-omain"
        wl.go()
        truth = wl.finish(timeout=30)
    assert (truth.facts["pid"], truth.facts["tid"]) == (ident.pid, ident.tid)


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("opens", {}),
        ("open-marker", {}),
        ("open-burst", {"count": 10}),
        ("getenv-marker", {}),
        ("usleep-nested", {"pairs": 1}),
        ("sleeper", {"count": 1}),
        ("cpu-burn", {"seconds": 0.05}),
        ("syscalls", {}),
    ],
)
def test_every_workload_works_in_a_thread_with_its_comm(kind: str, params: dict) -> None:
    with start_workload(WorkloadSpec(kind, params), PYTHON) as wl:
        ident = wl.identity
        assert ident is not None and ident.tid != ident.pid
        tasks = sorted(int(t) for t in os.listdir(f"/proc/{ident.pid}/task"))
        assert tasks == sorted([ident.pid, ident.tid])
        for task in tasks:
            comm = Path(f"/proc/{ident.pid}/task/{task}/comm").read_text().strip()
            assert comm == ident.comm
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
    assert facts["dirfd"] >= 10  # a random number, not the lowest free one
    assert facts["marker"] == os.path.basename(facts["path"])
    assert facts["dfd_cwd"] == -100
    assert facts["opens"] == 2 and facts["dirfd_opens"] == 2


@pytest.mark.parametrize(
    ("kind", "params", "counts"),
    [
        ("opens", {"count": 3}, {"openat"}),
        ("open-marker", {"count": 2, "dirfd": True}, {"openat"}),
        ("getenv-marker", {"count": 2}, {"getenv"}),
        ("usleep-nested", {"pairs": 1}, {"usleep"}),
        ("sleeper", {"count": 2, "interval": 0.01}, {"sleeps"}),
        ("syscalls", {"reads": 5, "writes": 5}, {"read", "write", "exit_group"}),
    ],
)
def test_noise_is_another_process_doing_the_same_calls(
    kind: str, params: dict, counts: set
) -> None:
    with start_workload(WorkloadSpec(kind, {**params, "noise": True}), PYTHON) as wl:
        ident = wl.identity
        assert ident is not None
        wl.go()
        truth = wl.finish(timeout=30)
    noise = truth.facts["noise"]
    assert noise["comm"] == "ebpfc-noise" and noise["pid"] not in (ident.pid, ident.tid)
    assert noise["tid"] != noise["pid"]
    assert set(noise["counts"]) == counts
    assert all(n >= 1 for n in noise["counts"].values())
    if "path" in truth.facts:
        assert noise["path"] != truth.facts["path"]
        assert os.path.dirname(noise["path"]) == os.path.dirname(truth.facts["path"])
    if "marker" in truth.facts:
        other = noise["marker"] if "marker" in noise else os.path.basename(noise["path"])
        assert other != truth.facts["marker"]


def test_cpu_burn_measures_its_own_cpu_time() -> None:
    with start_workload(WorkloadSpec("cpu-burn", {"seconds": 0.3}), PYTHON) as wl:
        wl.go()
        truth = wl.finish(timeout=30)
    facts = truth.facts
    assert facts["wall_seconds"] >= 0.3
    assert 0 < facts["cpu_seconds"] <= facts["wall_seconds"] + 0.05
    assert facts["per_cpu"] is False and facts["cpus"] is None
    assert [t["tid"] for t in facts["threads"]] == [truth.tid]


def test_cpu_burn_per_cpu_pins_one_thread_to_each_cpu() -> None:
    cpus = sorted(os.sched_getaffinity(0))
    with start_workload(WorkloadSpec("cpu-burn", {"seconds": 0.3, "per_cpu": True}), PYTHON) as wl:
        ident = wl.identity
        assert ident is not None
        tasks = sorted(int(t) for t in os.listdir(f"/proc/{ident.pid}/task"))
        pinned = {
            task: _status(task, "Cpus_allowed_list") for task in tasks if task != ident.pid
        }  # before the go
        wl.go()
        truth = wl.finish(timeout=30)
    facts = truth.facts
    assert facts["cpus"] == cpus and facts["per_cpu"] is True
    threads = facts["threads"]
    assert [t["cpu"] for t in threads] == cpus and threads[0]["tid"] == truth.tid
    assert pinned == {t["tid"]: str(t["cpu"]) for t in threads}
    for t in threads:
        assert t["last_cpu"] == t["cpu"]
        assert t["wall_seconds"] >= 0.3 and 0 < t["cpu_seconds"] <= t["wall_seconds"] + 0.05
    assert facts["cpu_seconds"] == pytest.approx(sum(t["cpu_seconds"] for t in threads), abs=1e-5)


def test_kill_before_go_leaves_nothing() -> None:
    wl = start_workload(WorkloadSpec("sleeper", {}), PYTHON)
    ident = wl.identity
    assert ident is not None and _alive(ident.pid)
    wl.kill()
    wl.kill()  # idempotent
    assert not _alive(ident.pid)


# ------------------------------------------------- exactness (needs strace)


def _calls_after_go(
    kind: str, params: dict, tmp_path: Path
) -> tuple[dict, list[str], dict[int, list[str]]]:
    """Run a workload under strace. The system calls its counted thread made
    after it was released, by name; and those every other thread entered after
    that moment, by tid."""
    log = tmp_path / "strace.txt"
    proc = subprocess.run(
        ["strace", "-f", "-qq", "-o", str(log), PYTHON, "-m", "runner.workloads", kind],
        input=json.dumps(params) + "\ngo\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, WORKDIR_ENV: str(tmp_path)},
        check=True,
    )
    messages = [json.loads(line) for line in proc.stdout.splitlines()]
    ident, facts = messages[0]["identity"], messages[1]["facts"]
    # A gated thread's calls count from its own release (the noise is released
    # before the counted child); any other thread's from the counted release.
    after: dict[int, list[str]] = {}
    released: set[int] = set()
    counted_released = False
    for line in log.read_text().splitlines():
        tid_text, rest = line.split(None, 1)
        tid = int(tid_text)
        call = re.match(r"(\w+)\(", rest)  # not "<... resumed>", "+++ exited", "--- SIG"
        if tid in released or (counted_released and tid != ident["tid"]):
            if call:
                after.setdefault(tid, []).append(call.group(1))
        elif "rt_sigtimedwait" in rest and "<unfinished" not in rest:
            # the wait returns either on one line or on its "<... resumed>" line
            released.add(tid)
            counted_released = counted_released or tid == ident["tid"]
    assert ident["tid"] in released
    calls = after.pop(ident["tid"], [])
    return {"identity": ident, **facts}, calls, after


needs_strace = pytest.mark.skipif(shutil.which("strace") is None, reason="strace not installed")


@needs_strace
@pytest.mark.parametrize("kind", ["opens", "open-burst", "open-thread"])
def test_open_workloads_are_exact(kind: str, tmp_path: Path) -> None:
    facts, calls, others = _calls_after_go(kind, {"count": 7}, tmp_path)
    assert calls == ["openat", "close"] * 7 + ["exit_group"]
    assert facts["opens"] == 7 and facts["identity"]["pid"] != facts["identity"]["tid"]
    assert facts["identity"]["pid"] not in others  # the main thread stays parked


@needs_strace
def test_marker_workload_is_exact(tmp_path: Path) -> None:
    facts, calls, others = _calls_after_go("open-marker", {"count": 2, "dirfd": True}, tmp_path)
    assert calls.count("openat") == facts["opens"] + facts["dirfd_opens"] == 4
    assert facts["identity"]["pid"] not in others


@needs_strace
def test_syscall_mix_is_exact(tmp_path: Path) -> None:
    facts, calls, others = _calls_after_go("syscalls", {"reads": 9, "writes": 4}, tmp_path)
    assert calls == ["read"] * 9 + ["write"] * 4 + ["exit_group"]
    assert facts["counts"] == {"read": 9, "write": 4, "exit_group": 1}
    assert facts["identity"]["pid"] not in others


@needs_strace
def test_noise_does_exactly_what_it_reports(tmp_path: Path) -> None:
    params = {"reads": 30, "writes": 20, "noise": True}
    facts, calls, others = _calls_after_go("syscalls", params, tmp_path)
    assert calls == ["read"] * 30 + ["write"] * 20 + ["exit_group"]
    noise = facts["noise"]
    made = others[noise["tid"]]
    assert made.count("read") == noise["counts"]["read"] >= 30
    assert made.count("write") == noise["counts"]["write"]
    assert made[-1] == "exit_group" and made.count("exit_group") == 1
    assert facts["identity"]["pid"] not in others


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


def test_open_results_interleaves_two_threads_opens() -> None:
    # The FIFO's reader sleeps inside openat while the worker opens the marker
    # and the missing path, so entry/exit pairs keyed by pid would mix them up.
    with start_workload(WorkloadSpec("open-results", {"count": 3}), PYTHON) as wl:
        ident = wl.identity
        assert ident is not None
        wl.go()
        truth = wl.finish(timeout=30)
    facts = truth.facts
    assert facts["opens"] == 3 and facts["marker_fd"] >= 0
    assert facts["missing_ret"] == -errno.ENOENT
    assert facts["fifo_tid"] not in (ident.pid, ident.tid) and facts["fifo_fd"] >= 0
    assert "ebpfc-link-" in facts["link"] and "ebpfc-fifo-" in facts["fifo"]  # two names
    assert truth.tid != truth.pid


def test_usleep_nested_times_each_call_from_two_threads() -> None:
    # The inner call lies within the outer one, on another thread, so entry
    # times keyed by process mix the two up; each call's window runs from
    # what it asked for to what its caller measured around it.
    with start_workload(WorkloadSpec("usleep-nested", {"pairs": 2}), PYTHON) as wl:
        ident = wl.identity
        assert ident is not None
        wl.go()
        truth = wl.finish(timeout=30)
    facts = truth.facts
    calls = facts["calls"]
    assert facts["count"] == len(calls) == 4
    assert [c["role"] for c in calls] == ["outer", "inner", "outer", "inner"]
    assert facts["all_nested"] and all(c["nested"] for c in calls)
    assert len(set(facts["tids"])) == 2 and ident.pid not in facts["tids"]
    assert {c["tid"] for c in calls if c["role"] == "outer"} == {ident.tid}
    for call in calls:
        assert call["min_ns"] == call["asked_us"] * 1000
        assert call["min_ns"] < call["max_ns"]  # usleep sleeps at least as asked
    outer, inner = calls[0], calls[1]
    assert 150_000 <= outer["asked_us"] <= 300_000 and 20_000 <= inner["asked_us"] <= 60_000


def test_open_comms_counts_differ_per_process_and_per_comm() -> None:
    with start_workload(WorkloadSpec("open-comms", {"count": 3}), PYTHON) as wl:
        ident = wl.identity
        assert ident is not None and ident.comm == "ebpfc-ocomm"
        wl.go()
        truth = wl.finish(timeout=30)
    f = truth.facts
    assert f["pid_opens"] == 3 + f["side_opens"]
    assert f["comm_opens"] == 3 + f["other_opens"]
    assert f["opens"] == f["pid_opens"] + f["other_opens"]
    assert f["side_opens"] < f["pid_opens"] < f["other_opens"] < f["comm_opens"]
    assert f["other_pid"] not in (ident.pid, ident.tid) and f["side_tid"] != ident.tid
    assert (f["comm"], f["side_comm"]) == ("ebpfc-ocomm", "ebpfc-oside")


def test_cpu_burn_noise_burns_the_same_cpus_in_another_process() -> None:
    params = {"seconds": 0.2, "per_cpu": True, "noise": True}
    with start_workload(WorkloadSpec("cpu-burn", params), PYTHON) as wl:
        ident = wl.identity
        assert ident is not None
        wl.go()
        truth = wl.finish(timeout=30)
    noise = truth.facts["noise"]
    assert noise["comm"] == "ebpfc-noise" and noise["pid"] not in (ident.pid, ident.tid)
    assert [t["cpu"] for t in noise["threads"]] == truth.facts["cpus"]
    assert noise["cpu_seconds"] > 0 and truth.facts["cpu_seconds"] > 0


def test_cpu_burn_without_noise_says_none() -> None:
    with start_workload(WorkloadSpec("cpu-burn", {"seconds": 0.05}), PYTHON) as wl:
        wl.go()
        truth = wl.finish(timeout=30)
    assert truth.facts["noise"] is None
