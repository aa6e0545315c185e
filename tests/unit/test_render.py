"""Text reports say the status in words (never colour alone); JUnit parses."""

from xml.etree import ElementTree as ET

from runner.model import CheckResult, Report
from runner.present.render import junit_xml, report_text


def test_text_report_states_status_in_words_with_expected_and_observed():
    report = Report(
        "06-tracepoints",
        "fail",
        2,
        5,
        [
            CheckResult("banner", "output.line", "pass", "ok", None, None, 2, 2),
            CheckResult(
                "dfd",
                "events.match",
                "fail",
                "Expected dfd=-100, saw 4294967196.",
                -100,
                4294967196,
                0,
                3,
                hint="Cast dfd to int.",
            ),
        ],
    )
    text = report_text(report)
    assert "06-tracepoints: FAIL  2/5 points" in text
    assert "PASS" in text and "FAIL" in text
    assert "expected: -100" in text and "observed: 4294967196" in text
    assert "hint: Cast dfd to int." in text
    assert "All checks passed" not in text


def test_junit_counts_failures_errors_and_skips():
    xml = junit_xml(
        {
            "06": [
                ("solution", "pass", "ok"),
                ("starter", "fail", "passes"),
                ("wrong/a.py", "error", "boom"),
            ],
            "01": [("solution", "unsupported", "no kprobes")],
        }
    )
    root = ET.fromstring(xml.split("?>", 1)[1])
    suites = {s.get("name"): s for s in root}
    assert suites["06"].get("failures") == "1" and suites["06"].get("errors") == "1"
    assert suites["01"].get("skipped") == "1"
    assert root.find(".//failure").get("message") == "passes"


# ---------------------------------------------------------------- verdicts in words
#
# Real verdicts: each check kind judges a recorded run (tests/unit/recordings),
# and describe() must say its expected/observed as a person reads them.

import re  # noqa: E402

import pytest  # noqa: E402
from recordings import PID, judge, make_ctx, make_run, truth  # noqa: E402

from runner.present.render import describe  # noqa: E402

OPENS = [f"open pid={PID} file=/tmp/m", f"open pid={PID} file=/tmp/m", "open pid=17 file=/etc/x"]
TABLE = ["PID    COMM             COUNT", f"{PID}   ebpfc-open           3", "17   systemd   9"]
ROW = r"^(?P<pid>\d+)\s+(?P<comm>\S+)\s+(?P<n>\d+)$"
# What a Python repr of a dict or list looks like: never shown to a person.
REPR = re.compile(r"\{'|'\s*:\s|\[\{|\{\"|\bNone\b")


def verdict(kind: str, params: dict, out=(), err=(), **fields):
    run = make_run(out, err, workload=truth(opens=3), **fields)
    return judge(kind, params, make_ctx(run))


def words(kind: str, v) -> tuple[str, str]:
    expected, observed = describe(v.expected, kind), describe(v.observed, kind)
    for text in (expected, observed):
        assert not REPR.search(text), text
    return expected, observed


@pytest.mark.parametrize(
    ("kind", "params", "out", "err", "fields", "want_expected", "want_observed"),
    [
        (
            "events.match",
            {"pattern": r"pid=(?P<pid>\d+)", "where": {"pid": "{workload.pid}"}, "min": 4},
            OPENS,
            (),
            {},
            f"≥ 4 lines with pid {PID}",
            "2 matching lines, 1 other line (of 3 lines); "
            "e.g. 'open pid=4242 file=/tmp/m' and 1 more",
        ),
        (
            "events.all",
            {"pattern": r"pid=(?P<pid>\d+)", "where": {"pid": "{workload.pid}"}},
            OPENS,
            (),
            {},
            f"only lines with pid {PID} (≥ 1)",
            "2 matching lines, 1 other line; e.g. 'open pid=17 file=/etc/x'",
        ),
        (
            "output.line",
            {"pattern": "^Attached"},
            ["hello"],
            (),
            {},
            "a line matching /^Attached/",
            "no matching line (of 1 line)",
        ),
        (
            "output.line",
            {"pattern": "^open", "min": 4, "max": 9},
            OPENS,
            (),
            {},
            "4-9 lines matching /^open/",
            "3 matching lines (of 3 lines); e.g. 'open pid=4242 file=/tmp/m' and 2 more",
        ),
        (
            "output.absent",
            {"pattern": "Traceback", "stream": "err"},
            (),
            ["Traceback (most recent call last):"],
            {},
            "no line matching /Traceback/",
            "1 matching line; e.g. 'Traceback (most recent call last):'",
        ),
        (
            "output.every",
            {"pattern": r"^open pid=\d+"},
            [*OPENS, "junk"],
            (),
            {},
            r"every line matching /^open pid=\d+/ (≥ 1)",
            "3 matching lines, 1 stray; e.g. 'junk'",
        ),
        ("exit.code", {"equals": 0}, (), ["boom"], {"exit_code": 1}, "exit code 0", "exit code 1"),
        (
            "exit.code",
            {"nonzero": True},
            (),
            (),
            {},
            "a non-zero exit code",
            "exit code 0",
        ),
        (
            "exit.stderr",
            {"pattern": "nonexistent_function"},
            (),
            ["it went fine"],
            {},
            "a line matching /nonexistent_function/",
            "no match (stderr ended 'it went fine')",
        ),
        (
            "counts.total",
            {"total": r"^Detached after (?P<n>\d+) events", "count": "^open"},
            [*OPENS, "Detached after 5 events."],
            (),
            {},
            "3",
            "5 ('Detached after 5 events.')",
        ),
        (
            "counts.value",
            {"pattern": ROW, "where": {"pid": PID}, "value": 4},
            TABLE,
            (),
            {},
            "4",
            f"3 ('{PID}   ebpfc-open           3')",
        ),
        (
            "order.sorted",
            {"pattern": ROW, "order": "asc"},
            TABLE[:1] + TABLE[:0:-1] + TABLE[1:2],
            (),
            {},
            "rows sorted asc",
            "3 rows: 9, 3, 3",
        ),
        ("timing.duration", {"min": 6, "max": 8}, (), (), {}, "6-8 s", "5.2 s"),
    ],
)
def test_real_verdicts_read_as_words(
    kind, params, out, err, fields, want_expected, want_observed
) -> None:
    v = verdict(kind, params, out, err, **fields)
    assert v.status in ("pass", "fail"), v.message
    assert words(kind, v) == (want_expected, want_observed)


