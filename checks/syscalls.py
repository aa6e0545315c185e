"""Syscall tracer checks (lesson 08): the number of syscalls of each kind
that a tracer showed for the workload equals what the workload really did,
both in its event lines and in its summary table.

`expected` maps syscall names to counts, usually templates of the
workload's facts (`{read: "{workload.facts.reads}"}`), so a tracer that
prints plausible lines without observing the kernel cannot hit them.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from checks.api import (
    REGEX,
    SCALAR,
    STREAM,
    CheckError,
    cite,
    compile_regex,
    generic_kind,
    lines_of,
    parse_number,
    plural,
)
from checks.context import Context
from runner.model import Verdict

_EXPECTED = {"type": "object", "minProperties": 1, "additionalProperties": SCALAR}
_OP = {"enum": ["eq", "ge"], "default": "eq"}


def _wanted(expected: dict[str, Any]) -> dict[str, int]:
    """The filled `expected` mapping with every count an int."""
    counts: dict[str, int] = {}
    for name, value in expected.items():
        number = parse_number(value)
        if not isinstance(number, int) or number < 0:
            raise CheckError(f"The expected count of {name} must be a whole number, got {value!r}.")
        counts[name] = number
    return counts


def _compare(
    what: str, wanted: dict[str, int], seen: dict[str, int | None], op: str
) -> tuple[bool, str]:
    """(all fit, one sentence naming the first syscall that does not)."""
    for name, want in wanted.items():
        got = seen.get(name)
        ok = got is not None and (got == want if op == "eq" else got >= want)
        if not ok:
            shown = "no count" if got is None else str(got)
            bound = "exactly" if op == "eq" else "at least"
            return False, f"{what} showed {shown} for {name}, expected {bound} {want}"
    return True, ""


@generic_kind(
    "syscalls.event_counts",
    {
        "required": ["pattern", "expected"],
        "properties": {
            "pattern": REGEX,
            "stream": STREAM,
            "pid": SCALAR,
            "expected": _EXPECTED,
            "op": _OP,
        },
    },
)
def event_counts(params: dict[str, Any], ctx: Context) -> Verdict:
    """The number of event lines per syscall (of `pid`, when given) equals
    (op eq) or reaches (op ge) the `expected` count of each syscall."""
    groups = ("syscall", "pid") if "pid" in params else ("syscall",)
    rx = compile_regex(params["pattern"], groups=groups)
    wanted = _wanted(params["expected"])
    op = params.get("op", "eq")
    pid = parse_number(params.get("pid"))
    lines = lines_of(ctx.run, params.get("stream", "out"))
    seen: Counter[str] = Counter()
    for line in lines:
        m = rx.search(line)
        if m and (pid is None or parse_number(m.group("pid")) == pid):
            seen[m.group("syscall")] += 1
    observed = {name: seen.get(name, 0) for name in wanted}
    who = f" of pid {pid}" if pid is not None else ""
    ok, why = _compare(f"The event lines{who}", wanted, {n: seen.get(n, 0) for n in wanted}, op)
    if not ok:
        return Verdict(
            "fail",
            f"{why} (the probe printed {plural(sum(seen.values()), 'matching line')}{who}; "
            f"first lines: {cite(lines)}).",
            wanted,
            observed,
        )
    listed = ", ".join(f"{n} {c}" for n, c in observed.items())
    return Verdict(
        "pass", f"The event lines{who} counted {listed}, as the workload did.", wanted, observed
    )


def _table(lines: list[str], section: re.Pattern, row: re.Pattern) -> dict[str, int] | None:
    """Rows of the table that follows the first line matching `section`;
    the table ends at the first line that is not a row. None: no section."""
    for index, line in enumerate(lines):
        if section.search(line):
            rows: dict[str, int] = {}
            for text in lines[index + 1 :]:
                m = row.search(text)
                if not m:
                    break
                number = parse_number(m.group("n"))
                if isinstance(number, int):
                    rows.setdefault(m.group("syscall"), number)
            return rows
    return None


@generic_kind(
    "syscalls.summary_counts",
    {
        "required": ["pattern", "expected"],
        "properties": {
            "pattern": REGEX,
            "section": REGEX,
            "expected": _EXPECTED,
            "op": _OP,
        },
    },
)
def summary_counts(params: dict[str, Any], ctx: Context) -> Verdict:
    """In the summary table after the `section` heading (default
    '^Top syscalls'), each expected syscall's row has that count."""
    section = compile_regex(params.get("section", r"^Top syscalls"), "section")
    row = compile_regex(params["pattern"], groups=("syscall", "n"))
    wanted = _wanted(params["expected"])
    op = params.get("op", "eq")
    lines = lines_of(ctx.run, "out")
    rows = _table(lines, section, row)
    if rows is None:
        return Verdict(
            "fail",
            f"No summary heading matching {section.pattern!r} was printed (last lines: "
            f"{cite(lines[-2:])}).",
            wanted,
            None,
        )
    observed = {name: rows.get(name) for name in wanted}
    ok, why = _compare("The summary table", wanted, observed, op)
    if not ok:
        return Verdict("fail", f"{why} (rows: {plural(len(rows), 'row')}).", wanted, observed)
    listed = ", ".join(f"{n} {c}" for n, c in observed.items())
    return Verdict(
        "pass", f"The summary table counted {listed}, as the workload did.", wanted, observed
    )


