"""The kernel's own record of a probe's bpf() calls (ftrace, runner/live/bpfcalls.py),
for real: lesson 00's reference solution passes `kernel-load` and
wrong/claims_loaded.py (a perfect report, no program) fails it; the calls of
the probe's threads and children are recorded and the runner's own
(evidence snapshots, bpftool) are not; a tracefs instance never outlives its
run, whether it ends, times out or is cancelled, and one a killed runner left
is removed by the next run once it has expired."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.course.load import load_course
from runner.grade import grade
from runner.live import bpfcalls, execute
from runner.live.host import detect
from runner.model import CheckSpec, Lesson, RunSpec

pytestmark = [pytest.mark.live]

REPO = Path(__file__).resolve().parents[2]
PROBES = Path(__file__).parent / "probes"
SOLUTION = REPO / "solutions" / "00-setup" / "probe.py"
CLAIMS_LOADED = REPO / "solutions" / "00-setup" / "wrong" / "claims_loaded.py"


@pytest.fixture(autouse=True)
def root_with_tracefs() -> None:
    if os.geteuid() != 0:
        pytest.skip("tracing a probe's bpf() calls needs root")
    trace = bpfcalls.Trace.open(5)
    if trace.path is None:
        pytest.skip(trace.reason or "no tracefs instance")
    trace.close()


def ours() -> set[str]:
    """This process's tracefs instances (other runs may have their own)."""
    root = bpfcalls.tracefs_root()
    assert root is not None
    return {
        name
        for name in os.listdir(root / "instances")
        if (m := bpfcalls.NAME.match(name)) and int(m.group("pid")) == os.getpid()
    }


def lesson_00() -> Lesson:
    found = load_course(REPO).lesson("00")
    assert found is not None
    return found


def test_the_reference_passes_and_claims_loaded_fails_kernel_load() -> None:
    lesson = lesson_00()
    facts = detect()
    verdicts = {}
    for probe in (SOLUTION, CLAIMS_LOADED):
        rec = execute.run_lesson(lesson, probe, python=sys.executable, host=facts, only=["main"])
        run = rec.runs["main"]
        assert run.error is None and run.bpf_calls is not None, run.bpf_calls_missing
        assert {c["pid"] for c in run.bpf_calls} <= set(run.probe_pids)
        report = grade(lesson, rec)
        verdicts[probe.name] = {c.id: c for c in report.checks}
        if probe == SOLUTION:
            loads = [c for c in run.bpf_calls if c["cmd"] == "BPF_PROG_LOAD"]
            assert loads and any(c["ret"] >= 0 for c in loads), run.bpf_calls
        else:
            assert run.bpf_calls == []  # it never asked the kernel for anything
    assert verdicts["probe.py"]["kernel-load"].status == "pass"
    assert verdicts["probe.py"]["bpf-truth"].status == "pass"
    wrong = verdicts["claims_loaded.py"]
    assert wrong["kernel-load"].status == "fail", wrong["kernel-load"].message
    assert "the kernel saw no bpf() call" in wrong["kernel-load"].message
    # the host-truth checks cannot tell: that was the hole
    assert wrong["bpf-truth"].status == wrong["ready-truth"].status == "pass"
    assert not ours()


def family_lesson(make_lesson: Callable[..., Lesson], **step: object) -> tuple[Lesson, RunSpec]:
    fields: dict = {"ready": "^Attached", "stop": "after-workload", "settle": 0.2, "timeout": 30}
    spec = RunSpec(id="main", **{**fields, **step})
    lesson = make_lesson(spec)
    lesson.checks = [CheckSpec(id="calls", kind="kernel.bpf_calls", params={"min": 0})]
    return lesson, spec


def test_threads_and_children_are_recorded_and_the_runner_is_not(
    make_lesson: Callable[..., Lesson],
) -> None:
    lesson, spec = family_lesson(make_lesson)
    probe = PROBES / "bpf_family.py"
    run = execute.run_one(lesson, spec, probe, python=sys.executable, host={"features": {}})
    assert run.error is None and run.bpf_calls is not None, (run.error, run.bpf_calls_missing)
    line = next(t for t in run.out() if t.startswith("Attached"))
    ids = dict(part.split("=") for part in line.split()[1:])
    pid, thread, child = int(ids["pid"]), int(ids["thread"]), int(ids["child"])
    # the evidence snapshots (ready, stop) ran bpftool and bpf() as root meanwhile
    assert [s["at"] for s in run.evidence] == ["ready", "stop"]
    got = [(c["pid"], c["tid"], c["cmd"]) for c in run.bpf_calls]
    assert got == [
        (pid, pid, "BPF_PROG_LOAD"),
        (pid, thread, "BPF_MAP_CREATE"),
        (child, child, "BPF_BTF_LOAD"),
    ]
    assert all(c["ret"] < 0 for c in run.bpf_calls)  # refused: a NULL attr
    assert not ours()


