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


# ---------------------------------------------------------------- verdicts in words

_OP = {"eq": "", "ge": "≥ ", "le": "≤ ", "gt": "> ", "lt": "< ", "ne": "≠ "}


def _n(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _lines(n: Any, word: str = "line") -> str:
    return f"{_n(n)} {word}" if n == 1 else f"{_n(n)} {word}s"


def _quote(texts: Any, limit: int = 2) -> str:
    items = [str(t) for t in (texts if isinstance(texts, list) else [texts]) if str(t).strip()]
    if not items:
        return "nothing"
    shown = ", ".join(repr(t if len(t) <= 60 else t[:59] + "…") for t in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def _where(where: Any) -> str:
    if isinstance(where, dict) and where:
        return " with " + ", ".join(f"{k} {_n(v)}" for k, v in where.items())
    return ""


def _how_many(low: Any, high: Any, noun: str) -> str:
    """ "≥ 4 lines", "a line", "no line", "2-5 lines", "exactly 3 lines"."""
    low = 1 if low is None else low
    if high == 0:
        return f"no {noun}"
    if high is None:
        return f"a {noun}" if low == 1 else f"≥ {_lines(low, noun)}"
    if high == low:
        return f"exactly {_lines(low, noun)}"
    return f"{_n(low)}-{_n(high)} {noun}s"


def _seconds(value: dict[str, Any]) -> str:
    low, high = value.get("min"), value.get("max")
    if low is not None and high is not None:
        return f"{_n(low)}-{_n(high)} s"
    return f"≥ {_n(low)} s" if low is not None else f"≤ {_n(high)} s"


def _examples(value: dict[str, Any]) -> str:
    found = value.get("examples") or []
    return f"; e.g. {_quote(found, 1)}" if found else ""


def _finding(item: Any) -> str:
    """One finding of a static or docs check: "line 3: message"."""
    if not isinstance(item, dict):
        return describe(item)
    what = item.get("message") or item.get("error") or item.get("command") or item.get("doc")
    if isinstance(what, list):
        what = " ".join(str(w) for w in what)
    line = item.get("line")
    rest = describe({k: v for k, v in item.items() if k not in ("line",)}) if what is None else what
    return f"line {line}: {rest}" if line is not None else str(rest)


def _generic(value: dict[str, Any]) -> str:
    parts = []
    for key, item in value.items():
        words = str(key).replace("_", " ")
        if item is None:
            continue
        if item == 0 and not isinstance(item, bool):
            parts.append(f"no {words}")
        elif isinstance(item, list | dict):
            parts.append(f"{words}: {describe(item)}")
        else:
            parts.append(f"{words} {_n(item)}")
    return ", ".join(parts)


def describe(value: Any, kind: str = "") -> str:
    """A check's structured `expected` or `observed` as a person reads it:
    "≥ 4 lines with pid 4242", "exit code 0", "a line matching /^Attached/".
    Handles the shapes the kinds in checks/ return; other dicts become
    "key value" phrases, never a Python repr. `kind` (the check kind) gives
    bare numbers of the timing kinds their unit. JSON output keeps the
    structured values; this is for text and the TUI only."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return f"{_n(value)} s" if kind.startswith("timing.") else _n(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value) and value:
            shown = "; ".join(_finding(v) for v in value[:3])
            return shown + (f"; and {len(value) - 3} more" if len(value) > 3 else "")
        return _quote(value, 3) if value else "nothing"
    if not isinstance(value, dict):
        return str(value)
    keys = set(value)
    # exit.code / pytest.workflow (no summary): exit codes and signals
    if "exit_code" in keys and keys <= {"exit_code", "signal"}:
        code, sig = value.get("exit_code"), value.get("signal")
        if sig is not None:
            return f"signal {_n(sig)}"
        if code == "non-zero":
            return "a non-zero exit code"
        return "no exit code" if code is None else f"exit code {_n(code)}"
    # output.*, exit.stderr, events.*: how many lines, matching what
    if "pattern" in keys and keys <= {"pattern", "min", "max", "stray", "line", "doc", "shape"}:
        rx = f"/{value['pattern']}/"
        if value.get("stray") == 0:
            return f"every line matching {rx} (≥ {_n(value.get('min', 1))})"
        return f"{_how_many(value.get('min'), value.get('max'), 'line')} matching {rx}"
    if "where" in keys and keys <= {"where", "min", "max", "other"}:
        where = _where(value["where"])
        if value.get("other") == 0:
            return f"only lines{where} (≥ {_n(value.get('min', 1))})"
        return f"{_how_many(value.get('min'), value.get('max'), 'line')}{where}"
    if "matching" in keys:
        n = value["matching"]
        said = "no matching line" if not n else _lines(n, "matching line")
        if value.get("stray"):
            said += f", {_n(value['stray'])} stray"
        if value.get("other"):
            said += f", {_lines(value['other'], 'other line')}"
        if "lines" in keys:
            said += f" (of {_lines(value['lines'])})"
        return said + _examples(value)
    if "match" in keys and "stderr" in keys:  # exit.stderr observed
        if value["match"]:
            return repr(value["match"])
        return f"no match (stderr ended {_quote(value.get('stderr') or [])})"
    # counts.total / counts.value
    if "op" in keys and "value" in keys:
        if value.get("op") == "within":
            return f"within {_n(value.get('pct'))}% of {_n(value['value'])}"
        return f"{_OP.get(value['op'], str(value['op']) + ' ')}{_n(value['value'])}"
    if "total" in keys and "line" in keys:
        plus = f" + {_n(value['plus'])}" if value.get("plus") else ""
        return f"{_n(value['total'])}{plus} ({_quote(value['line'], 1)})"
    if "n" in keys and "line" in keys:
        return f"{_n(value['n'])} ({_quote(value['line'], 1)})"
    # order.sorted
    if "order" in keys:
        least = value.get("min")
        head = "rows" if least in (None, 1) else f"≥ {_lines(least, 'row')}"
        most = f", ≤ {_lines(value['max_rows'], 'row')}" if value.get("max_rows") else ""
        return f"{head} sorted {value['order']}{most}"
    # lines.none / lines.only: which values a group may carry
    if "group" in keys and keys & {"values", "allowed"}:
        group, least = value["group"], value.get("min") or 0
        rows = f"≥ {_lines(least, 'row')}, " if least else ""
        if "values" in keys:
            return f"{rows}none with {group} " + " or ".join(_n(v) for v in value["values"])
        return f"{rows}each with {group} " + " or ".join(_n(v) for v in value["allowed"])
    if "bad" in keys and "rows" in keys:
        bad = value["bad"]
        shown = ", ".join(_n(v) for v in (value.get("values") or [])[:5])
        return _lines(value["rows"], "row") + (f", {bad} bad ({shown})" if bad else ", none bad")
    if "rows" in keys and "values" in keys:
        shown = ", ".join(_n(v) for v in value["values"][:5])
        return f"{_lines(value['rows'], 'row')}" + (f": {shown}" if shown else "")
    # pytest.workflow
    if "min_passed" in keys:
        return f"≥ {_lines(value['min_passed'], 'passing test')}, none failing"
    if "summary" in keys:
        return str(value["summary"])
    # timing.window
    if "window_ns" in keys:
        low, high = (value["window_ns"] + [None, None])[:2]
        return f"≥ {_lines(value.get('min', 1), 'timestamp')}, all within {low}..{high} ns"
    if "outside" in keys:
        return f"{_lines(value.get('lines', 0), 'timestamp')}, {_n(value['outside'])} outside"
    # timing.duration / since_ready: seconds
    if keys <= {"min", "max"} and keys:
        return _seconds(value)
    return _generic(value)


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
                lines.append(f"      expected: {_short(describe(c.expected, c.kind))}")
            if c.observed is not None:
                lines.append(f"      observed: {_short(describe(c.observed, c.kind))}")
            if c.hint:
                lines.append(f"      hint: {c.hint}")
            if c.section:
                lines.append(f'      see "{c.section}" in the lesson text')
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
