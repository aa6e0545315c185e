"""`course lint`: a corpus of broken lessons, each made from the real lesson 06
by one small edit in a copy of the course, each caught with its file and
line, never a traceback; and the shipped lessons lint clean.

Three mistakes need a run and are `course validate`'s job, not lint's: an
expected-output block the solution cannot print, a starter that passes and
a wrong variant that passes (tests/unit/test_scaffold.py validates those)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner.course.lint import LIVE_ONLY, CourseUnreadable, lint

REPO = Path(__file__).resolve().parents[2]
LESSON = "06-tracepoints"
YAML = f"lessons/{LESSON}/lesson.yaml"
TEXT = f"lessons/{LESSON}/README.md"
STARTER = f"lessons/{LESSON}/probe.py"
SOLUTION_TESTS = f"solutions/{LESSON}/tests/test_probe.py"
WRONG = f"solutions/{LESSON}/wrong/dfd_unsigned.py"


def make_course(root: Path) -> Path:
    """A course of lesson 06 alone, copied from the checkout."""
    course = root / "course"
    for name in ("schema",):
        shutil.copytree(REPO / name, course / name)
    shutil.copy2(REPO / "pyproject.toml", course / "pyproject.toml")
    for top in ("lessons", "solutions"):
        shutil.copytree(
            REPO / top / LESSON,
            course / top / LESSON,
            ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"),
        )
    (course / "course.yaml").write_text(
        'title: broken\nversion: "1"\n# the lessons\nlessons:\n  - 06-tracepoints\n'
    )
    # alone in its course, the lesson builds on no other (its prerequisites are not here)
    edit(course, YAML, r"^prerequisites: \[.*\]$", "prerequisites: []")
    return course


def edit(course: Path, rel: str, pattern: str, new: str, *, flags: int = re.M) -> int:
    """Replace the first match of `pattern` in course/rel; the 1-based line
    where the replacement starts."""
    path = course / rel
    text = path.read_text()
    m = re.search(pattern, text, flags)
    assert m, f"{rel} no longer has {pattern!r}: update this test's edit"
    path.write_text(text[: m.start()] + new + text[m.end() :])
    return text.count("\n", 0, m.start()) + 1


def append_section(course: Path, heading: str, body: str) -> int:
    """Insert `body` under the `## heading` of the text; the line it starts on."""
    return edit(course, TEXT, rf"^## {heading}\n\n", f"## {heading}\n\n{body}\n") + 2


@dataclass
class Case:
    name: str
    # edits the course; returns (file, line) where the problem must be reported
    make: Callable[[Path], tuple[str, int]]
    says: str  # a phrase of the message


def _yaml(pattern: str, new: str, line_offset: int = 0) -> Callable[[Path], tuple[str, int]]:
    def make(course: Path) -> tuple[str, int]:
        return YAML, edit(course, YAML, pattern, new) + line_offset

    return make


def _text(pattern: str, new: str, line_offset: int = 0) -> Callable[[Path], tuple[str, int]]:
    def make(course: Path) -> tuple[str, int]:
        return TEXT, edit(course, TEXT, pattern, new) + line_offset

    return make


def _snippet(code: str, offset: int, heading: str = "Concepts"):
    def make(course: Path) -> tuple[str, int]:
        start = append_section(course, heading, f"```python\n{code}\n```\n")
        return TEXT, start + 1 + offset  # +1: the fence line

    return make


def _symlink_file(course: Path) -> tuple[str, int]:
    rel = f"solutions/{LESSON}/tests/helper.py"
    os.symlink(course / f"solutions/{LESSON}/probe.py", course / rel)
    return rel, 1


def _symlink_text(course: Path) -> tuple[str, int]:
    (course / TEXT).rename(course / "elsewhere.md")
    os.symlink(course / "elsewhere.md", course / TEXT)
    return TEXT, 1


def _stray(rel: str):
    def make(course: Path) -> tuple[str, int]:
        (course / rel).write_text("notes\n")
        return rel, 1

    return make


def _no_todo(course: Path) -> tuple[str, int]:
    path = course / STARTER
    path.write_text(path.read_text().replace("TODO", "NOTE"))
    return STARTER, 1


def _no_starter(course: Path) -> tuple[str, int]:
    (course / STARTER).unlink()
    lines = (course / YAML).read_text().splitlines()
    return YAML, next(i for i, ln in enumerate(lines, 1) if not ln.startswith("#"))


def _skipped_solution_tests(course: Path) -> tuple[str, int]:
    edit(
        course,
        SOLUTION_TESTS,
        r"^import pytest\n",
        'import pytest\n\npytestmark = pytest.mark.skip(reason="x")\n',
    )
    return TEXT, _documented_test_line(course)


def _documented_test_line(course: Path) -> int:
    lines = (course / TEXT).read_text().splitlines()
    return next(
        i for i, ln in enumerate(lines, 1) if re.match(r"^(\./course test|python -m pytest)", ln)
    )


def _pytest_path(course: Path) -> tuple[str, int]:
    line = _documented_test_line(course)
    edit(
        course,
        TEXT,
        r"^(\./course test 06|python -m pytest -q tests)$",
        "python -m pytest -q tests/test_none.py",
    )
    return TEXT, line


def _no_hints(course: Path) -> tuple[str, int]:
    text = (course / YAML).read_text()
    text = re.sub(r"(?ms)^hints:\n(?:  - .*?\n)+", "", text)
    (course / YAML).write_text(text)
    return YAML, 1


def _wrong_without_header(course: Path) -> tuple[str, int]:
    edit(course, WRONG, r"^# must-fail: .*\n", "")
    return WRONG, 1


def _orphan(course: Path) -> tuple[str, int]:
    shutil.copytree(course / "lessons" / LESSON, course / "lessons" / "07-orphan")
    return "lessons/07-orphan/lesson.yaml", 1


def _course_lists_missing(course: Path) -> tuple[str, int]:
    return "course.yaml", edit(
        course, "course.yaml", r"^  - 06-tracepoints\n", "  - 06-tracepoints\n  - 09-gone\n"
    ) + 1


CASES = [
    # lesson.yaml: YAML itself
    Case("bad-yaml", _yaml(r"^title: .*$", "title: Trace: points"), "not valid YAML"),
    Case("tab-indent", _yaml(r"^requires: .*$", "requires:\n\t- tracepoints", 1), "not valid YAML"),
    Case("duplicate-key", _yaml(r"^title: .*$", "title: A\ntitle: B", 1), "duplicate key"),
    Case("python-tag", _yaml(r"^title: .*$", "title: !!python/name:os.system x"), "tag"),
    Case("alias", _yaml(r"^title: .*$", "title: &t Tracepoints"), "anchors and aliases"),
    # lesson.yaml: the schema
    Case("unknown-key", _yaml(r"^requires: ", "colour: red\nrequires: "), "colour"),
    Case(
        "unknown-check-key",
        _yaml(r"^    kind: output\.line\n", "    kind: output.line\n    weight: 2\n", 1),
        "weight",
    ),
    Case("points-not-integer", _yaml(r"^    points: 3$", "    points: three"), "three"),
    Case("empty-hint-string", _yaml(r"^  - Start from", '  - ""\n  - Start from'), "hint"),
    # lesson.yaml: the lesson's own sense
    Case(
        "bad-regex",
        _yaml(
            r"params: \{pattern: '\^Attached to tracepoint syscalls",
            "params: {pattern: '^Attached (to tracepoint syscalls",
        ),
        "regular expression",
    ),
    Case(
        "unknown-check-kind",
        _yaml(r"kind: output\.line", "kind: output.lines"),
        "unknown check kind",
    ),
    Case(
        "unknown-param",
        _yaml(
            r"params: \{pattern: '\^Attached to tracepoint syscalls",
            "params: {colour: x, pattern: '^Attached to tracepoint syscalls",
        ),
        "colour",
    ),
    Case(
        "duplicate-check-id", _yaml(r"^  - id: marker-comm$", "  - id: marker-open"), "used twice"
    ),
    Case("missing-run", _yaml(r"^    run: sched$", "    run: schedule"), "schedule"),
    Case(
        "unknown-workload",
        _yaml(r"kind: open-marker", "kind: open-markers"),
        "unknown workload kind",
    ),
    Case("bad-template", _yaml(r'"\{workload\.pid\}"', '"{workload.pdi}"'), "pdi"),
    Case("missing-text", _yaml(r"^requires: ", "text: NOTES.md\nrequires: "), "NOTES.md"),
    Case("missing-starter", _no_starter, "starter"),
    # wrong variants
    Case(
        "wrong-names-missing-check",
        lambda c: (WRONG, edit(c, WRONG, r"^# must-fail: .*$", "# must-fail: dfd-unsigned")),
        "names no check",
    ),
    Case("wrong-without-header", _wrong_without_header, "must-fail"),
    # hints
    Case("blank-hint", _yaml(r"^  - Start from", '  - "   "\n  - Start from'), "blank"),
    Case(
        "blank-check-hint",
        _yaml(r"^    hint: Print \"Attached", '    hint: "  "\n    x_hint: Print "Attached'),
        "hint",
    ),
    Case("no-hints", _no_hints, "no hints"),
    # the text
    Case("no-title", _text(r"^# .*\n\n", ""), "title"),
    Case("missing-section", _text(r"^## Troubleshooting$", "## Problems"), "Troubleshooting"),
    Case("empty-goal", _text(r"^## Goal\n\n", "## Goal\n\n## Overview\n\n"), "Goal"),
    Case(
        "nested-asyncio-run",
        _snippet("import asyncio\n\nasync def main():\n    asyncio.run(main())", 3),
        "event loop",
    ),
    Case("undeclared-import", _snippet("import rich\n\nrich.print('x')", 0), "rich"),
    Case("snippet-syntax", _snippet("def broken(:\n    pass", 0), "not valid Python"),
    Case("pytest-collects-skipped", _skipped_solution_tests, "skipped"),
    Case("pytest-collects-nothing", _pytest_path, "collects"),
    Case(
        "dead-link",
        _text(r"^## Steps\n\n", "## Steps\n\nSee [the format](format.txt).\n\n", 2),
        "format.txt",
    ),
    Case(
        "link-outside",
        _text(r"^## Steps\n\n", "## Steps\n\nSee [this](../../../etc/passwd).\n\n", 2),
        "outside",
    ),
    Case(
        "missing-lesson-ref",
        _text(r"^## Steps\n\n", "## Steps\n\nAs lesson 42 showed, ...\n\n", 2),
        "42",
    ),
    Case(
        "missing-course-check-ref",
        _text(r"^## Steps\n\n", "## Steps\n\nRun `course check 77`.\n\n", 2),
        "77",
    ),
    # the starter
    Case("starter-without-todo", _no_todo, "TODO"),
    # files
    Case("symlinked-file", _symlink_file, "symbolic link"),
    Case("symlinked-text", _symlink_text, "symbolic link"),
    Case("stray-file", _stray(f"lessons/{LESSON}/notes.txt"), "not part of a lesson"),
    Case(
        "stray-solution-file", _stray(f"solutions/{LESSON}/wrong/README.md"), "not part of a lesson"
    ),
    # course.yaml
    Case("course-lists-missing", _course_lists_missing, "09-gone"),
    Case("lesson-not-listed", _orphan, "not in course.yaml"),
]


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30


def test_the_untouched_copy_lints_clean(tmp_path: Path) -> None:
    report = lint(make_course(tmp_path))
    assert report.problems == [], "\n".join(map(str, report.problems))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_each_broken_lesson_is_caught_at_its_line(case: Case, tmp_path: Path) -> None:
    course = make_course(tmp_path)
    file, line = case.make(course)
    report = lint(course)
    found = [p for p in report.problems if p.file == file and p.line == line]
    shown = "\n".join(map(str, report.problems)) or "no problems"
    assert found, f"nothing reported at {file}:{line}; lint said:\n{shown}"
    assert any(case.says.lower() in p.message.lower() for p in found), shown
    for problem in report.problems:
        assert problem.fix and problem.message.endswith((".", ")")), problem
        assert "Traceback" not in problem.message


def test_the_cli_prints_file_line_and_fix_and_exits_1(tmp_path: Path) -> None:
    course = make_course(tmp_path)
    line = edit(course, YAML, r"kind: output\.line", "kind: output.lines")
    run = _cli("lint", "06", "--course", str(course))
    assert run.returncode == 1, run.stderr
    assert f"{YAML}:{line}: unknown check kind 'output.lines'" in run.stdout
    assert "Fix: " in run.stdout and "Traceback" not in run.stderr
    as_json = json.loads(_cli("lint", "--json", "--course", str(course)).stdout)
    assert as_json["status"] == "fail"
    assert {"file": YAML, "line": line}.items() <= as_json["problems"][0].items()
    assert as_json["not_checked"] == LIVE_ONLY


def test_no_course_is_exit_2(tmp_path: Path) -> None:
    run = _cli("lint", "--course", str(tmp_path))
    assert run.returncode == 2 and "no course.yaml" in run.stderr
    assert "Traceback" not in run.stderr
    with pytest.raises(CourseUnreadable):
        lint(make_course(tmp_path), ["42"])


def test_expected_output_the_solution_cannot_print_is_left_to_validate(tmp_path: Path) -> None:
    """It needs a run: lint says so rather than guessing (test_scaffold validates it)."""
    course = make_course(tmp_path)
    edit(course, TEXT, r"^Attached to tracepoint syscalls:sys_enter_openat$", "Attached to nothing")
    report = lint(course)
    assert report.problems == []
    assert "expected output" in report.not_checked


def test_the_shipped_lessons_lint_clean_in_seconds() -> None:
    started = time.monotonic()
    report = lint(REPO)
    took = time.monotonic() - started
    assert report.problems == [], "\n".join(map(str, report.problems))
    assert took < 30, f"lint took {took:.1f} s"


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )


def test_a_challenge_needs_a_goal_and_its_expected_output_but_no_steps() -> None:
    from runner.course.lint import text_problems

    text = "# Challenge\n\n## Goal\n\nTrace it.\n\n## Expected output\n\n```output\nx\n```\n"
    assert text_problems(text, "README.md", "06c-open-results") == []
    guided = [p.message for p in text_problems(text, "README.md", "06-tracepoints")]
    assert any("## Steps" in m for m in guided) and any("## Concepts" in m for m in guided)
    no_output = text.split("## Expected output")[0]
    said = [p.message for p in text_problems(no_output, "README.md", "06c-open-results")]
    assert said == ["README.md has no `## Expected output` section."]
