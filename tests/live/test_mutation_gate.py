"""The mutation gate on the real kernel, through its own API: every mistake
the operators plant in a host lesson's reference solution fails one of the
lesson's checks, or the lesson declares it equivalent, and the gate leaves
no mutant files behind. Each mutant is a real probe run (a run whose checks
fail ends that mutant). The whole course's gate runs once, in
tests/vm/test_course_validate.py (`course validate --vm auto --mutants`);
this test keeps the fastest host lesson (about 1.5 min on 2 cores) so that
`-m "not vm"` still proves the gate live. `EBPF_COURSE_GATE_LESSONS=all`
runs the four host lessons here (about 11 min)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from runner.course.load import load_lesson
from runner.live.host import detect, ensure_tracefs
from runner.model import Course
from runner.mutation import KILLED, run_mutation_gate

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_bpf")]

# lesson -> (fewest mutants the operators must find, operators that must apply)
LESSONS = {
    "05-uprobes": (12, {"tgid-tid", "drop-submit", "wrong-arg", "kernel-read"}),
    "06-tracepoints": (12, {"tgid-tid", "drop-submit", "wrong-arg"}),
    "07-perf-sampling": (12, {"tgid-tid", "count-doubled", "one-cpu", "filter-removed"}),
    "08-combining": (20, {"tgid-tid", "filter-removed", "count-before-filter", "count-skipped"}),
}
CHOSEN = list(LESSONS) if os.environ.get("EBPF_COURSE_GATE_LESSONS") == "all" else ["05-uprobes"]


@pytest.mark.parametrize("lesson_id", CHOSEN)
def test_every_mutant_is_killed_or_declared(lesson_id: str) -> None:
    ensure_tracefs()
    host = detect()
    lesson = load_lesson(REPO, lesson_id)
    for feature in lesson.requires:
        found = host["features"].get(feature, {})
        if not found.get("ok"):
            pytest.skip(f"{feature} does not work here: {found.get('reason')}")
    course = Course("ebpf-course", "", REPO, [lesson])
    report = run_mutation_gate(course, [lesson], host, python=sys.executable)
    (lm,) = report.lessons
    assert not lm.errors, lm.errors
    fewest, operators = LESSONS[lesson_id]
    assert lm.applied >= fewest, f"the operators should find at least {fewest} mistakes"
    assert {r.operator for r in lm.results} >= operators
    undecided = [r for r in lm.results if r.status not in (*KILLED, "equivalent")]
    assert not undecided, "\n".join(
        f"{r.status}: {r.operator} line {r.line}: {r.description} {r.message}" for r in undecided
    )
    assert report.ok
    assert not list(REPO.glob(".mutants-*")), "the gate left its mutant files behind"
