"""Ground-truth event matching: lines whose named groups (pid, comm, dfd
...) equal what the workload really did. A probe printing well-formed lines
for invented pids matches nothing here."""

from __future__ import annotations

import re
from typing import Any

from checks.api import (
    COUNT,
    REGEX,
    SAME,
    STREAM,
    WHERE,
    CheckError,
    WhereFilter,
    cap_note,
    cite,
    compile_regex,
    generic_kind,
    lines_of,
    other_values,
    plural,
    shorten,
)
from checks.context import Context
from runner.model import Verdict

_COMMON = {
    "pattern": REGEX,
    "stream": STREAM,
    "where": WHERE,
    "same": SAME,
    "min": COUNT,
}


def _scan(
    params: dict[str, Any], ctx: Context
) -> tuple[re.Pattern, WhereFilter, list[str], list[str], list[tuple[str, re.Match]]]:
    """Split the stream's lines into fitting lines and near misses (lines that
    match the pattern but differ in some `where` group)."""
    rx = compile_regex(params["pattern"])
    if not rx.groupindex:
        raise CheckError(f"The pattern {rx.pattern!r} needs named groups such as (?P<pid>\\d+).")
    flt = WhereFilter(rx, params["where"], params.get("same"))
    lines = lines_of(ctx.run, params.get("stream", "out"))
    fits: list[str] = []
    misses: list[tuple[str, re.Match]] = []
    for line in lines:
        m = rx.search(line)
        if not m:
            continue
        group = flt.mismatch(m)
        if group is None:
            fits.append(line)
        else:
            misses.append((group, m))
    return rx, flt, lines, fits, misses


def _no_match_reason(flt: WhereFilter, lines: list[str], misses: list) -> str:
    rx = flt.rx
    if misses:
        return f"the probe printed {other_values(misses, flt.where)}"
    return f"no line matched {rx.pattern!r}; the probe printed {cite(lines)}"


@generic_kind(
    "events.match",
    {"required": ["pattern", "where"], "properties": {**_COMMON, "max": COUNT}},
)
def events_match(params: dict[str, Any], ctx: Context) -> Verdict:
    """At least `min` (default 1), at most `max` lines match `pattern` with
    every `where` group equal to its (usually templated ground-truth) value;
    numbers compare as ints and `same` lists renderings that count as one."""
    rx, flt, lines, fits, misses = _scan(params, ctx)
    low, high = params.get("min", 1), params.get("max")
    if high is not None and high < low:
        raise CheckError(f"The max param ({high}) is below min ({low}).")
    expected = {"where": flt.where, "min": low, "max": high}
    observed = {
        "matching": len(fits),
        "other": len(misses),
        "lines": len(lines),
        "examples": fits[:3],
    }
    if flt.renderings:
        observed["same_renderings"] = {k: sorted(v) for k, v in flt.renderings.items()}
    note = flt.same_note()
    if len(fits) < low:
        return Verdict(
            "fail",
            f"Expected at least {plural(low, 'line')} with {flt.describe()}, saw {len(fits)}"
            f"{note} ({_no_match_reason(flt, lines, misses)}"
            f"{cap_note(ctx.run, params.get('stream', 'out'))}).",
            expected,
            observed,
        )
    if high is not None and len(fits) > high:
        return Verdict(
            "fail",
            f"Expected at most {plural(high, 'line')} with {flt.describe()}, saw {len(fits)}"
            f"{note} ({cite(fits)}).",
            expected,
            observed,
        )
    return Verdict(
        "pass",
        f"{plural(len(fits), 'line')} showed {flt.describe()}{note}.",
        expected,
        observed,
    )


@generic_kind("events.all", {"required": ["pattern", "where"], "properties": _COMMON})
def events_all(params: dict[str, Any], ctx: Context) -> Verdict:
    """Every line matching `pattern` has each `where` group equal to its value
    (a filter really filtered), and at least `min` (default 1) lines matched."""
    rx, flt, lines, fits, misses = _scan(params, ctx)
    low = params.get("min", 1)
    total = len(fits) + len(misses)
    expected = {"where": flt.where, "min": low, "other": 0}
    observed = {
        "matching": len(fits),
        "other": len(misses),
        "examples": [shorten(m.string) for _, m in misses[:3]],
    }
    note = flt.same_note()
    if misses:
        return Verdict(
            "fail",
            f"Expected every matching line to have {flt.describe()}, but {len(misses)} of "
            f"{total} did not ({other_values(misses, flt.where)}): "
            f"{cite([m.string for _, m in misses])}.",
            expected,
            observed,
        )
    if len(fits) < low:
        return Verdict(
            "fail",
            f"Expected at least {plural(low, 'line')} with {flt.describe()}, saw {len(fits)} "
            f"({_no_match_reason(flt, lines, misses)}).",
            expected,
            observed,
        )
    return Verdict(
        "pass",
        f"All {plural(len(fits), 'matching line')} had {flt.describe()}{note}.",
        expected,
        observed,
    )
