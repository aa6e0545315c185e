"""Timing: how long the probe ran, how long it traced after saying it was
attached, and whether the timestamps it printed lie inside the run's
CLOCK_MONOTONIC window.

`timing.since_ready` exists because under a VM with software emulation,
compiling a kprobe program alone can take tens of seconds, so the whole
run's duration (`timing.duration`) cannot judge whether `-d N` was
honoured; the time from the ready line to the end of the run can, on any
machine."""

from __future__ import annotations

from typing import Any

from checks.api import (
    COUNT,
    NUMBER_OR_TEMPLATE,
    REGEX,
    STREAM,
    WHERE,
    CheckError,
    WhereFilter,
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
    "timing.since_ready",
    {
        "properties": {"min": NUMBER_OR_TEMPLATE, "max": NUMBER_OR_TEMPLATE},
        "required": ["min", "max"],
    },
)
def timing_since_ready(params: dict[str, Any], ctx: Context) -> Verdict:
    """The probe ended between `min` and `max` seconds after its ready line."""
    run = ctx.run
    if run is None:
        raise CheckError("This check needs a run, and none was recorded.")
    low, high = require_number(params["min"], "min"), require_number(params["max"], "max")
    if high < low:
        raise CheckError(f"The max param ({high}) is below min ({low}).")
    expected = {"min": low, "max": high}
    if not run.ready or run.ready_at is None:
        return Verdict(
            "fail",
            "The probe never printed its ready line, so the time it traced cannot be measured.",
            expected,
            None,
        )
    if run.stop_reason != "exited":
        return Verdict(
            "fail",
            f"The probe did not end by itself (it was {run.stop_reason or 'stopped'}): "
            "does -d/--duration stop it once the time is over?",
            expected,
            None,
        )
    traced = round(run.duration - run.ready_at, 2)
    if traced < low:
        return Verdict(
            "fail",
            f"Expected the probe to trace for {low}-{high} s after it attached, it ended after "
            f"{traced} s: start the -d/--duration clock once the probe is attached, not before "
            "the program is compiled.",
            expected,
            traced,
        )
    if traced > high:
        return Verdict(
            "fail",
            f"Expected the probe to trace for {low}-{high} s after it attached, it ran "
            f"{traced} s: does it stop by itself once the duration is over?",
            expected,
            traced,
        )
    return Verdict(
        "pass",
        f"The probe traced {traced} s after it attached, within {low}-{high} s.",
        expected,
        traced,
    )


@generic_kind(
    "timing.window",
    {"required": ["pattern"], "properties": {"pattern": REGEX, "stream": STREAM, "min": COUNT}},
)
def timing_window(params: dict[str, Any], ctx: Context) -> Verdict:
    """Every `(?P<ns>)` timestamp on a line matching `pattern` lies inside the
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


@generic_kind(
    "timing.before_stop",
    {
        "required": ["pattern"],
        "properties": {"pattern": REGEX, "where": WHERE, "stream": STREAM, "min": COUNT},
    },
)
def timing_before_stop(params: dict[str, Any], ctx: Context) -> Verdict:
    """At least `min` (default 1) lines matching `pattern` (with every `where`
    group equal to its value) arrived before the probe was told to stop (the
    kernel evidence's stop snapshot, taken just before SIGINT): a tracer shows
    events while it runs, not only when it exits."""
    run = ctx.run
    if run is None:
        raise CheckError("This check needs a run, and none was recorded.")
    rx = compile_regex(params["pattern"])
    flt = WhereFilter(rx, params["where"], None) if params.get("where") else None
    low = params.get("min", 1)
    stop = next((s for s in run.evidence if s.get("at") == "stop"), None)
    if stop is None or stop.get("t") is None:
        raise CheckError(
            "The run has no stop snapshot (the probe exited by itself, or no kernel evidence "
            "was taken), so when the stop came is unknown."
        )
    # lines read while the snapshot was being taken were printed before SIGINT too
    deadline = float(stop["t"]) + float(stop.get("took") or 0.0)
    stream = params.get("stream", "out")
    matching = [
        ln
        for ln in run.lines
        if (stream == "any" or ln.stream == stream)
        and (m := rx.search(ln.text))
        and (flt is None or flt.mismatch(m) is None)
    ]
    early = [ln for ln in matching if ln.t <= deadline]
    expected = {"min": low, "before_s": round(deadline, 3)}
    observed = {
        "matching": len(matching),
        "before_stop": len(early),
        "first_t": round(matching[0].t, 3) if matching else None,
    }
    # the count's noun is "line(s)", so the plural never lands on a where value
    what = f"matching {rx.pattern!r}" + (f" with {flt.describe()}" if flt else "")
    if len(early) >= low:
        return Verdict(
            "pass",
            f"{len(early)} of {len(matching)} lines matching {rx.pattern!r} arrived while the "
            f"probe ran (before the stop at {deadline:.2f} s).",
            expected,
            observed,
        )
    late = len(matching) - len(early)
    why = (
        f"{late} of them came only after the stop at {deadline:.2f} s (first at "
        f"{matching[0].t:.2f} s): read the buffer inside the loop (perf_buffer_poll / "
        "ring_buffer_poll every pass), not only once before exiting"
        if late
        else f"the probe printed {cite([ln.text for ln in run.lines if ln.stream == 'out'])}"
    )
    return Verdict(
        "fail",
        f"Expected at least {plural(low, 'line')} {what} before the probe was stopped, saw "
        f"{len(early)}: {why}.",
        expected,
        observed,
    )
