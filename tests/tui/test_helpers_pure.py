"""The TUI's pure helpers: section splitting, chart rows, the line buffer,
keymap loading. No Textual app is started here."""

from __future__ import annotations

import importlib.util
import sys
import threading
from pathlib import Path

from runner.model import Line, Recording, Run
from runner.tui.charts import CHARTS, bar_lines, bars_for, extract_rows
from runner.tui.keymap import load_keymap
from runner.tui.linebuffer import LineBuffer
from runner.tui.sections import split_sections


def test_sections_split_at_level_two_headings_outside_code_fences():
    text = "# Title\nintro\n## One\n```bash\n## a shell comment\n```\n## Two\nbody\n"
    sections = split_sections(text)
    assert [s.title for s in sections] == ["Title", "One", "Two"]
    assert "## a shell comment" in sections[1].body
    assert sections[2].body == "## Two\nbody\n"


def test_sections_keep_every_line_once():
    text = "intro line\n\n## A\na\n\n## B\n~~~\n## not\n~~~\nb\n"
    sections = split_sections(text)
    assert [s.title for s in sections] == ["Introduction", "A", "B"]
    joined = "".join(s.body for s in sections)
    assert [ln for ln in joined.splitlines() if ln] == [ln for ln in text.splitlines() if ln]


def test_sections_of_a_text_without_headings_is_one_section():
    assert [s.title for s in split_sections("just text\n")] == ["Introduction"]
    assert len(split_sections("")) == 1
    only = split_sections("# Only a title\ntext\n")
    assert [(s.title, s.body) for s in only] == [("Only a title", "# Only a title\ntext\n")]


def test_sections_follow_commonmark_fences_and_headings():
    # An unclosed fence runs to the end, so the `##` after it is code; a
    # `##` in a block quote or list item does not cut the quote or list.
    text = "## A\n> ## quoted\n- ## listed\n\n## B\n```bash\nmake\n## not a heading\n"
    sections = split_sections(text)
    assert [s.title for s in sections] == ["A", "B"]
    assert sections[0].body == "## A\n> ## quoted\n- ## listed\n"
    assert sections[1].line == 5 and sections[1].body.endswith("## not a heading\n")


def test_sections_of_a_fence_in_a_list_item_and_closing_hashes():
    text = "# T #\n\n1. run:\n\n   ```sh\n## comment\n   ```\n## Next ##\nx\n"
    sections = split_sections(text)
    # `## comment` is not indented enough to stay in the list item, so
    # CommonMark ends the item (and its fence) there: it is a heading, and the
    # indented ``` after it opens a new fence that runs to the end.
    assert [s.title for s in sections] == ["T", "comment"]
    assert "## Next ##" in sections[1].body
    indented = text.replace("## comment", "   ## comment")
    assert [s.title for s in split_sections(indented)] == ["T", "Next"]


def test_sections_of_every_shipped_lesson_cut_between_blocks():
    # Each section parses on its own into the same fenced blocks as the whole
    # text: no cut falls inside a fence, and every line is kept once.
    from runner.course.markdown import fenced_blocks

    texts = sorted((Path(__file__).resolve().parents[2] / "lessons").glob("*/README.md"))
    assert texts
    for path in texts:
        text = path.read_text(encoding="utf-8")
        sections = split_sections(text)
        assert len(sections) > 1, path
        whole = [(b.lang, b.lines) for b in fenced_blocks(text)]
        parts = [(b.lang, b.lines) for s in sections for b in fenced_blocks(s.body)]
        assert parts == whole, path
        kept = [ln for s in sections for ln in s.body.splitlines() if ln.strip()]
        assert kept == [ln for ln in text.splitlines() if ln.strip()], path
        assert all(s.body.startswith("## ") for s in sections[1:]), path


