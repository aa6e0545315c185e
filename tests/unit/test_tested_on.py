"""tested-on.yaml (runner.course.tested_on): the kernels each lesson's
solution passed on, written by the kernel matrix and shown by `course list`,
`course doctor` and the TUI's lesson header. A malformed file is one
sentence, and the rest of the course works without it."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest

from runner import cli
from runner.course.load import load_course
from runner.course.tested_on import (
    FILE_NAME,
    KernelResult,
    TestedOn,
    TestedOnError,
    dump_tested_on,
    load_tested_on,
    write_tested_on,
)
from runner.present import doctor as present_doctor
from runner.session import Session
from runner.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "tested-on" / "embedded-course.yaml"
# The example of the format, as the kernel matrix writes it.
EXAMPLE = """\
# Written by `course validate --kernels all --record`; do not edit by hand.
date: "2026-12-02"
bcc: "0.18.0"
kernels:            # name -> exact release booted
  "6.1": "6.1.0-57-amd64"
  "6.12": "6.12.95+deb12-amd64"
  "7.2": "7.2.13+deb14-amd64"
lessons:
  01-hello-kprobe:
    "6.1": {status: passed}
    "7.2": {status: failed, reason: "one sentence"}
    "6.12": {status: unsupported, reason: "no BTF"}
  06-tracepoints:
    "7.2": {status: passed}
    "6.1": {status: passed}
    "6.12": {status: passed}
  07-perf-sampling:
    "6.12": {status: passed}
