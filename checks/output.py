"""Output patterns: lines the probe must print, must not print, or must
print exclusively; and whether the probe crashed (a Python traceback)."""

from __future__ import annotations

import re
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
_TRACEBACK = re.compile(r"^Traceback \(most recent call last\):")


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


def _raised(err: list[str]) -> list[str]:
    """The exception line ending each traceback on stderr: the first line after
    "Traceback (most recent call last):" that is not an indented frame."""
    found: list[str] = []
    for index, text in enumerate(err):
        if not _TRACEBACK.match(text):
            continue
        tail = (line for line in err[index + 1 :] if line.strip() and not line[0].isspace())
        found.append(next(tail, "(the traceback was cut off)"))
    return found


@generic_kind("output.no_traceback", {"properties": {}})
def output_no_traceback(params: dict[str, Any], ctx: Context) -> Verdict:
    """No Python traceback on stderr, except a KeyboardInterrupt once the
    runner has sent its Ctrl+C (SIGINT) to stop the probe."""
    run = ctx.run
    raised = _raised(lines_of(run, "err"))
    # bcc's own tools stop on Ctrl+C by catching KeyboardInterrupt around the
    # poll loop; when it lands inside a perf or ring buffer callback, ctypes
    # prints that traceback and carries on. It is the runner's stop, not a crash,
    # and whether it happens is a matter of timing, so it cannot decide a verdict.
    stopped = run is not None and "INT" in run.signals_sent
    crashes = [
        line for line in raised if not (stopped and line.split(":")[0] == "KeyboardInterrupt")
    ]
    expected = {"tracebacks": 0, "forgiven": "KeyboardInterrupt after the runner's SIGINT"}
    observed = {"tracebacks": len(raised), "crashes": crashes[:3]}
    if crashes:
        return Verdict(
            "fail",
            f"Expected no Python traceback on stderr, saw {plural(len(crashes), 'traceback')} "
            f"ending in {cite(crashes)}.",
            expected,
            observed,
        )
    forgiven = f" other than {plural(len(raised), 'KeyboardInterrupt')} from the runner's Ctrl+C"
    return Verdict(
        "pass",
        f"No Python traceback on stderr{forgiven if raised else ''}.",
        expected,
        observed,
    )
