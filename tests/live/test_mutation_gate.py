"""The mutation gate on the real kernel, through its own API: every mistake
the operators plant in a host lesson's reference solution fails one of the
lesson's checks, or the lesson declares it equivalent, and the gate leaves
no mutant files behind. Each mutant is a real probe run (a run whose checks
fail ends that mutant).

All the host lessons run here (their challenges too), each on a sample of its mutants taken one
operator after another (`sample_mutants`: every operator that applies gets
at least one mutant before any gets two), so CI on 2 cores stays in budget;
the kprobe lessons' gate runs in tests/vm/test_course_validate.py.
`EBPF_COURSE_GATE_SAMPLE=N` changes the sample (default 6),
`EBPF_COURSE_GATE_LESSONS=all` runs every mutant (about 11 min)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from runner.course.load import load_lesson
from runner.live.host import detect, ensure_tracefs
from runner.model import Course
from runner.mutation import GATE_OPERATORS, KILLED, mutants, run_mutation_gate

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_bpf")]

# lesson -> (fewest mutants the operators must find, operators that must apply)
LESSONS = {
    "05-uprobes": (12, {"tgid-tid", "drop-submit", "wrong-arg", "kernel-read"}),
    "05c-call-latency": (30, {"tgid-tid", "drop-submit", "wrong-clock", "kernel-read"}),
    "06-tracepoints": (12, {"tgid-tid", "drop-submit", "wrong-arg"}),
    "06c-open-results": (15, {"tgid-tid", "drop-submit", "signed-cast-dropped", "kernel-read"}),
    "07-perf-sampling": (12, {"tgid-tid", "count-doubled", "one-cpu", "filter-removed"}),
    "07c-one-process": (25, {"tgid-tid", "count-before-filter", "filter-removed", "one-cpu"}),
    "08-combining": (20, {"tgid-tid", "filter-removed", "count-before-filter", "count-skipped"}),
    "08c-count-only": (60, {"tgid-tid", "filter-removed", "count-before-filter", "option-ignored"}),
}
WHOLE = os.environ.get("EBPF_COURSE_GATE_LESSONS") == "all"
SAMPLE = None if WHOLE else int(os.environ.get("EBPF_COURSE_GATE_SAMPLE", "6"))


@pytest.mark.parametrize("lesson_id", list(LESSONS))
def test_every_mutant_is_killed_or_declared(lesson_id: str) -> None:
    ensure_tracefs()
    host = detect()
    lesson = load_lesson(REPO, lesson_id)
    for feature in lesson.requires:
        found = host["features"].get(feature, {})
        if not found.get("ok"):
            pytest.skip(f"{feature} does not work here: {found.get('reason')}")
    fewest, operators = LESSONS[lesson_id]
    assert lesson.solution is not None
    found, _ = mutants(lesson.solution.read_text(), GATE_OPERATORS)
    assert len(found) >= fewest, f"the operators should find at least {fewest} mistakes"
    assert {m.operator for m in found} >= operators
    course = Course("ebpf-course", "", REPO, [lesson])
    report = run_mutation_gate(course, [lesson], host, python=sys.executable, host_sample=SAMPLE)
    (lm,) = report.lessons
    assert not lm.errors, lm.errors
    assert lm.applied == (len(found) if SAMPLE is None else min(SAMPLE, len(found)))
    undecided = [r for r in lm.results if r.status not in (*KILLED, "equivalent")]
    assert not undecided, "\n".join(
        f"{r.status}: {r.operator} line {r.line}: {r.description} {r.message}" for r in undecided
    )
    assert report.ok
    assert not list(REPO.glob(".mutants-*")), "the gate left its mutant files behind"