def test_static_findings_are_numbered_lines(tmp_path) -> None:
    ctx = make_ctx(make_run(), source="import not_a_module_xyz\n")
    v = judge("static.imports", {}, ctx)
    expected, observed = words("static.imports", v)
    assert expected == "no bad imports"
    assert observed.startswith("line 1: ") and "not_a_module_xyz" in observed


def test_shapes_without_a_kind_of_their_own_become_phrases_not_reprs() -> None:
    assert describe({"blocks": ">= 1"}) == "blocks >= 1"
    assert describe({"blocks": 0}) == "no blocks"
    assert describe({"min_passed": 1, "failed": 0, "errors": 0}) == "≥ 1 passing test, none failing"
    assert describe({"passed": 3, "summary": "3 passed in 0.1s"}) == "3 passed in 0.1s"
    assert describe({"window_ns": [1, 9], "min": 2}) == "≥ 2 timestamps, all within 1..9 ns"
    assert describe({"lines": 4, "outside": 1}) == "4 timestamps, 1 outside"
    assert describe({"read": 5, "write": 3}) == "read 5, write 3"
    assert describe({"op": "within", "value": 495, "pct": 30}) == "within 30% of 495"
    assert describe({"op": "ge", "value": 3}) == "≥ 3"
    assert describe(["a", "b"]) == "'a', 'b'"
    assert describe({"exit_code": None, "signal": 9}) == "signal 9"
    assert describe(2.5, "timing.since_ready") == "2.5 s"
    assert describe("^Attached") == "^Attached"  # a string is already words
    assert describe(None) == ""
    # lines.none / lines.only
    assert (
        describe({"values": ["1798"], "group": "pid", "min": 8}) == "≥ 8 rows, none with pid 1798"
    )
    assert describe({"allowed": [1, 2], "group": "cpu", "min": 0}) == "each with cpu 1 or 2"
    assert describe({"rows": 9, "bad": 2, "values": ["7", "8"]}) == "9 rows, 2 bad (7, 8)"
    assert describe({"rows": 9, "bad": 0, "values": []}) == "9 rows, none bad"


def test_text_report_shows_words_and_json_keeps_the_structure() -> None:
    v = verdict("exit.code", {"equals": 0}, (), ["boom"], exit_code=1)
    check = CheckResult(
        "clean-exit", "exit.code", v.status, v.message, v.expected, v.observed, 0, 1
    )
    report = Report("06-tracepoints", "fail", 0, 1, [check])
    text = report_text(report)
    assert "expected: exit code 0" in text and "observed: exit code 1" in text
    assert "{" not in text
    assert report.to_dict()["checks"][0]["expected"] == {"exit_code": 0}


def test_a_line_of_the_probe_itself_reads_as_words() -> None:
    open_row = r"^\[(?P<pid>\d+)\] (?P<comm>\S+): filename=(?P<filename>.*)$"
    out = [f"[{PID}] python: filename=/tmp/x", "[5151] python: filename=/sys/devices/online"]
    run = make_run(out, workload=truth(), probe_pids=[5151])
    params = {"pattern": open_row, "group": "pid", "values": "{run.probe_pids}"}
    v = judge("lines.none", params, make_ctx(run))
    assert v.status == "fail"
    assert words("lines.none", v) == ("none with pid 5151", "2 rows, 1 bad (5151)")
