"""Every lesson on the real kernel: the reference solution passes every
check, the untouched starter fails the checks named below (for the reason
given), and each known-wrong variant fails the check it names. Lessons whose
requirements this kernel lacks skip with the reason (tests/vm runs them in a
stock-kernel VM)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runner.course.load import load_course
from runner.grade import grade
from runner.live.execute import run_lesson
from runner.live.host import detect
from runner.model import Lesson, Report
from runner.validate import Case, cases, judge, runs_for, source_only

REPO = Path(__file__).resolve().parents[2]
LESSONS = {lesson.id: lesson for lesson in load_course(REPO).lessons}

# lesson -> (steps the starter runs, checks it must fail: why)
STARTER_FAILS: dict[str, tuple[list[str] | None, list[str]]] = {
    # it loads nothing and knows nothing about the machine yet
    "00-setup": (["main"], ["kernel-truth", "bpf-truth", "ready-truth"]),
    # it attaches nothing, so the workload's calls cannot show
    "05-uprobes": (
        ["main", "missing-binary"],
        ["workload-calls", "kernel-hook", "missing-binary-message"],
    ),
    # no filename, no syscall number, no dfd, and no sched_switch program
    "06-tracepoints": (
        ["main", "sched"],
        ["marker-open", "syscall-nr", "dfd-signed", "sleeper-switched-out", "kernel-sched-hook"],
    ),
    # nothing is attached, so the workload collects no samples
    "07-perf-sampling": (
        ["main"],
        ["workload-row", "workload-rate", "cpus-sampled", "kernel-perf-events"],
    ),
    # it counts nothing in the kernel and its -s filter is a TODO
    "08-combining": (
        ["main", "read-filter"],
        ["summary-counts", "read-filter-only-read", "kernel-read-count"],
    ),
}

CASES = [(lesson_id, case) for lesson_id, lesson in LESSONS.items() for case in cases(lesson)]

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_bpf")]


@pytest.fixture(scope="module")
def host() -> dict:
    return detect()


def usable(lesson: Lesson, host: dict) -> Lesson:
    for feature in ["bpf", *lesson.requires]:
        found = host["features"].get(feature, {})
        if not found.get("ok"):
            pytest.skip(f"{feature} does not work here: {found.get('reason')}")
    return lesson


def check(lesson: Lesson, host: dict, probe: Path, only: list[str] | None = None) -> Report:
    recording = run_lesson(lesson, probe, python=sys.executable, host=host, only=only)
    return grade(lesson, recording)


@pytest.mark.parametrize(("lesson_id", "case"), CASES, ids=[f"{i}:{c.name}" for i, c in CASES])
def test_case_behaves_as_it_must(host: dict, lesson_id: str, case: Case) -> None:
    lesson = usable(LESSONS[lesson_id], host)
    steps = runs_for(lesson, case)
    if case.name == "starter" and lesson_id in STARTER_FAILS:
        steps = STARTER_FAILS[lesson_id][0]
    if steps == []:
        report = grade(lesson, source_only(lesson, case))
    else:
        report = check(lesson, host, case.probe, steps)
    statuses = {c.id: c.status for c in report.checks}
    if case.must_fail is not None:  # only its step ran: judge the check it names
        assert statuses[case.must_fail] == "fail", report.checks
        return
    if case.name == "starter" and lesson_id in STARTER_FAILS:
        for check_id in STARTER_FAILS[lesson_id][1]:
            assert statuses[check_id] == "fail", check_id
        return
    outcome = judge(lesson, case, report)
    failing = {c.id: c.message for c in report.checks if c.status != "pass"}
    assert outcome.status == "pass", f"{outcome.message}; not passing: {failing}"
    if case.name == "solution":
        assert report.score == report.max_score


def test_setup_report_states_the_kprobe_truth_of_this_kernel(host: dict) -> None:
    lesson = usable(LESSONS["00-setup"], host)
    report = check(lesson, host, lesson.solution, only=["main"])
    result = next(c for c in report.checks if c.id == "kprobes-truth")
    assert result.status == "pass", result.message
    want = "available" if host["features"]["kprobes"]["ok"] else "unavailable"
    assert result.expected == f"kprobes: {want}"


def test_every_lesson_has_known_wrong_variants() -> None:
    for lesson in LESSONS.values():
        assert len(lesson.wrong) >= 2, lesson.id
