"""Lesson 06 (tracepoints) on the real kernel: the reference solution passes
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
LESSON = "06-tracepoints"
WRONG = ["dfd_unsigned.py", "kernel_read.py", "one_program.py"]

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_bpf")]


@pytest.fixture(scope="module")
def lesson() -> Lesson:
    return load_lesson(REPO, LESSON)


@pytest.fixture(scope="module")
def host() -> dict:
    facts = detect()
    if not facts["features"].get("tracepoints", {}).get("ok"):
        pytest.skip(f"tracepoints do not work here: {facts['features'].get('tracepoints')}")
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
    report = check(lesson, host, lesson.starter, only=["main", "sched"])
    statuses = {c.id: c.status for c in report.checks}
    # no filename, no syscall number, no dfd, and no sched_switch program
    assert statuses["marker-open"] == "fail"
    assert statuses["syscall-nr"] == "fail"
    assert statuses["dfd-signed"] == "fail"
    assert statuses["sleeper-switched-out"] == "fail"


def test_every_wrong_variant_is_known(lesson: Lesson) -> None:
    assert sorted(w.path.name for w in lesson.wrong) == WRONG


@pytest.mark.parametrize("name", WRONG)
def test_wrong_variant_fails_its_check(lesson: Lesson, host: dict, name: str) -> None:
    variant = next(w for w in lesson.wrong if w.path.name == name)
    spec = next(c for c in lesson.checks if c.id == variant.must_fail)
    report = check(lesson, host, variant.path, only=[spec.run])
    result = next(c for c in report.checks if c.id == variant.must_fail)
    assert result.status == "fail", result.message
