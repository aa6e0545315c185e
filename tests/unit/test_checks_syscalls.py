"""syscalls.event_counts and syscalls.summary_counts on recorded runs of the
lesson 08 tracer: the real solution's output must pass, and outputs with
a lost event, an unfiltered trace, invented pids or a missing summary must
fail."""

from __future__ import annotations

import pytest

import checks
from checks.context import Context
from runner.model import Line, Recording, Run, Verdict, WorkloadTruth

EVENT = r"^\[\d\d:\d\d:\d\d\.\d{3}\] (?P<comm>.*)\((?P<pid>\d+)\) (?P<syscall>\w+)$"
ROW = r"^\s+(?P<syscall>\w+)\s+(?P<n>\d+)\s+[\d.]+%$"
EXPECTED = {"read": "{workload.facts.reads}", "write": "{workload.facts.writes}"}

# What the solution printed for `-p 17159` while a forked child did 7 reads
# and 3 writes (recorded on the dev kernel; the comm renamed to the one the
# course's workload sets).
RECORDED = """\
Tracing syscalls of pid 17159. Ctrl+C to end.
[11:19:45.781] ebpfc-syscalls(17159) read
[11:19:45.781] ebpfc-syscalls(17159) read
[11:19:45.781] ebpfc-syscalls(17159) read
[11:19:45.781] ebpfc-syscalls(17159) read
[11:19:45.781] ebpfc-syscalls(17159) read
[11:19:45.781] ebpfc-syscalls(17159) read
[11:19:45.781] ebpfc-syscalls(17159) read
[11:19:45.781] ebpfc-syscalls(17159) write
[11:19:45.781] ebpfc-syscalls(17159) write
[11:19:45.781] ebpfc-syscalls(17159) write
[11:19:45.781] ebpfc-syscalls(17159) exit_group
Total events captured: 11
Top syscalls:
  read                            7   63.6%
  write                           3   27.3%
  exit_group                      1    9.1%
Top processes:
  ebpfc-syscalls(17159)          11  100.0%
"""


def recorded(text: str, pid: int = 17159, reads: int = 7, writes: int = 3) -> Context:
    run = Run(
        id="main",
        lines=[Line(t=0.1 * i, stream="out", text=s) for i, s in enumerate(text.splitlines())],
        exit_code=0,
        ready=True,
        workload=WorkloadTruth(
            kind="syscalls",
            pid=pid,
            tid=pid,
            comm="ebpfc-syscalls",
            facts={"reads": reads, "writes": writes},
        ),
    )
    recording = Recording(lesson="08-combining", probe_path="probe.py", probe_source="")
    recording.runs["main"] = run
    return Context(recording=recording, run=run)


def event_counts(ctx: Context, **extra) -> Verdict:
    params = {"pattern": EVENT, "pid": "{workload.pid}", "expected": EXPECTED, **extra}
    return checks.get("syscalls.event_counts").func(params, ctx)


def summary_counts(ctx: Context, **extra) -> Verdict:
    params = {"pattern": ROW, "expected": EXPECTED, **extra}
    return checks.get("syscalls.summary_counts").func(params, ctx)


def test_recorded_solution_passes_both() -> None:
    ctx = recorded(RECORDED)
    lines = event_counts(ctx)
    table = summary_counts(ctx)
    assert lines.status == "pass", lines.message
    assert lines.observed == {"read": 7, "write": 3}
    assert table.status == "pass", table.message
    assert table.observed == {"read": 7, "write": 3}


def test_a_lost_read_line_fails() -> None:
    text = RECORDED.replace("[11:19:45.781] ebpfc-syscalls(17159) read\n", "", 1)
    verdict = event_counts(recorded(text))
    assert verdict.status == "fail"
    assert "6 for read, expected exactly 7" in verdict.message


def test_extra_lines_fail_eq_but_pass_ge() -> None:
    last = "[11:19:45.781] ebpfc-syscalls(17159) exit_group"
    text = RECORDED.replace(last, "[11:19:45.781] ebpfc-syscalls(17159) write\n" + last)
    assert event_counts(recorded(text)).status == "fail"
    assert event_counts(recorded(text), op="ge").status == "pass"


def test_lines_for_another_pid_do_not_count() -> None:
    # plausible lines for an invented pid: the workload's pid has none
    text = RECORDED.replace("(17159)", "(4242)")
    verdict = event_counts(recorded(text))
    assert verdict.status == "fail"
    assert verdict.observed == {"read": 0, "write": 0}


def test_syscall_numbers_instead_of_names_fail() -> None:
    text = RECORDED.replace(") read", ") 0").replace(") write", ") 1")
    assert event_counts(recorded(text)).status == "fail"


def test_without_pid_every_line_counts() -> None:
    params = {"pattern": EVENT, "expected": {"read": 7}}
    verdict = checks.get("syscalls.event_counts").func(params, recorded(RECORDED))
    assert verdict.status == "pass", verdict.message


def test_summary_with_wrong_count_fails() -> None:
    text = RECORDED.replace(
        "  read                            7   63.6%", "  read                           12   70.0%"
    )
    verdict = summary_counts(recorded(text))
    assert verdict.status == "fail"
    assert "12 for read" in verdict.message


def test_summary_rows_after_the_table_do_not_count() -> None:
    # the read row only appears in the process table: not a syscall row
    text = RECORDED.replace("  read                            7   63.6%\n", "")
    text += "  read                            7   63.6%\n"
    verdict = summary_counts(recorded(text))
    assert verdict.status == "fail"
    assert "no count for read" in verdict.message


def test_missing_summary_fails() -> None:
    text = RECORDED.split("Total events")[0]
    verdict = summary_counts(recorded(text))
    assert verdict.status == "fail"
    assert "No summary heading" in verdict.message


@pytest.mark.parametrize(
    "params",
    [
        {"pattern": r"^(?P<pid>\d+)$", "expected": {"read": 1}},  # no syscall group
        {"pattern": EVENT, "expected": {"read": "many"}},  # not a count
        {"pattern": EVENT, "expected": {"read": "{workload.facts.nothing}"}},
    ],
)
def test_unjudgeable_params_are_errors(params: dict) -> None:
    verdict = checks.get("syscalls.event_counts").func(params, recorded(RECORDED))
    assert verdict.status == "error"
