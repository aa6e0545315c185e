"""A probe that prints perfect lines without loading any BPF program fails
lessons 06, 08 and 08c, and the check it fails is the kernel-evidence one.

The probes are the lessons' wrong variants `fake_lines.py` (08c:
`fake_counts.py`): they run strace (ptrace, no BPF) on the course's
processes, which are started and waiting before the probe is; 06 makes up
the syscall number. Each prints exactly the lines (08c: the counts) a
correct tracer prints, so every line check passes and only the
kernel's own view (no program attached at the hook) tells them apart."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

import checks
from runner.course.load import load_course
from runner.grade import grade
from runner.live.execute import run_lesson
from runner.live.host import detect

REPO = Path(__file__).resolve().parents[2]
LESSONS = {lesson.id: lesson for lesson in load_course(REPO).lessons}
FAKES = {
    "06-tracepoints": REPO / "solutions/06-tracepoints/wrong/fake_lines.py",
    "08-combining": REPO / "solutions/08-combining/wrong/fake_lines.py",
    # strace -c is the count-only fake: the same counts, no program, no map
    "08c-count-only": REPO / "solutions/08c-count-only/wrong/fake_counts.py",
}

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_bpf")]


@pytest.fixture(scope="module")
def host() -> dict:
    return detect()


@pytest.mark.parametrize("lesson_id", sorted(FAKES))
def test_perfect_lines_without_bpf_fail_the_kernel_check(host: dict, lesson_id: str) -> None:
    lesson = LESSONS[lesson_id]
    for feature in ["bpf", *lesson.requires]:
        if not host["features"].get(feature, {}).get("ok"):
            pytest.skip(f"{feature} does not work here")
    if shutil.which("strace") is None:
        pytest.skip("the fake tracers need strace (setup installs it)")
    recording = run_lesson(
        lesson, FAKES[lesson_id], python=sys.executable, host=host, only=["main"]
    )
    report = grade(lesson, recording)
    specs = {spec.id: spec for spec in lesson.checks}
    results = {c.id: c for c in report.checks}

    hook = results["kernel-hook"]
    assert specs["kernel-hook"].kind == "kernel.program"
    assert hook.status == "fail", hook.message
    assert "held no BPF program" in hook.message

    # the lines were perfect: every other check of the run passed, except
    # the kernel-evidence ones (the maps it never had)
    of_main = [
        c
        for c in report.checks
        if specs[c.id].run == "main" and checks.get(specs[c.id].kind).needs_run
    ]
    not_passing = {
        c.id: c.message
        for c in of_main
        if c.status != "pass" and not specs[c.id].kind.startswith("kernel.")
    }
    assert not not_passing, not_passing
