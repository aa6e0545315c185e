"""Wall-clock times a probe prints (`[HH:MM:SS.mmm]`, lesson 08) lie inside
the run's own wall-clock window, and no line shows a time later than the
moment it arrived or much earlier. A probe that converts the kernel's
CLOCK_MONOTONIC stamps with a wrong offset prints times seconds off.

The run records the wall clock at the probe's start (`Run.wall_started`)
and local time's offset from UTC then (`Run.utc_offset`); a line's arrival
is `wall_started + line.t`.
"""

from __future__ import annotations

import re
import time
from typing import Any

from checks.api import REGEX, STREAM, CheckError, cite, compile_regex, generic_kind, plural
from checks.context import Context
from runner.model import Verdict

DAY = 86_400.0
DEFAULT_SLACK = 0.5  # clock resolution and scheduling between stamp and print
DEFAULT_MAX_LAG = 3.0  # how long an event may wait in a buffer before its line arrives
_CLOCK = re.compile(r"^(\d{1,2}):(\d\d):(\d\d(?:\.\d+)?)$")


def seconds_of_day(text: str) -> float:
    m = _CLOCK.match(text.strip())
    if not m:
        raise CheckError(f"The clock group captured {text!r}, which is not HH:MM:SS[.fff].")
    hours, minutes, seconds = int(m.group(1)), int(m.group(2)), float(m.group(3))
    return hours * 3600 + minutes * 60 + seconds


def _delta(a: float, b: float) -> float:
    """a - b on a 24-hour clock, in [-12 h, 12 h)."""
    return (a - b + DAY / 2) % DAY - DAY / 2


def _stamp(wall: float, utc_offset: int) -> str:
    local = time.gmtime(wall + utc_offset)
    return time.strftime("%H:%M:%S", local) + f".{int(wall * 1000) % 1000:03d}"


@generic_kind(
    "clock.wall_window",
    {
        "required": ["pattern"],
        "properties": {
            "pattern": REGEX,  # with (?P<clock>HH:MM:SS.fff)
            "stream": STREAM,
            "slack": {"type": "number", "minimum": 0, "default": DEFAULT_SLACK},
            "max_lag": {"type": "number", "exclusiveMinimum": 0, "default": DEFAULT_MAX_LAG},
        },
    },
)
def wall_window(params: dict[str, Any], ctx: Context) -> Verdict:
    """Every printed local clock time lies within the run's wall-clock window
    and no later than `slack`, no earlier than `max_lag` seconds, before its
    line arrived."""
    run = ctx.run
    if run is None:
        raise CheckError("This check needs a run, and none was recorded.")
    if not run.wall_started:
        raise CheckError(
            "This recording has no wall-clock start (it was made before runs recorded one); "
            "record the run again."
        )
    rx = compile_regex(params["pattern"], groups=("clock",))
    slack = float(params.get("slack", DEFAULT_SLACK))
    max_lag = float(params.get("max_lag", DEFAULT_MAX_LAG))
    stream = params.get("stream", "out")
    start = run.wall_started + run.utc_offset  # local seconds since the epoch
    end = run.wall_started + run.duration
    window = f"{_stamp(run.wall_started, run.utc_offset)}..{_stamp(end, run.utc_offset)}"
    checked = 0
    bad: list[tuple[str, float]] = []  # (line, printed minus arrival)
    for line in run.lines:
        if stream != "any" and line.stream != stream:
            continue
        m = rx.search(line.text)
        if not m:
            continue
        checked += 1
        printed = seconds_of_day(m.group("clock"))
        arrived = (start + line.t) % DAY
        lead = _delta(printed, arrived)
        since_start = _delta(printed, start % DAY)
        inside = -slack <= since_start <= run.duration + slack
        if not inside or not -max_lag <= lead <= slack:
            bad.append((line.text, lead))
    expected = {"window": window, "slack": slack, "max_lag": max_lag}
    observed = {"lines": checked, "outside": len(bad)}
    if not checked:
        return Verdict(
            "fail",
            f"No line matched {rx.pattern!r}, so no time could be judged.",
            expected,
            observed,
        )
    if bad:
        text, lead = bad[0]
        way = "later" if lead > 0 else "earlier"
        observed["first_offset_s"] = round(lead, 3)
        return Verdict(
            "fail",
            f"{len(bad)} of {plural(checked, 'line')} show a time outside the run's wall-clock "
            f"window ({window} local time); the first is {abs(lead):.2f} s {way} than the "
            f"moment its line arrived: {cite([b[0] for b in bad])}.",
            expected,
            observed,
        )
    return Verdict(
        "pass",
        f"All {plural(checked, 'line')} show times within the run's window ({window}).",
        expected,
        observed,
    )
