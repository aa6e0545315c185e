"""Every message a learner can be shown is a finished sentence: no `%s` or
`{name}` placeholder left unfilled, no value that vanished ("such as , and
46 other lines"). Scans the explain rules (statically, and rendered on the
recorded error outputs of tests/unit/data/explain) and the check kinds'
verdicts, rendered from the recorded runs of tests/unit/recordings and
tests/unit/data, as recorded and with the values a broken probe prints
(nothing, empty fields)."""

from __future__ import annotations

import copy
import re
import string
from pathlib import Path

import pytest
from recordings import judge, load_recording, make_ctx, make_run

from runner.course.load import load_course
from runner.grade import grade
from runner.model import Line, Recording
from runner.present.explain import RULES, explain, format_hints
from runner.present.explain_rules import KERNEL_READ_OF_USER
from runner.present.notes import format_notes, notes_for
from runner.present.render import report_text

HERE = Path(__file__).parent
REPO = HERE.parents[1]
COURSE = load_course(REPO)

# Unfilled printf or str.format fields, and lists whose items vanished.
UNFILLED = re.compile(
    r"%[sdrif]\b|%\(\w+\)[sd]|\{[A-Za-z_][\w.]*\}|\bsuch as\s*(?:,|\.|\)|$| and\b)|, ,|\s\(\s*\)"
)


# An author's error may quote a lesson's template on purpose (runner.templates).
QUOTED_TEMPLATE = re.compile(r"The template \{[\w.]+\} cannot be filled: \{[\w.]+\}")


def unfilled(text: str) -> list[str]:
    return [m.group(0) for m in UNFILLED.finditer(QUOTED_TEMPLATE.sub("", text))]


def test_the_scan_finds_what_it_is_for() -> None:
    assert unfilled("bcc could not find the function %s in %s") == ["%s", "%s"]
    assert unfilled("There is no tracepoint {category}:{event}") == ["{category}", "{event}"]
    assert unfilled("other arg values such as , and 46 other lines")
    assert not unfilled("Check it first: `if (v) { ... }` or {'a': 1}, 100% sure")


# ---------------------------------------------------------------- explain rules


@pytest.mark.parametrize("rule", [*RULES, KERNEL_READ_OF_USER], ids=lambda r: r.id)
def test_every_explain_field_comes_from_its_pattern(rule) -> None:
    groups = set(re.compile(rule.pattern).groupindex)
    for text in (rule.title, rule.cause, rule.fix):
        fields = {
            name for _, name, _, _ in string.Formatter().parse(text) if name and name.isidentifier()
        }
        assert fields <= groups, (rule.id, fields - groups)
        assert not re.search(r"%[sd]\b", text), rule.id


@pytest.mark.parametrize(
    "recorded", sorted((HERE / "data" / "explain").glob("*.stderr")), ids=lambda p: p.name
)
def test_explanations_of_recorded_errors_are_filled(recorded: Path) -> None:
    # BUG: the uprobe rule matched bcc's own source line in the traceback first
    # and explained "bcc could not find the function %s in %s".
    probe = REPO / "tests" / "live" / "broken_probes" / (recorded.name.split(".")[0] + ".py")
    source = probe.read_text() if probe.is_file() else None
    hints = explain(recorded.read_text(), source)
    assert hints, recorded.name
    text = format_hints(hints, "probe.py")
    assert unfilled(text) == [], text


# ---------------------------------------------------------------- check verdicts


def _variants(recording: Recording) -> dict[str, Recording]:
    """The recording as made, and as a broken probe would have it."""
    empty = copy.deepcopy(recording)
    for run in empty.runs.values():
        run.lines, run.stdout_lines, run.stderr_lines = [], 0, 0
    blanked = copy.deepcopy(recording)
    for run in blanked.runs.values():
        # every value after "=" or ": " emptied: the learner printed no value
        run.lines = [
            Line(ln.t, ln.stream, re.sub(r"(=|: )[^\s,]+", r"\1", ln.text)) for ln in run.lines
        ]
    wrong = copy.deepcopy(recording)
    for run in wrong.runs.values():
        run.lines = [Line(ln.t, ln.stream, re.sub(r"\d+", "7", ln.text)) for ln in run.lines]
    return {
        "as-recorded": recording,
        "nothing-printed": empty,
        "empty-values": blanked,
        "wrong": wrong,
    }


RECORDINGS = sorted((HERE / "recordings").glob("*.json"))


@pytest.mark.parametrize("name", [p.name for p in RECORDINGS])
def test_verdicts_on_recorded_runs_are_filled(name: str) -> None:
    base = load_recording(name)
    lesson = COURSE.lesson(base.lesson)
    assert lesson is not None, base.lesson
    seen_failures = 0
    for variant, recording in _variants(base).items():
        report = grade(lesson, recording)
        seen_failures += sum(1 for c in report.checks if c.status != "pass")
        for check in report.checks:
            assert unfilled(check.message) == [], (variant, check.id, check.message)
        text = report_text(report) + "\n" + format_notes(notes_for(recording))
        assert unfilled(text) == [], (variant, text)
    assert seen_failures, "the variants must make checks fail, or their messages go unread"


def test_near_miss_lists_show_an_empty_value() -> None:
    # BUG: "other arg values such as , and 46 other lines"
    out = ["[4242] ebpfc-open: dfd=, filename=/tmp/x"] * 3 + ["[17] other: dfd=3, filename=/y"]
    ctx = make_ctx(make_run(out))
    ctx.recording.runs["main"].workload = None
    from recordings import truth

    ctx.run.workload = truth(path="/tmp/x")
    v = judge(
        "events.match",
        {
            "pattern": r"^\[(?P<pid>\d+)\] \S+: dfd=(?P<dfd>\S*), filename=(?P<f>\S+)$",
            "where": {"pid": "{workload.pid}", "dfd": "-100"},
            "min": 1,
        },
        ctx,
    )
    assert v.status == "fail"
    assert "(empty)" in v.message and unfilled(v.message) == [], v.message


@pytest.mark.parametrize(
    "name, code", [("failed", 1), ("missing", 4), ("internal", 3), ("import", 2)]
)
def test_learner_test_verdicts_are_filled(name: str, code: int) -> None:
    lines = (HERE / "data" / "pytest" / f"{name}.txt").read_text().splitlines()
    run = make_run(lines, run_id="tests", argv=["python", "-m", "pytest", "-q", "tests"])
    run.exit_code = code
    v = judge("pytest.workflow", {}, make_ctx(run))
    assert v.status == "fail" and unfilled(v.message) == [], v.message


@pytest.mark.parametrize("in_callback", [True, False])
def test_a_probe_that_outlived_ctrl_c_is_told_why(in_callback: bool) -> None:
    # bcc's idiom loses KeyboardInterrupt inside a ctypes callback: the note
    # names that cause, not "ignored", and points at the flag of lesson 04.
    err = ["Exception ignored on calling ctypes callback function: <function on_event>"]
    err += ["Traceback (most recent call last):", "KeyboardInterrupt"]
    run = make_run(["Attached"], err if in_callback else [], signals_sent=["INT", "TERM"])
    recording = Recording(lesson="06-tracepoints", probe_path="", probe_source="")
    recording.runs = {"main": run}
    (note,) = [n for n in notes_for(recording) if "Ctrl+C" in n["title"]]
    if in_callback:
        assert note["title"] == "Your probe missed Ctrl+C inside a callback"
        assert "flag" in note["fix"] and "SIGTERM" in note["cause"]
    else:
        assert note["title"] == "Your probe ignored Ctrl+C"
