"""Bar charts from a probe's own summary lines (lesson 07's samples per
process, lesson 08's top syscalls). Pure functions: the TUI widget only
shows what `bars_for` returns, and tests feed recorded output."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from runner.model import Recording

_ROW = (
    r"^\s*(?P<label>\S.*?)[\s:]+(?P<n>\d+)(?:\s+(?:samples?|events?|calls?))?"
    r"(?:\s+\(?\s*[\d.]+\s*%\s*\)?)?\s*$"
)


@dataclass(frozen=True)
class ChartSpec:
    title: str
    start: str  # regex of the header line after which the rows come
    row: str = _ROW  # regex with `n` and `label` (or `comm` and `pid`)
    skip: str | None = None  # regex of column-header lines to step over
    run: str | None = None  # which Run to read; None: the first that has rows
    max_rows: int = 6  # an 80x24 screen also shows the results table


# Keyed by lesson slug. The probe prints the table; we only draw it.
CHARTS: dict[str, ChartSpec] = {
    # `    PID  COMM              SAMPLES` then `   4242  ebpfc-burn  490  ████`
    "perf-sampling": ChartSpec(
        "Samples per process",
        r"(?i)top\s+process",
        row=r"^\s*(?P<pid>\d+)\s+(?P<comm>\S.*?)\s+(?P<n>\d+)(?:\s+[#█▏▎▍▌▋▊▉ ]*)?$",
        skip=r"^\s*PID\s+COMM",
    ),
    # `  read                         1000   76.9%`
    "combining": ChartSpec("Top syscalls", r"(?i)top\s+syscall"),
}


def extract_rows(lines: Iterable[str], spec: ChartSpec) -> list[tuple[str, int]]:
    """The rows right after the first line matching `spec.start`, in order,
    up to the first line that is not a row (blank lines before rows skipped)."""
    start, row = re.compile(spec.start), re.compile(spec.row)
    skip = re.compile(spec.skip) if spec.skip else None
    rows: list[tuple[str, int]] = []
    inside = False
    for text in lines:
        if not inside:
            inside = bool(start.search(text))
            continue
        if not text.strip() or set(text.strip()) <= set("-=─"):
            if rows:
                break
            continue
        if skip is not None and not rows and skip.search(text):
            continue
        found = row.match(text)
        if not found:
            break
        rows.append((_label(found), int(found.group("n"))))
        if len(rows) >= spec.max_rows:
            break
    return rows


def _label(found: re.Match[str]) -> str:
    groups = found.groupdict()
    if groups.get("label"):
        return groups["label"].strip()
    return f"{groups['comm'].strip()} ({groups['pid']})"


def bars_for(slug: str, recording: Recording) -> tuple[str, list[tuple[str, int]]] | None:
    """(title, rows) for a lesson that has a chart and whose output has rows."""
    spec = CHARTS.get(slug)
    if spec is None:
        return None
    runs = [recording.runs[spec.run]] if spec.run in recording.runs else recording.runs.values()
    for run in runs:
        rows = extract_rows(run.out(), spec)
        if rows:
            return spec.title, rows
    return None


_EIGHTHS = " ▏▎▍▌▋▊▉█"


def bar_lines(rows: list[tuple[str, int]], width: int) -> list[str]:
    """Render rows as `label  ████▌ n` lines fitting in `width` columns."""
    if not rows:
        return []
    label_w = min(max(len(label) for label, _ in rows), max(8, width // 2))
    num_w = max(len(str(n)) for _, n in rows)
    bar_w = max(1, width - label_w - num_w - 3)
    top = max(n for _, n in rows) or 1
    out = []
    for label, n in rows:
        eighths = round(n / top * bar_w * 8)
        bar = "█" * (eighths // 8) + (_EIGHTHS[eighths % 8] if eighths % 8 else "")
        shown = label if len(label) <= label_w else label[: label_w - 1] + "…"
        out.append(f"{shown:<{label_w}} {bar:<{bar_w}} {n:>{num_w}}")
    return out
