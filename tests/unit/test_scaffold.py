"""`course new`: a lesson that loads, lints clean and (live) validates at once;
and the mistakes only a run can show (validate's job, not lint's): a starter
that passes, a wrong variant that passes, documented output the solution
cannot print."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runner.course.lint import lint
from runner.course.load import load_course, load_lesson
from runner.course.scaffold import ScaffoldError, new_lesson

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A copy of the shipped course."""
    dest = tmp_path / "course"
    dest.mkdir()
    for name in ("course.yaml", "pyproject.toml"):
        shutil.copy2(REPO / name, dest / name)
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache")
    for name in ("schema", "lessons", "solutions"):
        shutil.copytree(REPO / name, dest / name, ignore=ignore)
    return dest


def cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=timeout,
    )


def test_new_then_lint_is_clean_in_under_5_seconds(course: Path) -> None:
    started = time.monotonic()
    made = cli("new", "09-demo", "--course", str(course))
    linted = cli("lint", "09", "--course", str(course))
    took = time.monotonic() - started
    assert made.returncode == 0, made.stderr
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert "no problems in 1 lesson" in linted.stdout
    assert took < 5, f"new + lint took {took:.1f} s"


def test_the_new_lesson_has_every_part_and_loads(course: Path) -> None:
    made = new_lesson(course, "09-demo")
    names = {str(p) for p in made.files}
    assert {
        "lessons/09-demo/lesson.yaml",
        "lessons/09-demo/README.md",
        "lessons/09-demo/probe.py",
        "lessons/09-demo/tests/test_probe.py",
        "solutions/09-demo/probe.py",
        "solutions/09-demo/tests/test_probe.py",
        "solutions/09-demo/wrong/no_count.py",
    } <= names
    lesson = load_lesson(course, "09-demo")
    assert lesson.hints and lesson.wrong[0].must_fail == "events-total"
    assert "TODO" in lesson.starter.read_text()
    assert "pytest.mark.skip" in (course / "lessons/09-demo/tests/test_probe.py").read_text()
    assert "pytest.mark.skip" not in (course / "solutions/09-demo/tests/test_probe.py").read_text()
    text = lesson.text.read_text()
    for section in (
        "## Goal",
        "## Concepts",
        "## Steps",
        "## Expected output",
        "## Troubleshooting",
    ):
        assert section in text
    yaml_text = (course / "lessons/09-demo/lesson.yaml").read_text()
    for key in ("title:", "requires:", "text:", "hints:", "runs:", "checks:"):
        line = next(ln for ln in yaml_text.splitlines() if ln.startswith(key))
        before = yaml_text.splitlines()[yaml_text.splitlines().index(line) - 1]
        assert before.startswith("#"), f"{key} has no comment above it"
    # in course.yaml's lesson order, after the last lesson, comments kept
    listed = [x.id for x in load_course(course).lessons]
    assert listed[-2:] == [load_course(REPO).lessons[-1].id, "09-demo"]
    assert (course / "course.yaml").read_text().startswith("# The embedded default course.")


def test_from_copies_a_lesson_renamed_and_lints_clean(course: Path) -> None:
    made = new_lesson(course, "09-more-tracepoints", from_lesson="06")
    assert any(str(p) == "solutions/09-more-tracepoints/wrong/dfd_unsigned.py" for p in made.files)
    lesson = load_lesson(course, "09-more-tracepoints")
    assert lesson.title == "More tracepoints"
    assert len(lesson.checks) == len(load_lesson(course, "06-tracepoints").checks)
    text = lesson.text.read_text()
    assert text.startswith("# Lesson 09:") and "course check 06" not in text
    report = lint(course, ["09"])
    assert report.problems == [], "\n".join(map(str, report.problems))


def test_new_refuses_to_overwrite_or_guess(course: Path) -> None:
    with pytest.raises(ScaffoldError, match="already exists"):
        new_lesson(course, "06-tracepoints")
    with pytest.raises(ScaffoldError, match="taken by 06-tracepoints"):
        new_lesson(course, "06-other")
    with pytest.raises(ScaffoldError, match="not a lesson id"):
        new_lesson(course, "9-demo")
    with pytest.raises(ScaffoldError, match="no such lesson"):
        new_lesson(course, "09-demo", from_lesson="42")
    assert not (course / "lessons" / "09-demo").exists()
    refused = cli("new", "06-tracepoints", "--course", str(course))
    assert refused.returncode == 2 and "already exists" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_flow_style_lesson_lists_get_the_id_too(tmp_path: Path) -> None:
    from runner.course.scaffold import add_to_course_yaml

    path = tmp_path / "course.yaml"
    path.write_text('title: t\nversion: "1"\nlessons: [01-a, 03-c]\n')
    add_to_course_yaml(path, "02-b")
    assert "lessons: [01-a, 02-b, 03-c]" in path.read_text()


# ---------------------------------------------------------------- live: validate


@pytest.mark.live
def test_new_lint_validate_is_green(course: Path, tmp_path: Path, needs_bpf) -> None:
    assert cli("new", "09-demo", "--course", str(course)).returncode == 0
    assert cli("lint", "09", "--course", str(course)).returncode == 0
    done = cli(
        "validate",
        "--lesson",
        "09",
        "--course",
        str(course),
        "--workspace",
        str(tmp_path / "ws"),
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed, 0 failed" in done.stdout


@pytest.mark.live
def test_validate_catches_what_lint_cannot(course: Path, tmp_path: Path, needs_bpf) -> None:
    """A starter that passes and a wrong variant that passes (lesson 09), an
    expected output the solution cannot print (lesson 10): lint is clean,
    validate fails each one."""
    new_lesson(course, "09-demo")
    new_lesson(course, "10-demo")
    lesson_dir, solution_dir = course / "lessons/09-demo", course / "solutions/09-demo"
    solution = (solution_dir / "probe.py").read_text()
    # a starter that is the solution, with the learner tests already unskipped
    (lesson_dir / "probe.py").write_text(solution + "# TODO: nothing left to do\n")
    shutil.copy2(solution_dir / "tests/test_probe.py", lesson_dir / "tests/test_probe.py")
    (solution_dir / "wrong/no_count.py").write_text(
        "#!/usr/bin/env python3\n# must-fail: events-total\n" + solution.split("\n", 1)[1]
    )
    readme = course / "lessons/10-demo/README.md"
    readme.write_text(readme.read_text().replace("Detached after 2 opens.", "Bye after 2 opens."))
    assert lint(course, ["09", "10"]).problems == []
    done = cli(
        "validate",
        "--lesson",
        "09",
        "--lesson",
        "10",
        "--course",
        str(course),
        "--workspace",
        str(tmp_path / "ws"),
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "09-demo solution: passes all" in out
    assert "09-demo starter: the untouched starter passes every check" in out
    assert "09-demo wrong/no_count.py: should fail 'events-total'" in out
    assert "10-demo solution: the reference solution does not pass 'expected-output'" in out
