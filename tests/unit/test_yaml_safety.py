"""A hostile or broken course file is refused as one `file:line` sentence:
too big, tagged with Python objects, nested too deep, or an alias bomb,
never a traceback, a RecursionError or a MemoryError."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from itertools import pairwise
from pathlib import Path

import pytest

from runner.course.load import LoadError, load_course
from runner.course.yamldoc import MAX_DEPTH, MAX_YAML_BYTES, parse_yaml
from runner.paths import DEFAULT_COURSE

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "courses"
LESSON = "lessons/01-hello/lesson.yaml"
REPO = Path(__file__).resolve().parents[2]

LOLS = "abcdefghi"
BILLION_LAUGHS = (
    'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    + "".join(f"{b}: &{b} [{', '.join(['*' + a] * 9)}]\n" for a, b in pairwise(LOLS))
    + "title: *i\n"
)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    dest = tmp_path / "course"
    shutil.copytree(FIXTURES / "good", dest)
    return dest


def append(course: Path, text: str) -> int:
    """Add `text` to the fixture lesson; returns the line it starts on."""
    path = course / LESSON
    before = path.read_text()
    path.write_text(before + text)
    return before.count("\n") + 1


def refusal(course: Path) -> str:
    with pytest.raises(LoadError) as info:
        load_course(course)
    assert len(info.value.errors) == 1, [str(e) for e in info.value.errors]
    return str(info.value)


def test_the_shipped_course_still_loads() -> None:
    assert len(load_course(DEFAULT_COURSE).lessons) >= 9


def test_plain_core_tags_are_still_fine() -> None:
    doc, problems = parse_yaml("a: !!str 1.0\nb: !!int 3\nc: !!map {d: !!seq [1]}\n", "x.yaml")
    assert doc.data == {"a": "1.0", "b": 3, "c": {"d": [1]}} and problems == []


# ---------------------------------------------------------------- size


def test_a_file_over_the_size_limit_is_refused_unparsed(course: Path) -> None:
    append(course, "# " + "x" * MAX_YAML_BYTES + "\n")
    message = refusal(course)
    assert message.startswith(f"{LESSON}:1: ") and "1,000,000 bytes" in message


def test_parse_yaml_refuses_oversized_text_too() -> None:
    with pytest.raises(LoadError, match=r"^big\.yaml:1: .*more than a course file may be"):
        parse_yaml("a: " + "b" * MAX_YAML_BYTES, "big.yaml")


# ---------------------------------------------------------------- tags


@pytest.mark.parametrize(
    "value",
    [
        "!!python/object/apply:os.system ['echo owned']",
        "!!python/name:os.system ''",
        "!!python/object:collections.OrderedDict {}",
        "!custom thing",
        "!!set {a, b}",
    ],
)
def test_tags_other_than_plain_data_are_refused(course: Path, value: str) -> None:
    line = append(course, f"extra: {value}\n")
    message = refusal(course)
    assert message.startswith(f"{LESSON}:{line}: the tag "), message
    assert "is not allowed in course files" in message


def test_a_bad_value_under_a_core_tag_is_a_load_error() -> None:
    with pytest.raises(LoadError, match=r"^x\.yaml:1: "):
        parse_yaml("a: !!int abc\n", "x.yaml")


# ---------------------------------------------------------------- depth


@pytest.mark.parametrize("style", ["flow", "block"])
def test_deep_nesting_is_refused_not_a_recursion_error(course: Path, style: str) -> None:
    n = 10_000
    if style == "flow":
        text, offset = "extra: " + "[" * n + "]" * n + "\n", 0
    else:
        text, offset = "extra:\n  " + "- " * n + "x\n", 1  # `- - x` nests in block style
    line = append(course, text) + offset
    message = refusal(course)
    assert message.startswith(f"{LESSON}:{line}: this is nested more than {MAX_DEPTH} levels")


def test_nesting_up_to_the_limit_is_fine() -> None:
    depth = MAX_DEPTH - 1  # the document's own mapping is the first level
    doc, _ = parse_yaml("a: " + "[" * depth + "]" * depth + "\n", "x.yaml")
    assert doc.data is not None


# ---------------------------------------------------------------- aliases


def test_billion_laughs_is_refused_at_once(course: Path) -> None:
    assert len(BILLION_LAUGHS) < 1000  # 9**9 "lol"s once expanded
    path = course / LESSON
    path.write_text(BILLION_LAUGHS + path.read_text().replace("title: Hello\n", ""))
    started = time.monotonic()
    message = refusal(course)
    assert time.monotonic() - started < 5
    assert message.startswith(f"{LESSON}:1: anchors and aliases (&a) are not allowed"), message


def test_a_lone_alias_or_anchor_is_refused() -> None:
    with pytest.raises(LoadError, match=r"^x\.yaml:2: anchors and aliases \(&h\)"):
        parse_yaml("a: 1\nb: &h {c: 2}\n", "x.yaml")
    with pytest.raises(LoadError, match=r"^x\.yaml:1: "):
        parse_yaml("b: *nowhere\n", "x.yaml")  # undefined: PyYAML's own error, still ours


def test_the_shipped_lessons_use_no_anchors() -> None:
    for path in sorted((DEFAULT_COURSE / "lessons").glob("*/lesson.yaml")):
        text = path.read_text()
        parse_yaml(text, str(path))  # would raise on an anchor, a tag or a depth


# ---------------------------------------------------------------- the CLI


def test_the_cli_shows_the_refusal_with_exit_2(course: Path) -> None:
    append(course, "extra: !!python/object/apply:os.system ['echo owned']\n")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "runner.cli", "--course", str(course), "list"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "owned" not in done.stdout
    assert f"{LESSON}:" in done.stderr and "is not allowed" in done.stderr
