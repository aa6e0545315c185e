"""Per-call durations against the caller's own clock: each of the workload's
timed calls printed once, with a length the kernel could have measured
between the function's entry and its return. Its floor is what the call
asked for (usleep sleeps at least that long), its ceiling what the caller
measured around it on the same clock (CLOCK_MONOTONIC, which
bpf_ktime_get_ns reads). A probe that pairs entries with returns by process
instead of by thread, prints nanoseconds as microseconds, or invents numbers
lands outside those windows."""

from __future__ import annotations

from typing import Any

from checks.api import (
    REGEX,
    SAME,
    STREAM,
    TEMPLATE,
    WHERE,
    CheckError,
    WhereFilter,
    cite,
    compile_regex,
    generic_kind,
    lines_of,
    parse_number,
    plural,
)
from checks.context import Context
from runner.model import Verdict

_NS_PER = {"ns": 1, "us": 1_000, "ms": 1_000_000}
_CALL = {
    "type": "object",
    "required": ["min_ns", "max_ns"],
    "properties": {"min_ns": {"type": "integer"}, "max_ns": {"type": "integer"}},
}


def _windows(calls: Any) -> list[tuple[int, int, str]]:
    """(floor, ceiling, label) per call, from the filled `calls` param."""
    if not isinstance(calls, list) or not calls:
        raise CheckError("The calls param must name a non-empty list of the workload's calls.")
    windows = []
    for call in calls:
        if not isinstance(call, dict) or not {"min_ns", "max_ns"} <= set(call):
            raise CheckError("Each of the workload's calls needs min_ns and max_ns.")
        label = str(call.get("role") or "timed")
        windows.append((int(call["min_ns"]), int(call["max_ns"]), label))
    return windows


def _match(windows: list[tuple[int, int, str]], values: list[int], slack: int) -> list[int | None]:
    """For each window, the index of the printed value given to it (None if
    none fits). Greedy by the window's ceiling, taking the smallest value that
    fits: optimal for points and intervals, so no luckier assignment exists."""
    order = sorted(range(len(windows)), key=lambda i: windows[i][1])
    free = sorted(range(len(values)), key=lambda j: values[j])
    given: list[int | None] = [None] * len(windows)
    for i in order:
        low, high = windows[i][0] - slack, windows[i][1] + slack
        for j in free:
            if low <= values[j] <= high:
                given[i] = j
                free.remove(j)
                break
    return given


def _scale_note(windows: list[tuple[int, int, str]], values: list[int], unit: str) -> str:
    """Name a unit mix-up when the printed values are about 1000 times off."""
    if not values:
        return ""
    asked = sorted(w[0] for w in windows)[len(windows) // 2]
    printed = sorted(values)[len(values) // 2]
    if asked <= 0 or printed <= 0:
        return ""
    ratio = printed / asked
    if 300 <= ratio <= 3000:
        return f"; the printed values are about 1000 times too large for {unit}"
    if 1 / 3000 <= ratio <= 1 / 300:
        return f"; the printed values are about 1000 times too small for {unit}"
    return ""


def _show(ns: int, unit: str) -> str:
    return f"{ns / _NS_PER[unit]:.0f} {unit}"


@generic_kind(
    "latency.calls",
    {
        "required": ["pattern", "where", "calls"],
        "properties": {
            "pattern": REGEX,
            "stream": STREAM,
            "where": WHERE,
            "same": SAME,
            "value": {"type": "string", "minLength": 1, "default": "latency"},
            "unit": {"enum": list(_NS_PER), "default": "us"},
            "calls": {"anyOf": [TEMPLATE, {"type": "array", "minItems": 1, "items": _CALL}]},
        },
    },
)
def latency_calls(params: dict[str, Any], ctx: Context) -> Verdict:
    """Each of the workload's timed `calls` (each with `min_ns`, what it asked
    for, and `max_ns`, what its caller measured around it) is printed once: a
    line matching `pattern`, with every `where` group equal to its value,
    whose `value` group, read in `unit`, lies within that call's window
    (give or take one unit of rounding); no other line fits `where`."""
    group = params.get("value", "latency")
    unit = params.get("unit", "us")
    rx = compile_regex(params["pattern"], groups=[group])
    flt = WhereFilter(rx, params["where"], params.get("same"))
    windows = _windows(params["calls"])
    lines = lines_of(ctx.run, params.get("stream", "out"))
    fitting: list[str] = []
    values: list[int] = []
    for line in lines:
        m = rx.search(line)
        if m is None or flt.mismatch(m) is not None:
            continue
        number = parse_number(m.group(group))
        if number is None:
            raise CheckError(
                f"The group (?P<{group}>...) captured {m.group(group)!r}, which is not a number."
            )
        fitting.append(line)
        values.append(int(number * _NS_PER[unit]))
    given = _match(windows, values, _NS_PER[unit])
    expected = {
        "where": flt.where,
        "unit": unit,
        "calls": [{"role": w[2], "min_ns": w[0], "max_ns": w[1]} for w in windows],
    }
    observed = {"lines": len(fitting), "values_ns": values[:50], "matched": given}
    missed = [windows[i] for i, j in enumerate(given) if j is None]
    count = plural(len(windows), "timed call")
    if missed:
        shown = "; ".join(
            f"the {label} call that asked for {_show(low, unit)} (its caller saw "
            f"{_show(high, unit)})"
            for low, high, label in missed[:3]
        )
        more = f" and {len(missed) - 3} more" if len(missed) > 3 else ""
        unused = [fitting[j] for j in range(len(values)) if j not in given]
        printed = plural(len(fitting), "such line")
        rest = f"unmatched: {cite(unused)}" if unused else "each the length of another call"
        return Verdict(
            "fail",
            f"Expected each of the workload's {count} printed once with {flt.describe()} "
            f"and a length between what it asked for and what its caller measured, but "
            f"{len(missed)} matched no line: {shown}{more} (the probe printed {printed}, "
            f"{rest}{_scale_note(windows, values, unit)}).",
            expected,
            observed,
        )
    if len(fitting) > len(windows):
        extra = [fitting[j] for j in range(len(values)) if j not in given]
        return Verdict(
            "fail",
            f"Expected one line per call for the workload's {count}, but the probe printed "
            f"{len(fitting)} with {flt.describe()} ({cite(extra)} did not belong to a call).",
            expected,
            observed,
        )
    return Verdict(
        "pass",
        f"All {count} were printed once with {flt.describe()} and a length within what "
        f"each asked for and what its caller measured.",
        expected,
        observed,
    )
