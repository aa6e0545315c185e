"""timing.before_stop on runs shaped like lesson 06's: event lines printed
while the probe ran pass; the same lines printed only after SIGINT (a probe
that reads its perf buffer once, before exiting) fail."""

from __future__ import annotations

import checks
from checks.context import Context
from runner.model import Line, Recording, Run, WorkloadTruth

MARKER = "/tmp/ebpfc-x/m-7f3a"
PATTERN = r"^\[(?P<pid>\d+)\] \S+: syscall_nr=-?\d+, dfd=-?\d+, filename=(?P<filename>.*)$"
PARAMS = {"pattern": PATTERN, "where": {"pid": 4242, "filename": MARKER}, "min": 3}


def recorded(event_times: list[float], *, stop_t: float | None = 3.0) -> Run:
    lines = [Line(0.8, "out", "Attached to tracepoint syscalls:sys_enter_openat")]
    lines += [
        Line(t, "out", f"[4242] ebpfc-omark: syscall_nr=257, dfd=11, filename={MARKER}")
        for t in event_times
    ]
    lines.append(Line(max(event_times + [3.2]) + 0.01, "out", "Detached after 3 events."))
    evidence = [{"at": "ready", "t": 0.81, "took": 0.01}]
    if stop_t is not None:
        evidence.append({"at": "stop", "t": stop_t, "took": 0.02})
    return Run(
        id="main",
        lines=lines,
        stdout_lines=len(lines),
        exit_code=0,
        duration=3.4,
        ready=True,
        ready_at=0.8,
        stop_reason="stopped",
        workload=WorkloadTruth(kind="open-marker", pid=4242, tid=4243, comm="ebpfc-omark"),
        evidence=evidence,
    )


def judge(run: Run, params: dict | None = None):
    found = checks.get("timing.before_stop")
    assert found is not None
    recording = Recording(lesson="06-tracepoints", probe_path="probe.py", probe_source="")
    recording.runs["main"] = run
    return found.func(dict(PARAMS if params is None else params), Context(recording, run))


def test_passes_when_events_arrive_while_tracing():
    verdict = judge(recorded([1.1, 1.2, 1.2]))
    assert verdict.status == "pass", verdict.message
    assert verdict.observed["before_stop"] == 3


def test_fails_when_events_print_only_after_the_stop():
    # the poll inside the loop removed: the final drain prints everything after SIGINT
    verdict = judge(recorded([3.1, 3.1, 3.1]))
    assert verdict.status == "fail"
    assert "after the stop" in verdict.message
    assert verdict.observed == {"matching": 3, "before_stop": 0, "first_t": 3.1}
    # the plural belongs to "lines", not to the last where value ("filename=...s")
    assert verdict.message.startswith("Expected at least 3 lines matching ")
    assert f"filename={MARKER} before the probe was stopped" in verdict.message


def test_lines_printed_during_the_stop_snapshot_still_count():
    verdict = judge(recorded([1.0, 3.01, 3.015]))
    assert verdict.status == "pass", verdict.message


def test_other_lines_do_not_count():
    verdict = judge(recorded([1.1, 1.2]), {**PARAMS, "where": {"pid": 9999}})
    assert verdict.status == "fail"
    assert verdict.observed["matching"] == 0


def test_no_stop_snapshot_cannot_be_judged():
    verdict = judge(recorded([1.1, 1.2, 1.3], stop_t=None))
    assert verdict.status == "error"
    assert "no stop snapshot" in verdict.message
