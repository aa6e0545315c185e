"""Output patterns: lines the probe must print, must not print, or must
print exclusively."""

from __future__ import annotations

from typing import Any

from checks.api import (
    COUNT,
    REGEX,
    STREAM,
    CheckError,
    cap_note,
    cite,
    compile_regex,
    generic_kind,
    lines_of,
    plural,
)
from checks.context import Context
from runner.model import Verdict

_STREAM_NAME = {"out": "stdout", "err": "stderr", "any": "its output"}


@generic_kind(
    "output.line",
    {
        "required": ["pattern"],
        "properties": {"pattern": REGEX, "stream": STREAM, "min": COUNT, "max": COUNT},
    },
)
def output_line(params: dict[str, Any], ctx: Context) -> Verdict:
    """Between `min` (default 1) and `max` lines of the stream match `pattern`."""
    rx = compile_regex(params["pattern"])
    stream = params.get("stream", "out")
    low, high = params.get("min", 1), params.get("max")
    if high is not None and high < low:
        raise CheckError(f"The max param ({high}) is below min ({low}).")
    lines = lines_of(ctx.run, stream)
    hits = [line for line in lines if rx.search(line)]
    expected = {"pattern": rx.pattern, "min": low, "max": high}
    observed = {"matching": len(hits), "lines": len(lines), "examples": hits[:3]}
    where = _STREAM_NAME[stream]
    if len(hits) < low:
        return Verdict(
            "fail",
            f"Expected at least {plural(low, 'line')} on {where} matching {rx.pattern!r}, "
            f"saw {len(hits)} (of {plural(len(lines), 'line')}: {cite(lines)}"
            f"{cap_note(ctx.run, stream)}).",
            expected,
            observed,
        )
    if high is not None and len(hits) > high:
        return Verdict(
            "fail",
            f"Expected at most {plural(high, 'line')} on {where} matching {rx.pattern!r}, "
            f"saw {len(hits)} ({cite(hits)}).",
            expected,
            observed,
        )
    return Verdict(
        "pass",
        f"{plural(len(hits), 'line')} on {where} matched {rx.pattern!r}.",
        expected,
        observed,
    )


@generic_kind(
    "output.absent",
    {"required": ["pattern"], "properties": {"pattern": REGEX, "stream": STREAM}},
)
def output_absent(params: dict[str, Any], ctx: Context) -> Verdict:
    """No line of the stream matches `pattern`."""
    rx = compile_regex(params["pattern"])
    stream = params.get("stream", "out")
    hits = [line for line in lines_of(ctx.run, stream) if rx.search(line)]
    expected = {"pattern": rx.pattern, "max": 0}
    observed = {"matching": len(hits), "examples": hits[:3]}
    if hits:
        return Verdict(
            "fail",
            f"Expected no line on {_STREAM_NAME[stream]} matching {rx.pattern!r}, "
            f"saw {len(hits)}: {cite(hits)}.",
            expected,
            observed,
        )
    return Verdict(
        "pass", f"No line on {_STREAM_NAME[stream]} matched {rx.pattern!r}.", expected, observed
    )


@generic_kind(
    "output.every",
    {
        "required": ["pattern"],
        "properties": {
            "pattern": REGEX,
            "stream": STREAM,
            "ignore": {"type": "array", "items": REGEX},
            "min": COUNT,
        },
    },
)
def output_every(params: dict[str, Any], ctx: Context) -> Verdict:
    """Every line not matching an `ignore` regex matches `pattern`, and at
    least `min` (default 1) lines do."""
    rx = compile_regex(params["pattern"])
    ignore = [compile_regex(p, "ignore") for p in params.get("ignore", [])]
    stream = params.get("stream", "out")
    low = params.get("min", 1)
    judged = [line for line in lines_of(ctx.run, stream) if not any(i.search(line) for i in ignore)]
    stray = [line for line in judged if not rx.search(line)]
    good = len(judged) - len(stray)
    expected = {"pattern": rx.pattern, "min": low, "stray": 0}
    observed = {"matching": good, "stray": len(stray), "examples": stray[:3]}
    where = _STREAM_NAME[stream]
    if stray:
        return Verdict(
            "fail",
            f"Expected every line on {where} to match {rx.pattern!r}, but "
            f"{len(stray)} of {len(judged)} did not: {cite(stray)}.",
            expected,
            observed,
        )
    if good < low:
        return Verdict(
            "fail",
            f"Expected at least {plural(low, 'line')} on {where} matching {rx.pattern!r}, "
            f"saw {good}.",
            expected,
            observed,
        )
    return Verdict(
        "pass", f"All {plural(good, 'line')} on {where} matched {rx.pattern!r}.", expected, observed
    )
