"""A correct probe written another way passes its lesson: a ring buffer
instead of a perf buffer (or the other way round), a raw tracepoint where
the lesson allows one, other spacing in the C, no flush=True (the runner
starts probes with `python -u`). Checks judge behaviour and the kernel's
view, never how the source is spelled.

The alternatives live in tests/live/alt_solutions/NN-slug/*.py, not under
solutions/ (which validate treats as the reference). They have no learner
tests beside them, so the lesson's pytest step and the checks reading it
are left out of the live run (every other check must pass); the lesson's
learner tests (the solution's unskipped copy) must pass against them too."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import checks
from runner.course.load import load_course
from runner.grade import grade
from runner.live.execute import run_lesson
from runner.live.host import detect
from runner.model import Lesson

REPO = Path(__file__).resolve().parents[2]
ALT = Path(__file__).resolve().parent / "alt_solutions"
LESSONS = {lesson.id: lesson for lesson in load_course(REPO).lessons}
CASES = sorted(
    (folder.name, probe)
    for folder in ALT.iterdir()
    if folder.is_dir()
    for probe in folder.glob("*.py")
)

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


def probe_steps(lesson: Lesson) -> list[str]:
    """Every step that runs the probe (not a plain command such as pytest)."""
    return [spec.id for spec in lesson.runs if spec.command is None]


def test_every_lesson_folder_names_a_lesson() -> None:
    assert CASES, "no alternative solutions found"
    for lesson_id, _ in CASES:
        assert lesson_id in LESSONS, lesson_id


@pytest.mark.parametrize(("lesson_id", "probe"), CASES, ids=[f"{i}:{p.stem}" for i, p in CASES])
def test_alternative_solution_passes(host: dict, lesson_id: str, probe: Path) -> None:
    lesson = usable(LESSONS[lesson_id], host)
    steps = probe_steps(lesson)
    recording = run_lesson(lesson, probe, python=sys.executable, host=host, only=steps)
    report = grade(lesson, recording)
    specs = {spec.id: spec for spec in lesson.checks}
    judged = [
        c
        for c in report.checks
        if specs[c.id].run in steps or not checks.get(specs[c.id].kind).needs_run
    ]
    assert len(judged) >= len(report.checks) - 3  # only the pytest step's checks are left out
    failing = {c.id: c.message for c in judged if c.status != "pass"}
    assert not failing, failing


# Lessons whose alternatives keep every helper the learner tests import (the
# other lessons' alternatives are checked by the live run only).
WITH_HELPERS = {
    "05-uprobes",
    "05c-call-latency",
    "06-tracepoints",
    "07-perf-sampling",
    "07c-one-process",
    "08-combining",
    "08c-count-only",
}
HELPER_CASES = [(i, p) for i, p in CASES if i in WITH_HELPERS]


@pytest.mark.parametrize(
    ("lesson_id", "probe"), HELPER_CASES, ids=[f"{i}:{p.stem}" for i, p in HELPER_CASES]
)
def test_learner_tests_accept_the_alternative(tmp_path: Path, lesson_id: str, probe: Path) -> None:
    """The learner tests judge behaviour (helpers and their results), so a
    probe written another way passes them as well."""
    tests = REPO / "solutions" / lesson_id / "tests"
    shutil.copy(probe, tmp_path / "probe.py")
    shutil.copytree(tests, tmp_path / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