@generic_kind(
    "syscalls.summary_matches_lines",
    {
        "required": ["pattern", "line"],
        "properties": {
            "pattern": REGEX,  # a summary row with (?P<syscall>) and (?P<n>)
            "section": REGEX,
            "line": REGEX,  # an event line with (?P<syscall>)
            "pct": {"type": "number", "minimum": 0, "default": 0},
            "lost": REGEX,  # the probe's own count of events it could not read, (?P<n>)
        },
    },
)
def summary_matches_lines(params: dict[str, Any], ctx: Context) -> Verdict:
    """Each row of the summary table after `section` (default '^Top syscalls')
    counts as many events as the probe printed lines of that syscall, within
    `pct` percent (plus one): the summary, counted in the kernel after the
    filters, describes the events the lines show. The slack covers events of
    other processes counted between the last read of the buffer and the read
    of the map, which a system-wide tracer cannot avoid. With `lost`, events
    the probe reported it could not read (a full buffer on a busy machine)
    may be counted in a row without a line: at most that many more."""
    section = compile_regex(params.get("section", r"^Top syscalls"), "section")
    row = compile_regex(params["pattern"], groups=("syscall", "n"))
    event = compile_regex(params["line"], "line", groups=("syscall",))
    pct = float(params.get("pct", 0))
    lines = lines_of(ctx.run, "out")
    lost = 0
    if "lost" in params:
        lost_re = compile_regex(params["lost"], "lost", groups=("n",))
        lost = sum(int(m.group("n")) for m in (lost_re.search(ln) for ln in lines) if m)
    rows = _table(lines, section, row)
    shown = Counter(m.group("syscall") for m in (event.search(ln) for ln in lines) if m)
    expected = {"pct": pct, "lines": dict(shown)}
    if rows is None:
        return Verdict(
            "fail",
            f"No summary heading matching {section.pattern!r} was printed (last lines: "
            f"{cite(lines[-2:])}).",
            expected,
            None,
        )
    if not rows:
        return Verdict("fail", "The summary table has no rows.", expected, {})
    observed = {"rows": rows}
    for name, n in rows.items():
        printed = shown.get(name, 0)
        slack = printed * pct / 100 + 1
        if not printed - slack <= n <= printed + lost + slack:
            return Verdict(
                "fail",
                f"The summary counts {n} {name} calls, but the probe printed "
                f"{plural(printed, f'{name} line')}"
                + (f" and reported {lost} lost" if lost else "")
                + ": the summary must count the events the lines show - increment the counts "
                "after every filter, the probe's own pid included.",
                expected,
                observed,
            )
    listed = ", ".join(f"{n} {name}" for name, n in rows.items())
    return Verdict(
        "pass",
        f"The summary rows ({listed}) match the lines printed, within {pct:g}% + 1.",
        expected,
        observed,
    )
