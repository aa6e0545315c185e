"""`course report` on a scripted class of three (tests/fixtures/class_report,
made with real runs by its make_class.sh): ada passed every lesson this
host runs, bo is stuck on 06 after two hints, cy forged a progress file.
The same table comes out in every format."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from runner.course.load import load_course
from runner.progress import Progress
from runner.report import (
    SUSPECT_RULES,
    ReportError,
    class_report,
    render_csv,
    render_html,
    render_table,
)

REPO = Path(__file__).resolve().parents[2]
CLASS = REPO / "tests" / "fixtures" / "class_report"
LEARNERS = [CLASS / name for name in ("ada", "bo", "cy")]
ADA_LESSONS = {"00-setup", "05-uprobes", "06-tracepoints", "07-perf-sampling", "08-combining"}


@pytest.fixture(scope="module")
def course():
    return load_course(REPO)


@pytest.fixture(scope="module")
def rows(course):
    return class_report(LEARNERS, course)


def by_key(rows):
    return {(r.learner, r.lesson): r for r in rows}


def test_one_row_per_learner_and_lesson(rows, course) -> None:
    assert len(rows) == 3 * len(course.lessons)
    assert [r.lesson for r in rows[: len(course.lessons)]] == [x.id for x in course.lessons]


def test_ada_passed_every_live_lesson_on_this_kernel(rows) -> None:
    kernel = json.loads(_gunzip(CLASS / "ada/runs/06-tracepoints-1.json.gz"))["host"]
    for (learner, lesson), row in by_key(rows).items():
        if learner != "ada":
            continue
        if lesson in ADA_LESSONS:
            # a loaded machine may have made ada try again: every try is counted and recorded
            assert (row.status, row.hints, row.failing) == ("passed", 0, [])
            assert row.attempts == row.recordings >= 1
            assert row.kernel == kernel["kernel_release"]
            assert row.time_to_pass is not None and 0 < row.time_to_pass < 120
            assert not row.forged, row.suspect
        else:
            assert (row.status, row.attempts, row.failing, row.kernel) == (
                "not-started",
                0,
                None,
                None,
            )


def test_bo_is_stuck_on_06_and_the_report_says_where(rows) -> None:
    row = by_key(rows)[("bo", "06-tracepoints")]
    assert (row.status, row.attempts, row.hints, row.recordings) == ("failing", 2, 2, 2)
    assert row.time_to_pass is None and not row.forged
    # the untouched starter prints no event line: the event checks fail, `attached` does not
    assert "marker-open" in row.failing and "attached" not in row.failing
    assert row.kernel


def test_cy_forged_passes_are_named_with_the_reason(rows) -> None:
    keyed = by_key(rows)
    six, seven = keyed[("cy", "06-tracepoints")], keyed[("cy", "07-perf-sampling")]
    assert six.status == seven.status == "passed"
    assert six.forged and seven.forged
    assert SUSPECT_RULES[0] in six.suspect  # zero attempts
    assert SUSPECT_RULES[4] in six.suspect and SUSPECT_RULES[4] in seven.suspect  # starter
    assert SUSPECT_RULES[0] not in seven.suspect  # a consistent-looking entry...
    assert [r for r in rows if r.forged and r.learner != "cy"] == []  # ...and nobody else


def test_terminal_table(rows) -> None:
    text = render_table(rows)
    lines = text.splitlines()
    assert lines[0].split()[:4] == ["learner", "lesson", "status", "attempts"]
    bo = next(ln for ln in lines if ln.startswith("bo ") and "06-tracepoints" in ln)
    assert "failing" in bo and "marker-open" in bo
    assert sum("(forged?)" in ln for ln in lines) == 2
    assert lines[-1].startswith("forged?:") and "cy" in lines[-1]


def test_csv_has_the_same_rows(rows) -> None:
    parsed = list(csv.DictReader(io.StringIO(render_csv(rows))))
    assert len(parsed) == len(rows)
    for got, row in zip(parsed, rows, strict=True):
        assert (got["learner"], got["lesson"], got["status"]) == (
            row.learner,
            row.lesson,
            row.status,
        )
        assert int(got["attempts"]) == row.attempts and int(got["hints"]) == row.hints
        assert got["forged"] == str(row.forged).lower()


def test_cli_json_and_csv_match_the_rows(rows) -> None:
    paths = [str(p) for p in LEARNERS]
    done = _cli("report", *paths, "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)["rows"]
    assert data == [r.to_dict() for r in rows]
    as_csv = _cli("report", *paths, "--csv")
    assert as_csv.stdout == render_csv(rows)


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.cells: list[list[str]] = []
        self._in_td = False

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.cells.append([])
        self._in_td = tag == "td"

    def handle_endtag(self, tag):
        if tag == "td":
            self._in_td = False

    def handle_data(self, data):
        if self._in_td and self.cells:
            self.cells[-1].append(data)


def test_html_page_is_self_contained_with_a_chart_per_lesson(rows, course, tmp_path) -> None:
    out = tmp_path / "class.html"
    done = _cli("report", *[str(p) for p in LEARNERS], "--html", str(out))
    assert done.returncode == 0, done.stderr
    page = out.read_text()
    assert page == render_html(rows)
    parsed = _Page()
    parsed.feed(page)
    tags = {t for t, _ in parsed.tags}
    assert "svg" in tags and not tags & {"script", "link", "img", "iframe", "object"}
    for _, attrs in parsed.tags:
        for name, value in attrs.items():
            if name in ("src", "href"):
                pytest.fail(f"external reference {name}={value}")
    bars = [a for t, a in parsed.tags if t == "rect" and a.get("class") == "pass"]
    assert len(bars) == len(course.lessons)
    forged = [a for t, a in parsed.tags if t == "rect" and a.get("class") == "forged"]
    assert len(forged) == 2  # cy's 06 and 07
    body_rows = [c for c in parsed.cells if c]
    assert len(body_rows) == len(rows)


def test_a_learner_of_recordings_only(tmp_path, course) -> None:
    """No progress file: status and attempts come from the re-graded recordings."""
    folder = tmp_path / "dee"
    folder.mkdir()
    for n in (1, 2):
        shutil.copy(CLASS / f"bo/runs/06-tracepoints-{n}.json.gz", folder / f"try-{n}.json.gz")
    row = by_key(class_report([folder], course))[("dee", "06-tracepoints")]
    assert (row.status, row.attempts, row.recordings) == ("failing", 2, 2)
    assert "marker-open" in row.failing


def test_progress_files_are_read_not_moved(tmp_path, course) -> None:
    """A report never touches a learner's files, unlike the course's own load."""
    ws = tmp_path / "eve"
    (ws / ".course").mkdir(parents=True)
    bad = ws / ".course" / "progress.json"
    bad.write_text('{"version": 1, "lessons": {"06-tracepoints": {"status": "won"}}}')
    rows = class_report([ws], course)
    assert bad.exists()
    assert all("not one the course writes" in " ".join(r.notes) for r in rows)
    Progress.load(bad)  # the course itself would move it aside; the report did not


def test_bad_paths_are_one_sentence(tmp_path, course) -> None:
    with pytest.raises(ReportError, match="There is no"):
        class_report([tmp_path / "nobody"], course)
    junk = tmp_path / "x.json"
    junk.write_text("[1, 2]")
    with pytest.raises(ReportError, match="not a recorded run"):
        class_report([junk], course)
    done = _cli("report", str(junk))
    assert done.returncode == 2 and "Traceback" not in done.stderr


def _gunzip(path: Path) -> bytes:
    import gzip

    return gzip.decompress(path.read_bytes())


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