"""


def example(tmp_path: Path, text: str = EXAMPLE) -> TestedOn:
    (tmp_path / FILE_NAME).write_text(text)
    tested = load_tested_on(tmp_path)
    assert tested is not None
    return tested


# ---------------------------------------------------------------- reading and writing


def test_no_file_is_no_information(tmp_path: Path) -> None:
    assert load_tested_on(tmp_path) is None


def test_the_example_reads_as_written(tmp_path: Path) -> None:
    tested = example(tmp_path)
    assert (tested.date, tested.bcc) == ("2026-12-02", "0.18.0")
    assert tested.kernels["6.12"] == "6.12.95+deb12-amd64"
    assert tested.lessons["01-hello-kprobe"]["7.2"] == KernelResult("failed", "one sentence")
    # kernels sort as versions: 6.12 comes after 6.1 and before 7.2
    assert list(tested.results("06-tracepoints")) == ["6.1", "6.12", "7.2"]


def test_write_then_read_is_the_same_and_atomic(tmp_path: Path) -> None:
    tested = example(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    path = write_tested_on(other, tested)
    assert path == other / FILE_NAME
    assert load_tested_on(other) == tested
    text = path.read_text()
    assert text.startswith("# Written by `course validate --kernels all --record`")
    assert sorted(p.name for p in other.iterdir()) == [FILE_NAME]  # no temporary file left
    # writing again over it gives the same bytes (a stable layout for diffs)
    write_tested_on(other, load_tested_on(other))  # type: ignore[arg-type]
    assert path.read_text() == text == dump_tested_on(tested)


def test_the_embedded_course_fixture_names_its_lessons(tmp_path: Path) -> None:
    shutil.copy2(FIXTURE, tmp_path / FILE_NAME)
    tested = load_tested_on(tmp_path)
    assert tested is not None
    ids = [lesson.id for lesson in load_course(REPO).lessons]
    assert sorted(tested.lessons) == ids


@pytest.mark.parametrize(
    ("text", "line", "says"),
    [
        ("date: [unclosed\n", 2, "not valid YAML"),
        ("- a list\n", 1, "must be a mapping"),
        (EXAMPLE.replace("bcc:", "bcc_version:"), 3, "unknown key 'bcc_version'"),
        (EXAMPLE.replace('"6.1": "6.1.0-57-amd64"', '"6.1": [6, 1]'), 5, "must name the release"),
        (EXAMPLE.replace("{status: failed,", "{status: broken,"), 11, "passed, failed or"),
        (EXAMPLE.replace('    "6.12": {status: passed}\n', '    "5.4": {status: passed}\n'), 0, ""),
        (EXAMPLE + '    "6.13": {status: passed}\n', 19, "'kernels' does not list"),
        (EXAMPLE.replace("lessons:", "lessons: 3\nx:"), 10, "unknown key 'x'"),
        ("date: 1\nbcc: x\nkernels: {}\n", 3, "'kernels' must map"),
    ],
)
def test_a_malformed_file_is_one_sentence_at_its_line(
    tmp_path: Path, text: str, line: int, says: str
) -> None:
    (tmp_path / FILE_NAME).write_text(text)
    if not says:  # "5.4" is not a listed kernel either
        text_line = next(i for i, t in enumerate(text.splitlines(), 1) if '"5.4"' in t)
        line, says = text_line, "'kernels' does not list"
    with pytest.raises(TestedOnError) as caught:
        load_tested_on(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{FILE_NAME}:{line}: "), message
    assert says in message and message.endswith(".") and "\n" not in message
    assert "Traceback" not in message


# ---------------------------------------------------------------- what it says


def test_summary_names_the_kernels_it_passed_on_and_the_others(tmp_path: Path) -> None:
    tested = example(tmp_path)
    assert tested.summary("06-tracepoints") == "tested on 6.1, 6.12, 7.2"
    assert tested.summary("01-hello-kprobe") == (
        "tested on 6.1; failed on 7.2; unsupported on 6.12"
    )
    assert tested.summary("07-perf-sampling") == "tested on 6.12"
    assert tested.summary("05-uprobes") == "not tested"


@pytest.mark.parametrize(
    ("release", "side"),
    [
        ("5.15.0-91-generic", "older"),
        ("6.1.0-57-amd64", None),
        ("6.10.14-amd64", None),
        ("6.12.95+deb12-amd64", None),
        ("7.2.1", None),
        ("7.3.0-rc1", "newer"),
        ("not-a-version", None),
    ],
)
def test_outside_tested_below_inside_above(tmp_path: Path, release: str, side: str | None):
    tested = example(tmp_path)
    warning = tested.outside_tested("06-tracepoints", release)
    if side is None:
        assert warning is None
    else:
        assert warning == (
            f"This kernel, {'5.15' if side == 'older' else '7.3'}, is {side} than 6.1 to 7.2, "
            "the kernels 06-tracepoints was tested on; it may behave differently here."
        )


def test_outside_tested_for_one_kernel_and_a_failed_one(tmp_path: Path) -> None:
    tested = example(tmp_path)
    assert "older than 6.12, the kernel 07-perf-sampling was tested on" in (
        tested.outside_tested("07-perf-sampling", "6.1.0") or ""
    )
    assert tested.outside_tested("07-perf-sampling", "6.12.1") is None
    failed = tested.outside_tested("01-hello-kprobe", "7.2.13+deb14-amd64") or ""
    assert failed == (
        "01-hello-kprobe failed on 7.2, this kernel's version (one sentence); "
        "its checks may fail here too."
    )
    assert tested.outside_tested("05-uprobes", "3.10.0") is None  # never tested: no claim


# ---------------------------------------------------------------- course list, doctor


@pytest.fixture
def course_copy(tmp_path: Path) -> Path:
    """The embedded course, copied, with the provisional tested-on.yaml."""
    dest = tmp_path / "course"
    dest.mkdir()
    shutil.copy2(REPO / "course.yaml", dest / "course.yaml")
    ignore = shutil.ignore_patterns("__pycache__", ".pytest_cache")
    for name in ("schema", "lessons", "solutions"):
        shutil.copytree(REPO / name, dest / name, ignore=ignore)
    text = FIXTURE.read_text().replace(
        '  06-tracepoints:\n    "6.1": {status: passed}\n',
        '  06-tracepoints:\n    "6.1": {status: failed, reason: "sched_switch fired late"}\n',
    )
    (dest / FILE_NAME).write_text(text)
    return dest


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def old_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    facts = {"kernel_release": "5.10.0-28-amd64", "features": {}}
    monkeypatch.setattr("runner.live.host.detect", lambda **_: json.loads(json.dumps(facts)))
    monkeypatch.setattr("runner.live.host.ensure_tracefs", lambda: None)
    monkeypatch.setattr("runner.present.doctor.vm_facts", lambda: {})
    monkeypatch.setattr("runner.live.host.format_doctor", lambda facts: "[--] kernel  5.10")


def test_course_list_shows_metadata_and_tested_kernels(
    capsys, course_copy: Path, tmp_path: Path, old_kernel
) -> None:
    base = ["--course", course_copy, "--workspace", tmp_path / "ws"]
    code, out, _ = run_cli(capsys, *base, "list")
    assert code == 0
    lines = out.splitlines()
    row = next(line for line in lines if "05-uprobes" in line)
    assert "~35 min · intermediate" in row and "[tested on 6.1, 6.12, 7.2]" in row
    row = next(line for line in lines if "06-tracepoints" in line)
    assert "[tested on 6.12, 7.2; failed on 6.1]" in row
    warning = lines[lines.index(row) + 1]
    assert warning.strip() == (
        "warning: This kernel, 5.10, is older than 6.12 to 7.2, the kernels 06-tracepoints "
        "was tested on; it may behave differently here."
    )
    code, out, _ = run_cli(capsys, *base, "list", "--json")
    rows = {r["id"]: r for r in json.loads(out)["lessons"]}
    assert rows["06-tracepoints"]["minutes"] == 45
    assert rows["06-tracepoints"]["difficulty"] == "intermediate"
    assert rows["06-tracepoints"]["prerequisites"] == ["02-reading-data"]
    assert "sched_switch" in rows["06-tracepoints"]["concepts"]
    assert rows["06-tracepoints"]["tested_on"] == "tested on 6.12, 7.2; failed on 6.1"
    assert "is older than 6.12 to 7.2" in rows["06-tracepoints"]["tested_warning"]
    assert rows["00-setup"]["tested_warning"].startswith("This kernel, 5.10, is older than 6.1")


def test_the_same_warning_for_every_lesson_is_said_once(
    capsys, course_copy: Path, tmp_path: Path, old_kernel
) -> None:
    lessons = "".join(
        f'  {lesson.id}:\n    "6.12": {{status: passed}}\n' for lesson in load_course(REPO).lessons
    )
    (course_copy / FILE_NAME).write_text(
        'date: "2026-12-02"\nbcc: "0.26.0"\nkernels:\n  "6.12": "6.12.95+deb12-amd64"\n'
        f"lessons:\n{lessons}"
    )
    base = ["--course", course_copy, "--workspace", tmp_path / "ws"]
    code, out, _ = run_cli(capsys, *base, "list")
    assert code == 0 and out.count("warning:") == 1
    assert out.splitlines()[-1] == (
        "warning: This kernel, 5.10, is older than 6.12, the kernel each of these lessons "
        "was tested on; it may behave differently here."
    )


def test_course_doctor_has_a_line_per_lesson_and_the_warnings(
    capsys, course_copy: Path, tmp_path: Path, old_kernel
) -> None:
    base = ["--course", course_copy, "--workspace", tmp_path / "ws"]
    code, out, _ = run_cli(capsys, *base, "doctor")
    assert code == 0
    assert (
        "tested on: kernels 6.1, 6.12, 7.2 (2026-12-02, bcc 0.18.0); this kernel is 5.10.0-28-amd64"
    ) in out
    assert "  06-tracepoints    tested on 6.12, 7.2; failed on 6.1\n" in out
    assert out.count("warning: This kernel, 5.10, is older than") == len(load_course(REPO).lessons)
    code, out, _ = run_cli(capsys, *base, "doctor", "--json")
    data = json.loads(out)["tested_on"]
    assert data["error"] is None and data["kernels"]["7.2"] == "7.2.13+deb14-amd64"
    assert set(data["warnings"]) == {lesson.id for lesson in load_course(REPO).lessons}


def test_a_malformed_file_is_said_once_and_the_course_still_lists(
    capsys, course_copy: Path, tmp_path: Path, old_kernel
) -> None:
    (course_copy / FILE_NAME).write_text("date: 2026-12-02\nlessons: [oops\n")
    base = ["--course", course_copy, "--workspace", tmp_path / "ws"]
    code, out, err = run_cli(capsys, *base, "list")
    assert code == 0
    assert len([line for line in out.splitlines() if line.startswith("  0")]) == len(
        load_course(REPO).lessons
    )
    assert "[tested on" not in out
    said = [line for line in err.splitlines() if FILE_NAME in line]
    assert len(said) == 1 and said[0].startswith(f"warning: {FILE_NAME}:3: this is not valid YAML")
    code, out, err = run_cli(capsys, *base, "doctor")
    assert code == 0 and f"tested on: {FILE_NAME}:3: this is not valid YAML" in out


def test_doctor_lines_without_a_course() -> None:
    tested = TestedOn("2026-12-02", "0.18.0", {"6.1": "6.1.0-57-amd64"}, {})
    assert present_doctor.tested_on_lines(None, [], "6.1.0") == []
    assert present_doctor.tested_on_lines(None, [], "6.1.0", "tested-on.yaml:1: broken.") == [
        "tested on: tested-on.yaml:1: broken."
    ]
    assert present_doctor.tested_on_lines(tested, ["01-a"], "6.1.0-57-amd64") == [
        "tested on: kernels 6.1 (2026-12-02, bcc 0.18.0); this kernel is 6.1.0-57-amd64",
        "  01-a  not tested",
    ]


def test_the_session_reads_the_file_once(tmp_path: Path) -> None:
    course = load_course(REPO)
    folder = tmp_path / "course"
    folder.mkdir()
    shutil.copy2(FIXTURE, folder / FILE_NAME)
    said: list[str] = []
    session = Session(
        dataclasses.replace(course, dir=folder), Workspace(tmp_path / "ws"), on_warning=said.append
    )
    first = session.tested_on()
    (folder / FILE_NAME).write_text("broken: [\n")
    assert session.tested_on() is first and said == []
    rows = session.lessons({"kernel_release": "6.12.1"})
    assert {row.tested_on for row in rows} == {"tested on 6.1, 6.12, 7.2"}
    assert {row.tested_warning for row in rows} == {None}
