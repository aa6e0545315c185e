"""Correct probes written another way pass the kprobe lessons' checks, in ONE
boot of a stock-kernel VM: checks must judge what a probe observed, not how
the reference solution happens to be written (its C spacing, its buffer, its
helpers, flush=True ...).

The alternatives live in tests/live/alt_solutions/NN-slug/*.py, next to the
host lessons' ones (tests/live/test_alt_solutions.py runs those). Each runs
the lesson's probe steps; the learner-tests step is not run (an alternative
comes without tests of its own), so the checks that read it are left out.
Deselect with `-m "not vm"`; in CI (CI=true) a missing VM is a failure."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

import checks
from runner.course.load import load_course
from runner.grade import grade
from runner.live import vm
from runner.model import Lesson, Recording

REPO = Path(__file__).resolve().parents[2]
ALT_DIR = REPO / "tests" / "live" / "alt_solutions"
COURSE = load_course(REPO)
KPROBE_LESSONS = {lesson.id: lesson for lesson in COURSE.lessons if "kprobes" in lesson.requires}
ALTS = [
    (lesson_id, path)
    for lesson_id in KPROBE_LESSONS
    for path in sorted((ALT_DIR / lesson_id).glob("*.py"))
]

pytestmark = [pytest.mark.vm, pytest.mark.live]


def probe_steps(lesson: Lesson) -> list[str]:
    """The steps that run the probe (not a command such as the learner's pytest)."""
    return [step.id for step in lesson.runs if step.command is None]


def judged(lesson: Lesson) -> set[str]:
    """Ids of the checks an alternative is held to: those of the probe steps
    and those that read the source alone."""
    steps = set(probe_steps(lesson))
    found = set()
    for spec in lesson.checks:
        kind = checks.get(spec.kind)
        if (kind is not None and not kind.needs_run) or spec.run in steps:
            found.add(spec.id)
    return found


def key(lesson_id: str, path: Path) -> str:
    return f"{lesson_id}.{path.stem}"


def test_every_kprobe_lesson_has_an_alternative() -> None:
    assert KPROBE_LESSONS, "the course has kprobe lessons"
    have = {lesson_id for lesson_id, _ in ALTS}
    assert have == set(KPROBE_LESSONS), f"no alternative for {set(KPROBE_LESSONS) - have}"


@pytest.fixture(scope="module")
def recordings() -> dict[str, Recording]:
    if os.geteuid() != 0:
        pytest.skip("the alternatives load BPF programs: run the tests as root")
    ok, reason = vm.vm_available()
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the kprobe lessons in a VM, but: {reason}")
        pytest.skip(reason)
    jobs = [
        vm.VmJob(
            key=key(lesson_id, path),
            lesson_id=lesson_id,
            probe_path=path,
            only=probe_steps(KPROBE_LESSONS[lesson_id]),
        )
        for lesson_id, path in ALTS
    ]
    started = time.monotonic()
    found = vm.run_in_vm(
        REPO,
        jobs,
        python=sys.executable,
        on_progress=lambda message: print(f"[vm] {message}", file=sys.stderr),
    )
    print(f"{len(jobs)} alternatives in one VM boot: {time.monotonic() - started:.0f} s")
    return found


@pytest.mark.parametrize(
    ("lesson_id", "path"), ALTS, ids=[f"{lesson_id}:{path.stem}" for lesson_id, path in ALTS]
)
def test_alternative_passes(recordings: dict[str, Recording], lesson_id: str, path: Path) -> None:
    lesson = KPROBE_LESSONS[lesson_id]
    recording = recordings[key(lesson_id, path)]
    assert recording.where.startswith("vm"), f"ran on {recording.where}, not in the VM"
    assert set(recording.runs) == set(probe_steps(lesson)), "every probe step ran"
    report = grade(lesson, recording)
    held = judged(lesson)
    results = [result for result in report.checks if result.id in held]
    assert {result.id for result in results} == held
    failed = [result for result in results if result.status != "pass"]
    assert not failed, f"{path.name} is a correct probe, yet:\n" + "\n".join(
        f"  {result.id}: {result.status}: {result.message}" for result in failed
    )
