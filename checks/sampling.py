"""Check kinds for CPU sampling (lesson 07): does the workload's row hold as
many samples as the sampling frequency and the CPU time it really burned say?

A software CPU clock at F Hz fires F times per second of CPU time a task
spends on a CPU, so a process that burned S seconds of CPU should collect
about F x S samples. The workload measures S itself (its own CPU time), so
the check compares against what happened, not against the wall clock.
"""

from __future__ import annotations

from typing import Any

from checks.api import (
    NUMBER_OR_TEMPLATE,
    REGEX,
    CheckError,
    cite,
    compile_regex,
    generic_kind,
    lines_of,
    parse_number,
    require_number,
)
from checks.context import Context
from runner.model import Verdict

DEFAULT_PCT = 30.0
# Below this many expected samples, chance alone moves the count by more
# than the tolerance: the run says nothing about the probe.
DEFAULT_MIN_EXPECTED = 20


def expected_samples(freq: float, cpu_seconds: float) -> float:
    """Samples a CPU clock at `freq` Hz takes of a task that ran `cpu_seconds`."""
    return freq * cpu_seconds


def within(observed: float, expected: float, pct: float) -> bool:
    return abs(observed - expected) <= expected * pct / 100.0


@generic_kind(
    "sampling.rate",
    {
        "properties": {
            "row": REGEX,  # a per-process row with (?P<pid>) and (?P<n>), optional (?P<comm>)
            "freq": NUMBER_OR_TEMPLATE,  # the sampling frequency the run asked for, in Hz
            "cpu_seconds": NUMBER_OR_TEMPLATE,  # CPU time the workload burned
            "pid": NUMBER_OR_TEMPLATE,  # default: the workload's pid
            "pct": {"type": "number", "exclusiveMinimum": 0, "default": DEFAULT_PCT},
            "min_expected": {"type": "number", "minimum": 1, "default": DEFAULT_MIN_EXPECTED},
        },
        "required": ["row", "freq", "cpu_seconds"],
    },
)
def rate(params: dict[str, Any], ctx: Context) -> Verdict:
    """The workload's samples are within pct% of freq x the CPU seconds it burned."""
    rx = compile_regex(params["row"], "row", groups=("pid", "n"))
    freq = require_number(params["freq"], "freq")
    cpu_seconds = require_number(params["cpu_seconds"], "cpu_seconds")
    pct = float(params.get("pct", DEFAULT_PCT))
    if freq <= 0 or cpu_seconds <= 0:
        raise CheckError(
            f"The sampling check needs a positive frequency and CPU time, got freq={freq} "
            f"and cpu_seconds={cpu_seconds}."
        )
    pid = params.get("pid")
    if pid is None:
        workload = ctx.run.workload if ctx.run else None
        if workload is None:
            raise CheckError("This run recorded no workload, so its samples cannot be judged.")
        pid = workload.pid
    pid = require_number(pid, "pid")

    lines = lines_of(ctx.run, "out")
    rows = [m for m in (rx.search(line) for line in lines) if m]
    mine = [m for m in rows if parse_number(m.group("pid")) == pid]
    expected = expected_samples(freq, cpu_seconds)
    floor = float(params.get("min_expected", DEFAULT_MIN_EXPECTED))
    if expected < floor:
        raise CheckError(
            f"The workload got only {cpu_seconds:.2f} s of CPU, {expected:.0f} samples at "
            f"{freq:g} Hz, too few to judge the rate; run the check again on a less busy machine."
        )
    low, high = expected * (1 - pct / 100), expected * (1 + pct / 100)
    want = f"{low:.0f}..{high:.0f} samples for pid {pid} ({freq:g} Hz x {cpu_seconds:.2f} s CPU)"
    if not mine:
        seen = cite([m.group(0) for m in rows]) if rows else cite(lines[-3:])
        return Verdict(
            "fail",
            f"No per-process row names the workload's pid {pid}; print one row per process "
            "with its pid (tgid) and sample count.",
            expected=want,
            observed=seen,
        )
    observed = sum(parse_number(m.group("n")) or 0 for m in mine)
    if within(observed, expected, pct):
        return Verdict(
            "pass",
            f"The workload (pid {pid}) collected {observed} samples, close to the "
            f"{expected:.0f} that {freq:g} Hz over {cpu_seconds:.2f} s of CPU gives.",
            expected=want,
            observed=observed,
        )
    ratio = observed / expected
    return Verdict(
        "fail",
        f"The workload (pid {pid}) collected {observed} samples, {ratio:.2f} times the "
        f"{expected:.0f} expected from {freq:g} Hz x {cpu_seconds:.2f} s of CPU; pass the "
        "frequency given with -f to attach_perf_event as sample_freq, on every online CPU.",
        expected=want,
        observed=observed,
    )