def _solution(name: str):
    """A reference solution as a module, to chart exactly what it prints."""
    path = Path(__file__).resolve().parents[2] / "solutions" / name / "probe.py"
    spec = importlib.util.spec_from_file_location(f"solution_{name.replace('-', '_')}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_chart_rows_of_what_the_lesson_07_solution_prints():
    probe = _solution("07-perf-sampling")
    lines = probe.format_report(
        {0: 300, 1: 312}, [(4242, "ebpfc-burn", 490), (1, "systemd", 100), (77, "kworker/0:1", 1)]
    )
    rows = extract_rows([*lines, "Exiting.", "    12  late  5"], CHARTS["perf-sampling"])
    assert rows == [("ebpfc-burn (4242)", 490), ("systemd (1)", 100), ("kworker/0:1 (77)", 1)]


def test_chart_rows_of_what_the_lesson_08_solution_prints():
    probe = _solution("08-combining")
    lines = probe.format_summary(1300, 0, {"read": 1000, "write": 300}, {"ebpfc-sys(9)": 1300})
    rows = extract_rows(lines, CHARTS["combining"])
    assert rows == [("read", 1000), ("write", 300)]


def test_chart_rows_stop_at_the_first_line_that_is_not_a_row():
    lines = ["Top syscalls:", "", "  read 5 (50.0%)", "  write: 5", "Exiting.", "  late 1"]
    assert extract_rows(lines, CHARTS["combining"]) == [("read", 5), ("write", 5)]


def test_chart_of_top_syscalls_from_a_recording():
    run = Run(
        "main",
        lines=[
            Line(0, "out", "Total events captured: 1300"),
            Line(0, "out", "Top syscalls:"),
            Line(0, "out", "  read        1000   76.9%"),
            Line(0, "out", "  write        300   23.1%"),
        ],
    )
    recording = Recording("08-combining", "p", "", runs={"main": run})
    assert bars_for("combining", recording) == ("Top syscalls", [("read", 1000), ("write", 300)])
    assert bars_for("tracepoints", recording) is None


def test_bars_scale_to_the_largest_value_and_fit_the_width():
    lines = bar_lines([("big", 100), ("half", 50), ("none", 0)], 40)
    assert all(len(line) <= 40 for line in lines)
    big, half, none = (line.count("█") for line in lines)
    assert big == 2 * half and none == 0
    assert lines[0].endswith("100") and lines[2].endswith("  0")


def test_line_buffer_counts_exactly_while_keeping_at_most_its_cap():
    buffer = LineBuffer(cap=100)

    def produce() -> None:
        for i in range(5000):
            buffer.push(str(i))

    threads = [threading.Thread(target=produce) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    batch = buffer.drain()
    assert buffer.seen == 20000
    assert len(batch) == 100
    assert buffer.dropped == 20000 - 100
    assert buffer.drain() == []


def test_keymap_file(tmp_path):
    ids = {"run", "hint"}
    assert load_keymap(tmp_path / "missing.yaml", ids) == ({}, None)
    good = tmp_path / "good.yaml"
    good.write_text("run: ctrl+r\n")
    assert load_keymap(good, ids) == ({"run": "ctrl+r"}, None)
    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("run: x\nfly: y\n")
    keymap, warning = load_keymap(unknown, ids)
    assert keymap == {"run": "x"} and "fly" in warning
    broken = tmp_path / "broken.yaml"
    broken.write_text("run: [\n")
    keymap, warning = load_keymap(broken, ids)
    assert keymap == {} and "could not be read" in warning


def test_facts_gathered_without_root_are_not_trusted_about_the_kernel():
    from runner.model import Lesson
    from runner.session import lacked_privileges, unsupported_reason

    no_root = {
        "root": False,
        "sudo": "password",
        "features": {"bpf": {"ok": False, "reason": "loading BPF needs root: run `sudo -v`"}},
    }
    assert lacked_privileges(no_root)
    assert not lacked_privileges({**no_root, "sudo": "nopasswd"})
    assert not lacked_privileges({**no_root, "root": True})
    assert not lacked_privileges({**no_root, "features": {"bpf": {"ok": True, "reason": ""}}})
    lesson = Lesson("01-x", 1, "x", "X", Path("."), Path("t"), Path("p"), None, None)
    lesson.requires = ["bpf"]
    assert unsupported_reason(lesson, no_root) is None  # unknown yet, not unsupported
    kernel_says_no = {**no_root, "root": True}
    assert unsupported_reason(lesson, kernel_says_no).startswith("loading BPF needs root")


def test_a_title_only_intro_is_not_a_section_of_its_own():
    from runner.tui.sections import split_sections

    sections = split_sections("# Lesson 06\n\n## Goal\nTrace opens.\n\n## Steps\n1. x\n")
    assert [s.title for s in sections] == ["Goal", "Steps"]
    assert sections[0].body.startswith("# Lesson 06")
