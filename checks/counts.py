"""Counts and sums: the numbers a probe prints about what it
saw must agree with the lines it printed and with the ground truth."""

from __future__ import annotations

import operator
import re
from typing import Any

from checks.api import (
    NUMBER_OR_TEMPLATE,
    REGEX,
    SAME,
    STREAM,
    WHERE,
    CheckError,
    WhereFilter,
    cite,
    compile_regex,
    dropped_of,
    generic_kind,
    group_number,
    lines_of,
    other_values,
    plural,
    require_number,
    shorten,
)
from checks.context import Context
from runner.model import Verdict

_OPS = {"eq": operator.eq, "ge": operator.ge, "le": operator.le}
_RELATION = {"eq": "equal to", "ge": "at least", "le": "at most"}


def _last(rx: re.Pattern, lines: list[str]) -> re.Match | None:
    for line in reversed(lines):
        m = rx.search(line)
        if m:
            return m
    return None


def _count_lines(rx: re.Pattern, lines: list[str], dropped: int) -> tuple[int, str]:
    """Count lines matching `rx`, accounting for lines dropped by the output
    cap when that is sound: only if every kept line between the first and the
    last counted one is itself counted, so the dropped ones (inside that
    stretch) were event lines like their neighbours."""
    hits = [i for i, line in enumerate(lines) if rx.search(line)]
    if not dropped:
        return len(hits), ""
    if hits and len(hits) == hits[-1] - hits[0] + 1:
        return len(hits) + dropped, (
            f" (including {plural(dropped, 'line')} the output cap dropped from the run of "
            f"event lines)"
        )
    raise CheckError(
        f"The runner's output cap dropped {plural(dropped, 'line')} and the kept lines are "
        f"not one unbroken run of lines matching {rx.pattern!r}, so the count cannot be "
        f"exact; print fewer lines (a shorter duration or a filter) and run again."
    )


@generic_kind(
    "counts.total",
    {
        "required": ["total"],
        "properties": {
            "total": REGEX,
            "count": REGEX,
            "sum": REGEX,
            "value": NUMBER_OR_TEMPLATE,
            "plus": REGEX,
            "op": {"enum": ["eq", "ge", "le"], "default": "eq"},
            "stream": STREAM,
        },
        "oneOf": [
            {"required": ["count"]},
            {"required": ["sum"]},
            {"required": ["value"]},
        ],
    },
)
def counts_total(params: dict[str, Any], ctx: Context) -> Verdict:
    """A summary number agrees with what was printed or done.

    - `total`: regex with (?P<n>) for the summary line (the last such line counts).
    - exactly one of `count` (regex: count the matching lines), `sum` (regex
      with (?P<n>): sum the numbers) or `value` (a number or template such as
      "{workload.facts.opens}").
    - `plus` (optional regex with (?P<n>), e.g. 'Lost (?P<n>\\d+) events'):
      its number is added to the total; a missing plus line counts as 0.
    - `op`: eq (default), ge or le: how total (+ plus) compares to the other side.
    Lines matching `total` or `plus` are never counted or summed themselves.
    """
    stream = params.get("stream", "out")
    lines = lines_of(ctx.run, stream)
    total_rx = compile_regex(params["total"], "total", ["n"])
    plus_rx = compile_regex(params["plus"], "plus", ["n"]) if "plus" in params else None
    op = params.get("op", "eq")

    summary = _last(total_rx, lines)
    if summary is None:
        return Verdict(
            "fail",
            f"Expected a summary line matching {total_rx.pattern!r}, saw none "
            f"(the last lines were {cite(lines[-2:])}).",
            {"total": total_rx.pattern},
            {"total": None, "lines": len(lines)},
        )
    total = group_number(summary)
    left, left_desc = total, f"the summary's {total}"
    plus = 0
    if plus_rx is not None:
        plus_match = _last(plus_rx, lines)
        plus = group_number(plus_match) if plus_match else 0
        left, left_desc = total + plus, f"the summary's {total} plus {plus} ({total + plus})"

    body = [ln for ln in lines if not total_rx.search(ln) and not (plus_rx and plus_rx.search(ln))]
    note = ""
    if "count" in params:
        count_rx = compile_regex(params["count"], "count")
        right, note = _count_lines(count_rx, body, dropped_of(ctx.run, stream))
        right_desc = f"the {plural(right, 'line')} matching {count_rx.pattern!r}"
    elif "sum" in params:
        sum_rx = compile_regex(params["sum"], "sum", ["n"])
        if dropped_of(ctx.run, stream):
            raise CheckError(
                f"The runner's output cap dropped {plural(dropped_of(ctx.run, stream), 'line')}, "
                f"so the numbers to sum are incomplete; print fewer lines and run again."
            )
        parts = [group_number(m) for m in (sum_rx.search(ln) for ln in body) if m]
        right = sum(parts)
        right_desc = f"the sum {right} of {plural(len(parts), 'line')} matching {sum_rx.pattern!r}"
    else:
        right = require_number(params["value"], "value")
        right_desc = f"{right}"

    expected = {"op": op, "value": right}
    observed = {"total": total, "plus": plus if plus_rx else None, "line": summary.string}
    if _OPS[op](left, right):
        return Verdict(
            "pass",
            f"As expected, {left_desc} is {_RELATION[op]} {right_desc}{note}.",
            expected,
            observed,
        )
    return Verdict(
        "fail",
        f"Expected {left_desc} to be {_RELATION[op]} {right_desc}{note}, but it is not "
        f"(summary line {shorten(summary.string)!r}).",
        expected,
        observed,
    )


