"""Lesson 04-perf-events on the real kernel: the reference solution passes every check,
the untouched starter fails, and each known-wrong variant fails the check it
names. Needs kprobes: on a kernel without them (like the dev kernel) these
skip, and tests/vm/test_vm_lessons.py runs the same inside a stock-kernel VM."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from runner.execute import run_lesson
from runner.grade import grade
from runner.host import detect
from runner.load import load_lesson
from runner.model import Lesson, Report
from runner.validate import cases, judge

REPO = Path(__file__).resolve().parents[2]
LESSON = "04-perf-events"

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_bpf")]


@pytest.fixture(scope="module")
def lesson() -> Lesson:
    return load_lesson(REPO, LESSON)


@pytest.fixture(scope="module")
def host() -> dict:
    facts = detect()
    for feature in load_lesson(REPO, LESSON).requires:
        found = facts["features"].get(feature, {})
        if not found.get("ok"):
            pytest.skip(f"{feature} do not work here: {found.get('reason')}")
    return facts


def check(lesson: Lesson, host: dict, probe: Path) -> Report:
    return grade(lesson, run_lesson(lesson, probe, python=sys.executable, host=host))


@pytest.mark.parametrize("name", [case.name for case in cases(load_lesson(REPO, LESSON))])
def test_case_behaves_as_it_must(lesson: Lesson, host: dict, name: str) -> None:
    case = next(c for c in cases(lesson) if c.name == name)
    report = check(lesson, host, case.probe)
    outcome = judge(lesson, case, report)
    failing = {c.id: c.message for c in report.checks if c.status != "pass"}
    assert outcome.status == "pass", f"{outcome.message}; not passing: {failing}"
