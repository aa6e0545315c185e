"""Counts, sums and sorted tables: the numbers a probe prints about what it
saw must agree with the lines it printed and with the ground truth."""

from __future__ import annotations

import operator
import re
from typing import Any

from checks._util import (
    COUNT,
    NUMBER_OR_TEMPLATE,
    REGEX,
    SAME,
    STREAM,
    WHERE,
    CheckError,
    Number,
    WhereFilter,
    cite,
    compile_regex,
    dropped_of,
    generic_kind,
    lines_of,
    other_values,
    parse_number,
    plural,
    require_number,
    shorten,
)
from checks.context import Context
from runner.model import Verdict

_OPS = {"eq": operator.eq, "ge": operator.ge, "le": operator.le}
_RELATION = {"eq": "equal to", "ge": "at least", "le": "at most"}


def _number(m: re.Match, group: str = "n") -> Number:
    value = parse_number(m.group(group))
    if value is None:
        raise CheckError(
            f"The group (?P<{group}>...) captured {m.group(group)!r}, which is not a number; "
            f"make it match digits only."
        )
    return value


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
    total = _number(summary)
    left, left_desc = total, f"the summary's {total}"
    plus = 0
    if plus_rx is not None:
        plus_match = _last(plus_rx, lines)
        plus = _number(plus_match) if plus_match else 0
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
        parts = [_number(m) for m in (sum_rx.search(ln) for ln in body) if m]
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
    """The number (?P<n>) on the last line matching `pattern` (and `where`)
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
    n = _number(found)
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


@generic_kind(
    "order.sorted",
    {
        "required": ["pattern"],
        "properties": {
            "pattern": REGEX,
            "stream": STREAM,
            "order": {"enum": ["desc", "asc"], "default": "desc"},
            "max_rows": {"type": "integer", "minimum": 1},
            "min": COUNT,
        },
    },
)
def order_sorted(params: dict[str, Any], ctx: Context) -> Verdict:
    """Rows matching `pattern` are sorted by their (?P<n>) number (`order`
    desc by default), there are at most `max_rows` and at least `min` (default 1)."""
    rx = compile_regex(params["pattern"], "pattern", ["n"])
    lines = lines_of(ctx.run, params.get("stream", "out"))
    order, most, least = params.get("order", "desc"), params.get("max_rows"), params.get("min", 1)
    rows = [m for m in (rx.search(ln) for ln in lines) if m]
    values = [_number(m) for m in rows]
    expected = {"order": order, "max_rows": most, "min": least}
    observed = {"rows": len(rows), "values": values[:50]}
    if len(rows) < least:
        return Verdict(
            "fail",
            f"Expected at least {plural(least, 'row')} matching {rx.pattern!r}, saw {len(rows)} "
            f"(the probe printed {cite(lines)}).",
            expected,
            observed,
        )
    if most is not None and len(rows) > most:
        return Verdict(
            "fail",
            f"Expected at most {plural(most, 'row')}, saw {len(rows)}: keep only the top {most}.",
            expected,
            observed,
        )
    wrong = operator.lt if order == "desc" else operator.gt
    for i in range(1, len(values)):
        if wrong(values[i - 1], values[i]):
            first = "largest" if order == "desc" else "smallest"
            return Verdict(
                "fail",
                f"Expected rows sorted {first} first, but row {i + 1} ({values[i]}) comes after "
                f"row {i} ({values[i - 1]}): {cite([rows[i - 1].string, rows[i].string])}.",
                expected,
                observed,
            )
    return Verdict("pass", f"{plural(len(rows), 'row')} sorted {order}.", expected, observed)