@generic_kind(
    "counts.value",
    {
        "required": ["pattern", "value"],
        "properties": {
            "pattern": REGEX,
            "stream": STREAM,
            "where": WHERE,
            "same": SAME,
            "op": {"enum": ["eq", "ge", "le", "within"], "default": "eq"},
            "value": NUMBER_OR_TEMPLATE,
            "pct": {"type": "number", "minimum": 0},
        },
        "if": {"required": ["op"], "properties": {"op": {"const": "within"}}},
        "then": {"required": ["pct"]},
    },
)
def counts_value(params: dict[str, Any], ctx: Context) -> Verdict:
    """The number `(?P<n>)` on the last line matching `pattern` (and `where`)
    compares to `value` by `op`: eq (default), ge, le, or within `pct` percent."""
    rx = compile_regex(params["pattern"], "pattern", ["n"])
    flt = WhereFilter(rx, params.get("where", {}), params.get("same"))
    lines = lines_of(ctx.run, params.get("stream", "out"))
    value = require_number(params["value"], "value")
    op, pct = params.get("op", "eq"), params.get("pct", 0)

    found: re.Match | None = None
    misses: list[tuple[str, re.Match]] = []
    for line in lines:
        m = rx.search(line)
        if not m:
            continue
        group = flt.mismatch(m)
        if group is None:
            found = m
        else:
            misses.append((group, m))
    subject = (
        f"the line with {flt.describe()}" if flt.where else f"the line matching {rx.pattern!r}"
    )
    expected = {"op": op, "value": value, "pct": pct if op == "within" else None}
    if found is None:
        why = (
            f"the probe printed {other_values(misses, flt.where)}"
            if misses
            else f"no line matched {rx.pattern!r}; the probe printed {cite(lines)}"
        )
        return Verdict(
            "fail", f"Expected {subject}{flt.same_note()}, saw none ({why}).", expected, None
        )
    n = group_number(found)
    if op == "within":
        ok = abs(n - value) <= abs(value) * pct / 100
        target = f"within {pct}% of {value}"
    else:
        ok = _OPS[op](n, value)
        target = f"{value}" if op == "eq" else f"{_RELATION[op]} {value}"
    observed = {"n": n, "line": found.string}
    if ok:
        return Verdict(
            "pass",
            f"The number on {subject} is {n}{'' if op == 'eq' else ', ' + target}, as expected.",
            expected,
            observed,
        )
    return Verdict(
        "fail",
        f"Expected the number on {subject} to be {target}, saw {n} ({shorten(found.string)!r}).",
        expected,
        observed,
    )
