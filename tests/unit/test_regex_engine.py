"""An author's regular expression cannot hang the course: every check kind
and readiness matching compile author patterns with checks.api.compile_pattern
(RE2, linear time), and the loader rejects what RE2 cannot run, at file:line."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from checks.api import CheckError, PatternError, compile_pattern, compile_regex
from runner.course.load import REGEX_PARAMS, LoadError, load_course
from runner.model import CheckSpec, Lesson, Line, Recording, Run, RunSpec

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "courses"
CATASTROPHIC = "(a+)+$"  # exponential backtracking under Python's re
VICTIM = "a" * 40 + "b"  # 2**40 ways to split the a's before failing at the b
LIMIT = 10.0  # seconds; RE2 takes microseconds, backtracking takes days


def finishes(code: str, timeout: float = LIMIT) -> str:
    """Run `code` (which imports this module's helpers) in a fresh interpreter,
    so a backtracking match cannot take the test run down with it (Python's re
    holds the GIL): its stdout, or a failure after `timeout` seconds."""
    prelude = "\n".join(
        [
            "import subprocess, sys, time",
            f"sys.path.insert(0, {str(Path(__file__).parent)!r})",
            "from runner.grade import grade",
            "from runner.live.capture import Capture, ready_pattern",
            "from test_regex_engine import CATASTROPHIC, VICTIM, lesson_with, recording",
            "",
        ]
    )
    try:
        done = subprocess.run(
            [sys.executable, "-c", prelude + code],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still matching after {timeout:g} s: the pattern hung the course")
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def lesson_with(kind: str, params: dict[str, Any]) -> Lesson:
    here = Path(".")
    return Lesson(
        id="99-regex", number=99, slug="regex", title="regex", dir=here, text=here,
        starter=here, solution=None, tests_dir=None, runs=[RunSpec(id="main")],
        checks=[CheckSpec(id="c", kind=kind, params=params)],
    )  # fmt: skip


def recording(lines: list[str]) -> Recording:
    run = Run(id="main", lines=[Line(t=0.1, stream="out", text=t) for t in lines])
    run.stdout_lines, run.ready, run.stop_reason, run.exit_code = len(lines), True, "stopped", 0
    return Recording(lesson="99-regex", probe_path="p.py", probe_source="", runs={"main": run})


@pytest.mark.parametrize(
    "kind, params",
    [
        ("output.line", {"pattern": CATASTROPHIC}),
        ("output.absent", {"pattern": CATASTROPHIC}),
        ("output.every", {"pattern": CATASTROPHIC}),
    ],
)
def test_a_catastrophic_pattern_cannot_hang_grading(kind: str, params: dict[str, Any]) -> None:
    status = finishes(
        f"print(grade(lesson_with({kind!r}, {params!r}), recording([VICTIM] * 50))"
        ".checks[0].status)"
    )
    assert status in ("pass", "fail")


def test_a_catastrophic_ready_pattern_cannot_stall_the_capture() -> None:
    """The readiness match runs in the capture's reader threads; under a
    backtracking engine it held them (and the GIL) past the step's timeout."""
    code = """
proc = subprocess.Popen(
    [sys.executable, "-c", f"print({VICTIM!r} * 1000); print('aaaa')"],
    stdout=subprocess.PIPE,
    stderr=subprocess.PIPE,
)
capture = Capture(proc, time.monotonic(), 1000, ready_pattern(CATASTROPHIC), None)
capture.join(60)
proc.wait()
print(capture.total, capture.ready_at is not None)
"""
    assert finishes(code) == "2 True"  # 'aaaa' matched, after the long line


def test_named_groups_work_as_the_lessons_use_them() -> None:
    rx = compile_regex(r"^opens pid=(?P<pid>\d+) n=(?P<n>\d+)$", groups=("pid", "n"))
    m = rx.search("opens pid=42 n=6")
    assert (m.group("pid"), m.group("n")) == ("42", "6") and set(rx.groupindex) == {"pid", "n"}
    assert rx.search("opens pid=x n=6") is None


def author_patterns() -> list[tuple[str, str, str]]:
    """(lesson file, param, pattern) for every regex param in the shipped lessons."""
    found = []

    def walk(value: Any, key: str | None, file: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, k, file)
        elif isinstance(value, list):
            for v in value:
                walk(v, key, file)
        elif isinstance(value, str) and key in (*REGEX_PARAMS, "ignore"):
            found.append((file, key, value))

    for path in sorted(ROOT.glob("lessons/*/lesson.yaml")):
        walk(yaml.safe_load(path.read_text()), None, str(path.relative_to(ROOT)))
    return found


def test_every_pattern_of_the_lessons_compiles_under_re2_with_the_same_groups() -> None:
    patterns = author_patterns()
    assert len(patterns) > 50  # the lessons are full of them
    for file, key, pattern in patterns:
        rx = compile_pattern(pattern)
        assert dict(rx.groupindex) == dict(re.compile(pattern).groupindex), (file, key)


@pytest.mark.parametrize(
    "pattern, why",
    [("^(?=Attached)", "invalid perl operator"), (r"(\d)\1", "invalid escape sequence")],
)
def test_what_re2_cannot_run_is_one_sentence(pattern: str, why: str) -> None:
    with pytest.raises(PatternError, match=why):
        compile_pattern(pattern)
    with pytest.raises(CheckError) as info:
        compile_regex(pattern)
    text = str(info.value)
    assert text.endswith(".") and "\n" not in text and "RE2" in text


def test_the_loader_rejects_a_pattern_re2_cannot_run_at_its_line(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(FIXTURES / "good", course)
    lesson = course / "lessons" / "01-hello" / "lesson.yaml"
    text = lesson.read_text()
    old = r"pattern: '^Hello from (?P<pid>\d+)$'"
    assert old in text
    lesson.write_text(text.replace(old, r"pattern: '^Hello from (?P<pid>\d+)(?!\d)'"))
    line = next(i for i, t in enumerate(lesson.read_text().splitlines(), 1) if "(?!" in t)
    with pytest.raises(LoadError) as info:
        load_course(course)
    (problem,) = [str(e) for e in info.value.errors]
    assert problem.startswith(f"lessons/01-hello/lesson.yaml:{line}:"), problem
    assert "not a valid regular expression" in problem and "RE2" in problem


def test_the_loader_rejects_a_bad_ready_pattern_too(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(FIXTURES / "good", course)
    lesson = course / "lessons" / "01-hello" / "lesson.yaml"
    lesson.write_text(lesson.read_text().replace("ready: '^Attached'", r"ready: '(\w)\1'", 1))
    with pytest.raises(LoadError) as info:
        load_course(course)
    assert any("ready" in str(e) and "RE2" in str(e) for e in info.value.errors)
