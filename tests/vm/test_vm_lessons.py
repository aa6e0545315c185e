"""Lessons 01-04 (kprobes) for real, inside a VM booting Debian's stock
kernel: every solution passes, every untouched starter fails, and every
known-wrong variant fails the check it names.

The VM boots ONCE for the whole module (a module-scoped fixture runs every
case as one job list); each test then only grades a recording. Under
software emulation each kprobe compile takes 10-50 s, so the module takes
minutes: it runs only when selected with `pytest -m vm tests/vm`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

import checks
from runner import vm
from runner.grade import grade
from runner.load import load_lesson
from runner.model import Lesson, Recording
from runner.validate import Case, cases, judge

REPO = Path(__file__).resolve().parents[2]
LESSONS = ["01-hello-kprobe", "02-reading-data", "03-maps", "04-perf-events"]

pytestmark = pytest.mark.vm


def _key(lesson: Lesson, case: Case) -> str:
    return f"{lesson.number:02d}-{case.name.replace('/', '-')}"


def _all_cases() -> list[tuple[Lesson, Case]]:
    found = []
    for lesson_id in LESSONS:
        lesson = load_lesson(REPO, lesson_id)
        found += [(lesson, case) for case in cases(lesson)]
    return found


CASES = _all_cases()


def _steps(lesson: Lesson, case: Case) -> list[str] | None:
    """A wrong variant needs only the step its named check reads: each step
    is another compile, tens of seconds under emulation. Solutions and
    starters run every step (None)."""
    if case.must_fail is None:
        return None
    spec = next(c for c in lesson.checks if c.id == case.must_fail)
    return [spec.run]


def _is_static(lesson: Lesson, case: Case) -> bool:
    """A wrong variant whose named check reads only the source needs no VM."""
    if case.must_fail is None:
        return False
    spec = next(c for c in lesson.checks if c.id == case.must_fail)
    kind = checks.get(spec.kind)
    return kind is not None and not kind.needs_run


@pytest.fixture(scope="module")
def recordings(request: pytest.FixtureRequest) -> dict[str, Recording]:
    # Minutes of emulated boot and compiles: only when asked for by marker.
    if "vm" not in (request.config.option.markexpr or ""):
        pytest.skip("boots a VM for minutes: select it with `pytest -m vm tests/vm`")
    ok, reason = vm.vm_available()
    if not ok:
        pytest.skip(reason)
    jobs = [
        vm.VmJob(_key(lesson, case), lesson.id, case.probe, _steps(lesson, case))
        for lesson, case in CASES
        if not _is_static(lesson, case)
    ]
    started = time.monotonic()
    results = vm.run_in_vm(
        REPO,
        jobs,
        python=sys.executable,
        on_progress=lambda msg: print(f"[vm] {msg}", file=sys.stderr, flush=True),
    )
    took = time.monotonic() - started
    print(f"[vm] {len(jobs)} jobs in one boot took {took:.0f} s", file=sys.stderr)
    return results


@pytest.mark.parametrize(
    ("lesson", "case"), CASES, ids=[_key(lesson, case) for lesson, case in CASES]
)
def test_case_behaves_as_it_must(
    recordings: dict[str, Recording], lesson: Lesson, case: Case
) -> None:
    if _is_static(lesson, case):  # the source is all it reads: no boot needed
        recording = Recording(lesson.id, str(case.probe), case.probe.read_text())
    else:
        recording = recordings[_key(lesson, case)]
        assert recording.where.startswith("vm:")
    report = grade(lesson, recording)
    if case.must_fail is not None:  # judge only the check it names: its step ran
        target = next(c for c in report.checks if c.id == case.must_fail)
        assert target.status == "fail", f"{case.name} should fail {target.id}: {target.message}"
        return
    outcome = judge(lesson, case, report)
    failing = {c.id: f"{c.status}: {c.message}" for c in report.checks if c.status != "pass"}
    assert outcome.status == "pass", f"{outcome.message}; not passing: {failing}"


def test_every_lesson_has_a_solution_a_starter_and_two_wrong_variants() -> None:
    for lesson_id in LESSONS:
        names = [case.name for lesson, case in CASES if lesson.id == lesson_id]
        assert names[:2] == ["solution", "starter"], lesson_id
        assert len(names) >= 4, lesson_id
