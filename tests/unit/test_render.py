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