def test_no_check_asking_means_no_instance_and_no_record(
    make_lesson: Callable[..., Lesson],
) -> None:
    lesson, spec = family_lesson(make_lesson)
    lesson.checks = []
    run = execute.run_one(
        lesson, spec, PROBES / "bpf_family.py", python=sys.executable, host={"features": {}}
    )
    assert run.bpf_calls is None and run.bpf_calls_missing is None


@pytest.mark.parametrize("how", ["timeout", "not-ready", "cancelled"])
def test_the_instance_goes_however_the_run_ends(
    how: str, make_lesson: Callable[..., Lesson]
) -> None:
    step: dict = {
        "timeout": {"timeout": 2.0, "stop": "exit"},
        "not-ready": {"ready_timeout": 1.0},
        "cancelled": {"stop": "exit"},
    }[how]
    lesson, spec = family_lesson(make_lesson, **step)
    if how == "not-ready":
        spec.ready = "^never printed"
    probe = PROBES / "hang.py"
    cancel = threading.Event()
    seen: list[set[str]] = []

    def on_event(_step: str, what: str) -> None:
        if what == "started":
            seen.append(ours())
            if how == "cancelled":
                threading.Timer(1.0, cancel.set).start()

    run = execute.run_one(
        lesson,
        spec,
        probe,
        python=sys.executable,
        host={"features": {}},
        on_event=on_event,
        cancel=cancel,
    )
    assert seen and len(seen[0]) == 1  # there was one while the probe ran
    assert run.stop_reason == how, run.stop_reason
    assert run.bpf_calls == []  # hang.py makes no bpf() call; it was read before removal
    assert not ours()


def test_an_instance_a_killed_runner_left_is_removed_once_expired(tmp_path: Path) -> None:
    """SIGKILL a runner mid-run: its instance stays (nothing could remove it)
    with its expiry in its name; a run after that time removes it, and never
    one that has not expired (another runner's live run)."""
    code = (
        "import sys, threading\n"
        "from pathlib import Path\n"
        "from runner.live import execute\n"
        "from runner.model import CheckSpec, Lesson, RunSpec\n"
        "p = Path(sys.argv[1])\n"
        "spec = RunSpec(id='main', ready='^Attached', stop='after-workload', timeout=60)\n"
        "lesson = Lesson(id='99-t', number=99, slug='t', title='t', dir=p.parent, text=p,\n"
        "    starter=p, solution=None, tests_dir=None, runs=[spec],\n"
        "    checks=[CheckSpec(id='c', kind='kernel.bpf_calls')])\n"
        "execute.run_one(lesson, spec, p, python=sys.executable, host={'features': {}},\n"
        "    on_event=lambda s, w: print(w, flush=True))\n"
    )
    runner = subprocess.Popen(
        [sys.executable, "-c", code, str(PROBES / "hang.py")],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert runner.stdout is not None
        for line in runner.stdout:
            if line.strip() == "ready":
                break
        root = bpfcalls.tracefs_root()
        assert root is not None
        mine = [
            n
            for n in os.listdir(root / "instances")
            if (m := bpfcalls.NAME.match(n)) and int(m.group("pid")) == runner.pid
        ]
        assert len(mine) == 1, mine
    finally:
        runner.send_signal(signal.SIGKILL)
        runner.wait()
    (name,) = mine
    expires = int(bpfcalls.NAME.match(name).group("expires"))  # type: ignore[union-attr]
    assert time.time() + 60 < expires <= time.time() + 60 + bpfcalls.GRACE + 5
    time.sleep(1.0)  # its keeper ends the probe
    assert name in os.listdir(root / "instances")  # left behind, not yet expired
    assert name not in bpfcalls.sweep(now=expires - 1)  # a live run's, as far as anyone knows
    assert bpfcalls.sweep(now=expires + 1) == [name] or name not in os.listdir(root / "instances")
    assert name not in os.listdir(root / "instances")


def test_the_next_run_sweeps_expired_instances(make_lesson: Callable[..., Lesson]) -> None:
    root = bpfcalls.tracefs_root()
    assert root is not None
    now = int(time.time())
    expired = root / "instances" / f"ebpfc-{now - 10}-999999-deadbeef"
    live = root / "instances" / f"ebpfc-{now + 3600}-999999-deadbeef"
    expired.mkdir()
    live.mkdir()
    try:
        lesson, spec = family_lesson(make_lesson)
        lesson.checks = []  # any probe step as root sweeps, even one that records nothing
        execute.run_one(
            lesson, spec, PROBES / "bpf_family.py", python=sys.executable, host={"features": {}}
        )
        assert not expired.exists() and live.exists()
    finally:
        for path in (expired, live):
            if path.exists():
                path.rmdir()
