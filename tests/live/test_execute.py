"""runner.live.execute against real processes and real BPF programs on this kernel.

Each probe under probes/ misbehaves in one way (hangs, floods, forks, prints
escapes, never gets ready) or is a small real tracepoint program used to
prove the workloads exact."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest

from runner.live import execute
from runner.model import RunSpec, WorkloadSpec

PROBES = Path(__file__).parent / "probes"
HOST: dict = {"features": {}}
OPENAT_X86_64 = 257


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in "ZX"


def _step(**kw) -> RunSpec:
    kw.setdefault("id", "main")
    kw.setdefault("ready", "^Attached")
    return RunSpec(**kw)


def _run(make_lesson, course_python, probe: str, step: RunSpec, **kw):
    lesson = make_lesson(step)
    return execute.run_one(lesson, step, PROBES / probe, python=course_python, host=HOST, **kw)


# ------------------------------------------------------------- without a kernel


def test_missing_feature_means_not_run(make_lesson, course_python) -> None:
    step = _step()
    lesson = make_lesson(step, requires=["kprobes"])
    host = {"features": {"kprobes": {"ok": False, "reason": "CONFIG_KPROBES is not set"}}}
    run = execute.run_one(lesson, step, PROBES / "hang.py", python=course_python, host=host)
    assert run.unsupported and "kprobes" in run.unsupported and "CONFIG_KPROBES" in run.unsupported
    assert run.argv == [] and run.lines == []


def test_missing_probe_file_is_a_one_sentence_error(make_lesson, course_python) -> None:
    run = _run(make_lesson, course_python, "no_such_probe.py", _step())
    assert run.stop_reason == "error"
    assert run.error and "does not exist" in run.error and "\n" not in run.error


def test_unknown_template_is_an_error(make_lesson, course_python) -> None:
    run = _run(make_lesson, course_python, "ansi.py", _step(args=["{workload.pid}"]))
    assert run.stop_reason == "error" and "{workload.pid}" in (run.error or "")


# ------------------------------------------------------------- misbehaving probes


@pytest.mark.live
def test_probe_ignoring_sigint_is_killed_with_its_group(make_lesson, course_python) -> None:
    step = _step(stop="after-workload", settle=0.0, timeout=60)
    run = _run(make_lesson, course_python, "hang.py", step)
    assert run.ready and run.stop_reason == "stopped"
    assert run.signal == signal.SIGKILL and run.exit_code is None
    assert run.duration >= execute.INT_GRACE + execute.TERM_GRACE


@pytest.mark.live
def test_wall_clock_limit_is_a_timeout(make_lesson, course_python) -> None:
    run = _run(make_lesson, course_python, "never_ready.py", _step(ready=None, timeout=1.0))
    assert run.stop_reason == "timeout" and run.ready
    assert run.exit_code == 0  # it ended on the SIGINT


@pytest.mark.live
def test_flood_is_capped_but_counted_exactly(make_lesson, course_python) -> None:
    step = _step(stop="exit", timeout=120)
    run = _run(make_lesson, course_python, "flood.py", step, line_cap=1000)
    assert run.stop_reason == "exited" and run.exit_code == 0
    assert run.stdout_lines == 200_002 and run.stderr_lines == 0
    assert len(run.lines) == 1000 and run.dropped == 200_002 - 1000
    out = run.out()
    assert out[0] == "Attached: flooding" and out[1] == "line 0"
    assert out[-1] == "printed 200000 lines"  # the tail (a summary) survives the cap


@pytest.mark.live
def test_default_cap_is_twenty_thousand(make_lesson, course_python) -> None:
    run = _run(make_lesson, course_python, "flood.py", _step(stop="exit", timeout=120))
    assert len(run.lines) == execute.DEFAULT_LINE_CAP == 20_000
    assert run.stdout_lines == 200_002


@pytest.mark.live
def test_forked_child_does_not_outlive_the_run(make_lesson, course_python) -> None:
    step = _step(stop="after-workload", settle=0.0, timeout=30)
    run = _run(make_lesson, course_python, "forker.py", step)
    child = int(re.search(r"child pid=(\d+)", run.out()[0]).group(1))
    assert run.exit_code == 0 and "leaving my child behind" in run.out()
    assert not _alive(child)


def test_cancel_stops_the_probe_and_skips_later_steps(make_lesson, course_python) -> None:
    import threading

    first = _step(id="first", stop="exit", timeout=120)
    later = _step(id="later", stop="exit", timeout=120)
    lesson = make_lesson(first, later)
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    recording = execute.run_lesson(
        lesson, PROBES / "forker.py", python=course_python, host=HOST, cancel=cancel
    )
    run = recording.runs["first"]
    child = int(re.search(r"child pid=(\d+)", run.out()[0]).group(1))
    assert run.stop_reason == "cancelled" and run.duration < 60
    assert "later" not in recording.runs
    assert not _alive(child)


@pytest.mark.live
def test_escape_sequences_are_stripped(make_lesson, course_python) -> None:
    run = _run(make_lesson, course_python, "ansi.py", _step(stop="exit"))
    assert run.ready  # the ready pattern matched the cleaned text
    assert run.out() == ["Attached", "cleared screen", "PASS evil"]
    assert not any("\x1b" in line.text for line in run.lines)


@pytest.mark.live
def test_never_ready_stops_and_never_releases_the_workload(make_lesson, course_python) -> None:
    step = _step(
        ready_timeout=1.0,
        timeout=30,
        stop="after-workload",
        workload=WorkloadSpec("opens", {"count": 2}),
    )
    events: list[str] = []
    run = _run(
        make_lesson, course_python, "never_ready.py", step, on_event=lambda s, e: events.append(e)
    )
    assert run.stop_reason == "not-ready" and not run.ready
    assert run.workload is not None and run.workload.facts == {}
    assert run.workload.started_ns == 0 and not _alive(run.workload.pid)
    assert "go" not in events and events[-1] == "done"


@pytest.mark.live
def test_lines_stream_to_the_caller(make_lesson, course_python) -> None:
    seen: list[tuple[str, str]] = []
    run = _run(
        make_lesson,
        course_python,
        "ansi.py",
        _step(stop="exit"),
        on_line=lambda step_id, line: seen.append((step_id, line.text)),
    )
    assert seen == [("main", text) for text in run.out()]


# ------------------------------------------------------------- real BPF: exactness


@pytest.mark.live
@pytest.mark.parametrize(
    ("kind", "params", "opens"),
    [
        ("opens", {"count": 5}, 5),
        ("open-marker", {"count": 2, "dirfd": True}, 4),
        ("open-thread", {"count": 3}, 3),
        ("open-burst", {"count": 20_000}, 20_000),
    ],
)
def test_openat_tracepoint_counts_equal_the_workload(
    needs_bpf, make_lesson, course_python, kind: str, params: dict, opens: int
) -> None:
    step = _step(stop="after-workload", settle=0.5, timeout=60, workload=WorkloadSpec(kind, params))
    run = _run(make_lesson, course_python, "count_opens.py", step)
    assert run.error is None and run.stop_reason == "stopped" and run.exit_code == 0
    truth = run.workload
    assert truth is not None and truth.kind == kind
    counts = {
        int(m["pid"]): int(m["n"])
        for m in (re.match(r"opens pid=(?P<pid>\d+) n=(?P<n>\d+)", t) for t in run.out())
        if m
    }
    assert counts.get(truth.pid) == opens
    assert run.started_ns < truth.started_ns < truth.ended_ns < run.ended_ns


@pytest.mark.live
def test_syscall_mix_seen_exactly_by_raw_syscalls(needs_bpf, make_lesson, course_python) -> None:
    step = _step(
        args=["{workload.pid}"],
        stop="after-workload",
        settle=0.5,
        timeout=60,
        workload=WorkloadSpec("syscalls", {"reads": 40, "writes": 25}),
    )
    run = _run(make_lesson, course_python, "count_syscalls.py", step)
    assert run.error is None and run.exit_code == 0
    truth = run.workload
    assert truth is not None and run.argv[-1] == str(truth.pid)  # templated into argv
    counts = {
        int(m["nr"]): int(m["n"])
        for m in (re.match(r"syscall nr=(?P<nr>\d+) n=(?P<n>\d+)", t) for t in run.out())
        if m
    }
    if os.uname().machine == "x86_64":
        read, write = 0, 1
        assert counts.get(read) == truth.facts["counts"]["read"] == 40
        assert counts.get(write) == truth.facts["counts"]["write"] == 25
        assert OPENAT_X86_64 not in counts  # the child opened nothing after the go


@pytest.mark.live
def test_should_stop_ends_the_run_early(make_lesson, course_python) -> None:
    step = _step(stop="exit", timeout=60)
    asked: list[int] = []

    def enough(run) -> bool:
        asked.append(run.stdout_lines)
        return any(text.startswith("Attached") for text in run.out())

    run = _run(make_lesson, course_python, "forker.py", step, should_stop=enough)
    assert run.stop_reason == "stopped" and run.exit_code == 0 and asked


@pytest.mark.live
def test_run_lesson_records_the_chosen_steps(make_lesson, course_python) -> None:
    first = _step(id="first", stop="exit")
    second = _step(id="second", stop="exit")
    lesson = make_lesson(first, second)
    rec = execute.run_lesson(
        lesson, PROBES / "ansi.py", python=course_python, host=HOST, only=["second"]
    )
    assert list(rec.runs) == ["second"] and rec.lesson == "99-test"
    assert "Attached" in rec.probe_source and rec.runs["second"].exit_code == 0


@pytest.mark.live
def test_command_step_runs_unprivileged_in_the_probe_folder(make_lesson, course_python) -> None:
    step = RunSpec(
        id="tests",
        command=["{python}", "-c", "import os; print(os.getcwd(), os.geteuid())", "{dir}"],
    )
    run = _run(make_lesson, course_python, "ansi.py", step)
    assert run.exit_code == 0 and run.stop_reason == "exited"
    assert run.argv[0] == course_python and run.argv[-1] == str(PROBES)  # no sudo, templated
    assert run.out() == [f"{PROBES} {os.geteuid()}"]
