"""Reports as plain text and JUnit XML. Words and symbols, never colour alone."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from runner.model import Report

SYMBOL = {"pass": "✓", "fail": "✗", "error": "!", "timeout": "⏱", "unsupported": "–"}


def _short(value: Any, limit: int = 160) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def report_text(report: Report) -> str:
    where = f" (in {report.where})" if report.where != "host" else ""
    head = (
        f"{report.lesson}{where}: {report.status.upper()}  {report.score}/{report.max_score} points"
    )
    lines = [head]
    for c in report.checks:
        lines.append(
            f"  {SYMBOL[c.status]} {c.status.upper():<11} {c.id} ({c.points}/{c.max_points})"
        )
        if c.status != "pass":
            lines.append(f"      {c.message}")
            if c.expected is not None:
                lines.append(f"      expected: {_short(c.expected)}")
            if c.observed is not None:
                lines.append(f"      observed: {_short(c.observed)}")
            if c.hint:
                lines.append(f"      hint: {c.hint}")
    if report.status == "pass":
        lines.append("All checks passed.")
    return "\n".join(lines)


def junit_xml(suites: dict[str, list[tuple[str, str, str]]]) -> str:
    """suites: lesson id -> [(case name, status, message)]."""
    root = ET.Element("testsuites", name="course validate")
    for lesson, cases in suites.items():
        failures = sum(1 for _, status, _ in cases if status == "fail")
        errors = sum(1 for _, status, _ in cases if status == "error")
        skipped = sum(1 for _, status, _ in cases if status == "unsupported")
        suite = ET.SubElement(
            root,
            "testsuite",
            name=lesson,
            tests=str(len(cases)),
            failures=str(failures),
            errors=str(errors),
            skipped=str(skipped),
        )
        for name, status, message in cases:
            case = ET.SubElement(suite, "testcase", classname=lesson, name=name)
            if status == "fail":
                ET.SubElement(case, "failure", message=message)
            elif status == "error":
                ET.SubElement(case, "error", message=message)
            elif status == "unsupported":
                ET.SubElement(case, "skipped", message=message)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
