"""Which values a probe's lines may carry: none of a forbidden set (the
probe's own pids, a noise process that a filter must drop), or only an
allowed set (the rows of a summary table under a filter).

`values` / `allowed` are lists, usually of templates (`["{workload.pid}"]`)
or one template that is itself a list (`"{run.probe_pids}"`). With
`section`, only the table that follows the first line matching it is read:
its rows are the lines right after the heading that match `pattern`.
"""

from __future__ import annotations

import re
from typing import Any

from checks.api import (
    COUNT,
    REGEX,
    SCALAR,
    STREAM,
    TEMPLATE,
    CheckError,
    canonical,
    cap_note,
    cite,
    compile_regex,
    generic_kind,
    lines_of,
    plural,
)
from checks.context import Context
from runner.model import Verdict

VALUES = {"anyOf": [{"type": "array", "items": SCALAR}, TEMPLATE]}
GROUP = {"type": "string", "pattern": r"^[A-Za-z_]\w*$"}

_COMMON = {
    "pattern": REGEX,
    "group": GROUP,
    "stream": STREAM,
    "section": REGEX,
    "min": COUNT,
}


def _value_set(value: Any, param: str) -> set[Any]:
    """The filled list as canonical values (numbers as numbers)."""
    items = value if isinstance(value, list | tuple | set) else [value]
    flat: list[Any] = []
    for item in items:  # a template inside the list may itself be a list
        flat.extend(item if isinstance(item, list | tuple | set) else [item])
    if not flat:
        raise CheckError(f"The {param} param is empty after filling its templates.")
    return {canonical(v) for v in flat}


def _rows(params: dict[str, Any], ctx: Context) -> tuple[re.Pattern, list[re.Match], list[str]]:
    """The matches of `pattern`: in every line, or in the table after `section`."""
    rx = compile_regex(params["pattern"], groups=(params["group"],))
    lines = lines_of(ctx.run, params.get("stream", "out"))
    if "section" not in params:
        return rx, [m for m in (rx.search(line) for line in lines) if m], lines
    heading = compile_regex(params["section"], "section")
    for index, line in enumerate(lines):
        if heading.search(line):
            rows: list[re.Match] = []
            for text in lines[index + 1 :]:
                m = rx.search(text)
                if not m:
                    break
                rows.append(m)
            return rx, rows, lines
    raise _NoSection(heading.pattern, lines)


class _NoSection(Exception):
    def __init__(self, heading: str, lines: list[str]) -> None:
        self.heading, self.lines = heading, lines


def _where(params: dict[str, Any]) -> str:
    return f"under {params['section']!r}" if "section" in params else "in the output"


def _judge(params: dict[str, Any], ctx: Context, *, forbid: bool) -> Verdict:
    group = params["group"]
    key = "values" if forbid else "allowed"
    wanted = _value_set(params[key], key)
    low = params.get("min", 0 if forbid else 1)
    expected = {key: sorted(wanted, key=str), "group": group, "min": low}
    try:
        rx, rows, lines = _rows(params, ctx)
    except _NoSection as missing:
        return Verdict(
            "fail",
            f"No heading matching {missing.heading!r} was printed (last lines: "
            f"{cite(missing.lines[-2:])}).",
            expected,
            None,
        )
    bad = [m for m in rows if (canonical(m.group(group)) in wanted) == forbid]
    values = sorted({str(m.group(group)) for m in bad})
    observed = {"rows": len(rows), "bad": len(bad), "values": values[:10]}
    shown = ", ".join(values[:5]) + (" ..." if len(values) > 5 else "")

    def one(singular: str, many: str) -> str:
        return singular if len(bad) == 1 else many

    if bad:
        if forbid:
            why = (
                f"{plural(len(bad), 'line')} {_where(params)} {one('carries', 'carry')} {group} "
                f"{shown}, which must "
                f"not appear"
            )
        else:
            allowed = ", ".join(str(v) for v in sorted(wanted, key=str))
            why = (
                f"{plural(len(bad), 'row')} {_where(params)} {one('has', 'have')} {group} {shown}, "
                f"but only "
                f"{allowed} may appear"
            )
        return Verdict("fail", f"{why}: {cite([m.string for m in bad])}.", expected, observed)
    if len(rows) < low:
        return Verdict(
            "fail",
            f"Expected at least {plural(low, 'line')} matching {rx.pattern!r} "
            f"{_where(params)}, saw {len(rows)} (the probe printed {cite(lines)}"
            f"{cap_note(ctx.run, params.get('stream', 'out'))}).",
            expected,
            observed,
        )
    if forbid:
        listed = ", ".join(str(v) for v in sorted(wanted, key=str))
        message = f"None of {plural(len(rows), 'matching line')} carried {group} {listed}."
    else:
        message = f"All {plural(len(rows), 'row')} {_where(params)} had an allowed {group}."
    return Verdict("pass", message, expected, observed)


@generic_kind(
    "lines.none",
    {"required": ["pattern", "group", "values"], "properties": {**_COMMON, "values": VALUES}},
)
def lines_none(params: dict[str, Any], ctx: Context) -> Verdict:
    """No line matching `pattern` (in `section`'s table, when given) has its
    `group` equal to one of `values`; at least `min` (default 0) lines matched."""
    return _judge(params, ctx, forbid=True)


@generic_kind(
    "lines.only",
    {"required": ["pattern", "group", "allowed"], "properties": {**_COMMON, "allowed": VALUES}},
)
def lines_only(params: dict[str, Any], ctx: Context) -> Verdict:
    """Every line matching `pattern` (every row of `section`'s table, when
    given) has its `group` in `allowed`; at least `min` (default 1) matched."""
    return _judge(params, ctx, forbid=False)


@generic_kind(
    "lines.differ",
    {
        "required": ["pattern", "groups"],
        "properties": {
            "pattern": REGEX,
            "groups": {"type": "array", "items": GROUP, "minItems": 2, "maxItems": 2},
            "stream": STREAM,
            "min": COUNT,
        },
    },
)
def lines_differ(params: dict[str, Any], ctx: Context) -> Verdict:
    """No line matching `pattern` has its two `groups` equal (a context switch
    names two different tasks: the kernel never switches a task to itself);
    at least `min` (default 1) lines matched."""
    first, second = params["groups"]
    rx = compile_regex(params["pattern"], groups=(first, second))
    lines = lines_of(ctx.run, params.get("stream", "out"))
    rows = [m for m in (rx.search(line) for line in lines) if m]
    same = [m for m in rows if canonical(m.group(first)) == canonical(m.group(second))]
    low = params.get("min", 1)
    expected = {"groups": [first, second], "equal": 0, "min": low}
    observed = {"rows": len(rows), "equal": len(same)}
    if same:
        return Verdict(
            "fail",
            f"{plural(len(same), 'line')} of {len(rows)} {'has' if len(same) == 1 else 'have'} "
            f"{first} equal to {second}, which never happens: {cite([m.string for m in same])} "
            f"(is one field read twice, where two different ones belong?).",
            expected,
            observed,
        )
    if len(rows) < low:
        return Verdict(
            "fail",
            f"Expected at least {plural(low, 'line')} matching {rx.pattern!r}, saw {len(rows)} "
            f"(the probe printed {cite(lines)}{cap_note(ctx.run, params.get('stream', 'out'))}).",
            expected,
            observed,
        )
    return Verdict(
        "pass",
        f"All {plural(len(rows), 'matching line')} have {first} different from {second}.",
        expected,
        observed,
    )
