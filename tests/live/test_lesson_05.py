"""Lesson 05 (uprobes) on the real kernel: the reference solution passes
every check, the untouched starter fails, and each known-wrong variant
fails the check it names."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runner.execute import run_lesson
from runner.grade import grade
from runner.host import detect
from runner.load import load_lesson
from runner.model import Lesson, Report

REPO = Path(__file__).resolve().parents[2]
LESSON = "05-uprobes"

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_bpf")]


@pytest.fixture(scope="module")
def lesson() -> Lesson:
    return load_lesson(REPO, LESSON)


@pytest.fixture(scope="module")
def host() -> dict:
    facts = detect()
    if not facts["features"].get("uprobes", {}).get("ok"):
        pytest.skip(f"uprobes do not work here: {facts['features'].get('uprobes')}")
    return facts


def check(lesson: Lesson, host: dict, probe: Path, only: list[str] | None = None) -> Report:
    recording = run_lesson(lesson, probe, python=sys.executable, host=host, only=only)
    return grade(lesson, recording)


def failing(report: Report) -> dict[str, str]:
    return {c.id: c.message for c in report.checks if c.status != "pass"}


def test_solution_passes_every_check(lesson: Lesson, host: dict) -> None:
    report = check(lesson, host, lesson.solution)
    assert report.status == "pass", failing(report)
    assert report.score == report.max_score


def test_untouched_starter_fails(lesson: Lesson, host: dict) -> None:
    report = check(lesson, host, lesson.starter, only=["main", "missing-binary"])
    statuses = {c.id: c.status for c in report.checks}
    # it attaches nothing, so the workload's calls cannot show
    assert statuses["workload-calls"] == "fail"
    assert statuses["missing-binary-message"] == "fail"


def test_every_wrong_variant_is_known(lesson: Lesson) -> None:
    names = sorted(w.path.name for w in lesson.wrong)
    assert names == ["no_binary_check.py", "own_pid.py", "pointer_not_string.py"]


@pytest.mark.parametrize("name", ["no_binary_check.py", "own_pid.py", "pointer_not_string.py"])
def test_wrong_variant_fails_its_check(lesson: Lesson, host: dict, name: str) -> None:
    variant = next(w for w in lesson.wrong if w.path.name == name)
    spec = next(c for c in lesson.checks if c.id == variant.must_fail)
    report = check(lesson, host, variant.path, only=[spec.run])
    result = next(c for c in report.checks if c.id == variant.must_fail)
    assert result.status == "fail", result.message
