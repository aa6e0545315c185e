"""Timing: how long the probe ran, and whether the timestamps it printed
lie inside the run's CLOCK_MONOTONIC window."""

from __future__ import annotations

from typing import Any

from checks._util import (
    COUNT,
    NUMBER_OR_TEMPLATE,
    REGEX,
    STREAM,
    CheckError,
    cite,
    compile_regex,
    generic_kind,
    lines_of,
    parse_number,
    plural,
    require_number,
    shorten,
)
from checks.context import Context
from runner.model import Verdict


@generic_kind(
    "timing.duration",
    {
        "properties": {"min": NUMBER_OR_TEMPLATE, "max": NUMBER_OR_TEMPLATE},
        "anyOf": [{"required": ["min"]}, {"required": ["max"]}],
    },
)
def timing_duration(params: dict[str, Any], ctx: Context) -> Verdict:
    """The run's duration in seconds lies in [`min`, `max`] (either may be omitted)."""
    if ctx.run is None:
        raise CheckError("This check needs a run, and none was recorded.")
    low = require_number(params["min"], "min") if "min" in params else None
    high = require_number(params["max"], "max") if "max" in params else None
    took = round(ctx.run.duration, 2)
    expected = {"min": low, "max": high}
    span = (
        f"between {low} and {high} s"
        if low is not None and high is not None
        else (f"at least {low} s" if low is not None else f"at most {high} s")
    )
    if (low is not None and took < low) or (high is not None and took > high):
        why = (
            "it stopped early: does -d/--duration end the probe only after that many seconds?"
            if low is not None and took < low
            else "it ran too long: does the probe stop by itself once the duration is over?"
        )
        return Verdict(
            "fail", f"Expected the probe to run {span}, it ran {took} s ({why}).", expected, took
        )
    return Verdict("pass", f"The probe ran {took} s, {span}.", expected, took)


@generic_kind(
    "timing.window",
    {"required": ["pattern"], "properties": {"pattern": REGEX, "stream": STREAM, "min": COUNT}},
)
def timing_window(params: dict[str, Any], ctx: Context) -> Verdict:
    """Every (?P<ns>) timestamp on a line matching `pattern` lies inside the
    run's CLOCK_MONOTONIC window [run.started_ns, run.ended_ns], and at least
    `min` (default 1) such lines were printed."""
    rx = compile_regex(params["pattern"], "pattern", ["ns"])
    lines = lines_of(ctx.run, params.get("stream", "out"))
    run = ctx.run
    if not run.started_ns or not run.ended_ns:
        raise CheckError(
            "The run recorded no CLOCK_MONOTONIC window, so timestamps cannot be judged."
        )
    low = params.get("min", 1)
    window = [run.started_ns, run.ended_ns]
    stamps: list[tuple[int, str]] = []
    for line in lines:
        m = rx.search(line)
        if m:
            ns = parse_number(m.group("ns"))
            if not isinstance(ns, int):
                raise CheckError(
                    f"The (?P<ns>...) group captured {m.group('ns')!r}, not an integer."
                )
            stamps.append((ns, line))
    outside = [(ns, line) for ns, line in stamps if not window[0] <= ns <= window[1]]
    expected = {"window_ns": window, "min": low}
    observed = {
        "lines": len(stamps),
        "outside": len(outside),
        "examples": [ln for _, ln in outside[:3]],
    }
    if outside:
        ns, line = outside[0]
        hint = (
            " (that looks like wall-clock time; use bpf_ktime_get_ns(), which is CLOCK_MONOTONIC)"
            if ns > 10**18
            else ""
        )
        return Verdict(
            "fail",
            f"Expected every timestamp inside the run's window {window[0]}..{window[1]} ns, but "
            f"{len(outside)} of {len(stamps)} were outside, first {ns} in {shorten(line)!r}{hint}.",
            expected,
            observed,
        )
    if len(stamps) < low:
        return Verdict(
            "fail",
            f"Expected at least {plural(low, 'timestamped line')} matching {rx.pattern!r}, "
            f"saw {len(stamps)} (the probe printed {cite(lines)}).",
            expected,
            observed,
        )
    return Verdict(
        "pass",
        f"All {plural(len(stamps), 'timestamp')} lie inside the run's window.",
        expected,
        observed,
    )
