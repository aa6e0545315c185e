"""Kernel evidence for real: probes started by the runner load real BPF
programs (tests/live/probes/evidence_all.py: a syscalls tracepoint counting
into a BPF_HASH, a raw tracepoint, a uprobe on libc getenv, CPU-clock perf
events), and the snapshots must name what the kernel holds, with the counts
the workload caused. A probe that prints perfect lines without loading any
BPF must fail a kernel.program check."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner import grade
from runner.live import execute
from runner.live.host import online_cpus
from runner.model import CheckSpec, Recording, Run, RunSpec, WorkloadSpec

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_bpf")]

PROBES = Path(__file__).parent / "probes"
HOST: dict = {"features": {}, "cpus": online_cpus()}


@pytest.fixture(autouse=True)
def _bpftool() -> None:
    if shutil.which("bpftool") is None and not Path("/usr/sbin/bpftool").exists():
        pytest.skip("bpftool is not installed (apt-get install bpftool)")


def _step(workload: WorkloadSpec | None, args: list[str] | None = None) -> RunSpec:
    return RunSpec(
        id="main",
        args=args or [],
        ready="^Attached",
        stop="after-workload",
        settle=0.3,
        timeout=60,
        workload=workload,
    )


def _run(make_lesson, course_python, probe: str, step: RunSpec) -> Run:
    lesson = make_lesson(step)
    return execute.run_one(lesson, step, PROBES / probe, python=course_python, host=HOST)


def _le(hexstr: str) -> int:
    return int.from_bytes(bytes.fromhex(hexstr), "little")


def _entry(snap: dict, map_name: str, key: int) -> list[int]:
    (item,) = [m for m in snap["maps"] if m["name"] == map_name]
    return [_le(e["value"]) for e in item["entries"] if _le(e["key"]) == key]


def test_snapshots_name_the_kernels_programs_maps_and_counts(make_lesson, course_python) -> None:
    run = _run(
        make_lesson, course_python, "evidence_all.py", _step(WorkloadSpec("opens", {"count": 6}))
    )
    assert run.error is None and run.exit_code == 0, (run.error, run.err()[-3:])
    assert run.argv[1] == "-u"  # the probe prints `Attached` without flush and was still seen
    assert [s["at"] for s in run.evidence] == ["ready", "stop"]
    ready, stop = run.evidence
    assert ready["error"] is None and stop["error"] is None
    assert ready["stats"] and stop["stats"]
    assert ready["t"] <= stop["t"] and run.probe_pids == stop["pids"] == [stop["root"]]

    programs = {p["type"]: p for p in stop["programs"]}
    assert set(programs) == {"tracepoint", "raw_tracepoint", "kprobe", "perf_event"}
    assert programs["tracepoint"]["attach"] == [
        {"kind": "tracepoint", "target": "syscalls:sys_enter_openat"}
    ]
    assert programs["raw_tracepoint"]["attach"] == [
        {"kind": "raw_tracepoint", "target": "sys_enter"}
    ]
    (uprobe,) = programs["kprobe"]["attach"]
    assert uprobe["kind"] == "uprobe" and uprobe["symbol"] == "getenv"
    assert "libc.so" in uprobe["target"] and uprobe["offset"] > 0
    assert programs["perf_event"]["attach"] == [
        {"kind": "perf_event", "target": None, "events": online_cpus()}
    ]
    assert stop["perf_events"] == online_cpus()

    # run counts grow, and cover at least the workload's own opens
    before = {p["id"]: p["run_cnt"] for p in ready["programs"]}
    tracepoint = programs["tracepoint"]
    assert tracepoint["run_cnt"] - before[tracepoint["id"]] >= 6
    raw = programs["raw_tracepoint"]
    assert raw["run_cnt"] > before[raw["id"]]

    # map shapes, and contents only at stop: what the probe counted, as it printed it
    maps = {m["name"]: m for m in stop["maps"]}
    assert maps["opens"]["type"] == "hash" and maps["opens"]["key_size"] == 4
    assert maps["opens"]["value_size"] == 8 and maps["opens"]["max_entries"] == 10240
    assert maps["samples"]["type"] == "percpu_array"
    assert all("entries" not in m for m in ready["maps"])
    pid = run.workload.pid
    assert _entry(stop, "opens", pid) == [6]
    assert f"opens pid={pid} n=6" in run.out()
    (samples,) = maps["samples"]["entries"]
    assert len(samples["values"]) == online_cpus()
    assert _le(maps["raw_calls"]["entries"][0]["value"]) > 0


def test_uprobe_counts_are_in_the_map(make_lesson, course_python) -> None:
    step = _step(WorkloadSpec("getenv-marker", {"count": 5}))
    run = _run(make_lesson, course_python, "evidence_all.py", step)
    assert run.error is None and run.exit_code == 0
    stop = run.evidence[-1]
    assert _entry(stop, "getenvs", run.workload.pid) == [5]
    uprobe = next(p for p in stop["programs"] if p["type"] == "kprobe")
    ready = next(p for p in run.evidence[0]["programs"] if p["id"] == uprobe["id"])
    assert uprobe["run_cnt"] - ready["run_cnt"] >= 5


def _lesson_with(make_lesson, step: RunSpec, *specs: CheckSpec):
    lesson = make_lesson(step)
    lesson.checks = list(specs)
    return lesson


def _graded(lesson, probe: str, course_python) -> dict[str, tuple[str, str]]:
    recording = execute.run_lesson(lesson, PROBES / probe, python=course_python, host=HOST)
    report = grade.grade(lesson, recording)
    # and it re-grades the same from its JSON, with no kernel at hand
    again = grade.grade(lesson, Recording.from_dict(recording.to_dict()))
    assert [c.status for c in again.checks] == [c.status for c in report.checks]
    return {c.id: (c.status, c.message) for c in report.checks}


KERNEL_CHECKS = (
    CheckSpec(
        id="kernel-hook",
        kind="kernel.program",
        params={
            "attach": ["tracepoint:syscalls:sys_enter_openat"],
            "min_runs": "{workload.facts.opens}",
        },
    ),
    CheckSpec(
        id="kernel-counts",
        kind="kernel.map",
        params={"type": "hash", "key": "{workload.pid}", "value": "{workload.facts.opens}"},
    ),
    CheckSpec(id="kernel-perf", kind="kernel.perf_events", params={"min": "{host.cpus}"}),
)
LINE = CheckSpec(
    id="counted",
    kind="output.line",
    params={"pattern": r"^opens pid={workload.pid} n={workload.facts.opens}$"},
)


def test_a_real_probe_passes_the_kernel_checks(make_lesson, course_python) -> None:
    step = _step(WorkloadSpec("opens", {"count": 6}))
    verdicts = _graded(_lesson_with(make_lesson, step, LINE, *KERNEL_CHECKS), "evidence_all.py",
                       course_python)  # fmt: skip
    assert all(status == "pass" for status, _ in verdicts.values()), verdicts


def test_perfect_lines_without_bpf_fail_the_kernel_checks(make_lesson, course_python) -> None:
    """The fixture lesson: the line check alone is fooled, the kernel is not."""
    step = _step(WorkloadSpec("opens", {"count": 6}), args=["{workload.pid}", "6"])
    verdicts = _graded(_lesson_with(make_lesson, step, LINE, *KERNEL_CHECKS), "fake_lines.py",
                       course_python)  # fmt: skip
    assert verdicts["counted"][0] == "pass"  # what the probe printed was perfect
    status, message = verdicts["kernel-hook"]
    assert status == "fail" and "held no BPF program" in message
    assert verdicts["kernel-counts"][0] == "fail" and "no BPF map" in verdicts["kernel-counts"][1]
    assert verdicts["kernel-perf"][0] == "fail"


def test_a_map_keyed_by_thread_id_fails(make_lesson, course_python) -> None:
    step = _step(WorkloadSpec("open-thread", {"count": 4}), args=["--by-tid"])
    verdicts = _graded(_lesson_with(make_lesson, step, *KERNEL_CHECKS[:2]), "evidence_all.py",
                       course_python)  # fmt: skip
    assert verdicts["kernel-hook"][0] == "pass"  # the right hook ...
    status, message = verdicts["kernel-counts"]  # ... the wrong key
    assert status == "fail" and "thread id" in message


def test_a_probe_that_exits_by_itself_has_no_stop_snapshot(make_lesson, course_python) -> None:
    step = _step(WorkloadSpec("opens", {"count": 1}))
    step.settle = 5.0  # the probe ends 0.3 s after its ready line, long before the stop
    lesson = _lesson_with(make_lesson, step, *KERNEL_CHECKS[:2])
    recording = execute.run_lesson(lesson, PROBES / "exits_early.py", python=course_python,
                                   host=HOST)  # fmt: skip
    run = recording.runs["main"]
    assert run.stop_reason == "exited" and [s["at"] for s in run.evidence] == ["ready"]
    verdicts = {c.id: c for c in grade.grade(lesson, recording).checks}
    for check in verdicts.values():
        assert check.status == "error" and "exited by itself" in check.message
