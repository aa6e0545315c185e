"""Per-CPU sampling (lesson 07): every CPU the workload kept busy shows the
samples it must have. A profiler attached to one CPU only still prints a
line for each CPU (with 0 samples) and a plausible total; the workload's
per-CPU burn (`per_cpu: true`) tells that apart from a wrong frequency.

`threads` is the workload's list of burner threads, each with the `cpu` it
was pinned to and the `cpu_seconds` it got (`{workload.facts.threads}`).

`cpus.program_rate` reads the kernel evidence instead (docs/evidence.md):
how often the probe's perf_event program ran per perf event per second
between the ready and the stop snapshots. That rate is the frequency the
kernel was really given, whoever was running, so a busy machine does not
blur it the way it blurs one process's share of the samples.
"""

from __future__ import annotations

from typing import Any

from checks.api import (
    NUMBER_OR_TEMPLATE,
    REGEX,
    TEMPLATE,
    CheckError,
    cite,
    compile_regex,
    generic_kind,
    group_number,
    lines_of,
    require_number,
)
from checks.context import Context
from runner.model import Verdict

DEFAULT_MIN_FRACTION = 0.5
# Timer interrupts on a busy (virtual) machine come late, never early: a
# wrong frequency (a constant, or one divided among CPUs) is off by 2x or more.
DEFAULT_RATE_PCT = 25.0


def burned_per_cpu(threads: Any) -> dict[int, float]:
    """CPU -> seconds the workload's pinned threads burned on it."""
    if not isinstance(threads, list):
        raise CheckError(f"The threads param must be a list of burner threads, got {threads!r}.")
    burned: dict[int, float] = {}
    for thread in threads:
        if not isinstance(thread, dict) or thread.get("cpu") is None:
            continue
        cpu = int(thread["cpu"])
        burned[cpu] = burned.get(cpu, 0.0) + float(thread.get("cpu_seconds") or 0.0)
    if not burned:
        raise CheckError(
            "The workload pinned no thread to a CPU, so per-CPU samples cannot be judged; "
            "give the cpu-burn workload per_cpu: true."
        )
    return burned


def _cpus(cpus: list[int]) -> str:
    if not cpus:
        return "no CPU"
    return ("CPU " if len(cpus) == 1 else "CPUs ") + ", ".join(str(c) for c in cpus)


@generic_kind(
    "cpus.sampled",
    {
        "required": ["row", "threads", "freq"],
        "properties": {
            "row": REGEX,  # a per-CPU line with (?P<cpu>) and (?P<n>)
            "threads": TEMPLATE,  # the workload's pinned burner threads
            "freq": NUMBER_OR_TEMPLATE,
            "min_fraction": {
                "type": "number",
                "exclusiveMinimum": 0,
                "maximum": 1,
                "default": DEFAULT_MIN_FRACTION,
            },
        },
    },
)
def cpus_sampled(params: dict[str, Any], ctx: Context) -> Verdict:
    """Each CPU the workload burned for S seconds shows at least min_fraction
    x freq x S samples in its "CPU i: n samples" line."""
    rx = compile_regex(params["row"], "row", groups=("cpu", "n"))
    freq = require_number(params["freq"], "freq")
    if freq <= 0:
        raise CheckError(f"The freq param must be positive, got {freq}.")
    fraction = float(params.get("min_fraction", DEFAULT_MIN_FRACTION))
    burned = burned_per_cpu(params["threads"])
    lines = lines_of(ctx.run, "out")
    shown: dict[int, int] = {}
    for m in (rx.search(line) for line in lines):
        if m:
            shown.setdefault(int(group_number(m, "cpu")), int(group_number(m)))
    sampled = sorted(cpu for cpu, n in shown.items() if n > 0)
    expected = {cpu: round(freq * secs * fraction) for cpu, secs in sorted(burned.items())}
    observed = {cpu: shown.get(cpu) for cpu in sorted(burned)}
    for cpu, secs in sorted(burned.items()):
        want = freq * secs
        got = shown.get(cpu)
        if got is not None and got >= fraction * want:
            continue
        what = (
            f"No 'CPU {cpu}: n samples' line was printed"
            if got is None
            else f"CPU {cpu} shows {got} samples"
        )
        return Verdict(
            "fail",
            f"{what}, although the workload burned CPU {cpu} for {secs:.2f} s (about "
            f"{want:.0f} samples at {freq:g} Hz): the probe sampled only {_cpus(sampled)}. "
            "Attach the perf event on every online CPU (cpu=-1, bcc's default, opens one "
            f"per CPU); printed: {cite([m.string for m in map(rx.search, lines) if m])}.",
            expected,
            observed,
        )
    listed = ", ".join(f"CPU {cpu} {shown[cpu]}" for cpu in sorted(burned))
    return Verdict(
        "pass",
        f"Every CPU the workload burned was sampled ({listed} samples).",
        expected,
        observed,
    )


def _perf_runs(snapshot: dict[str, Any]) -> int:
    return sum(
        int(p.get("run_cnt") or 0)
        for p in snapshot.get("programs", [])
        if p.get("type") == "perf_event"
    )


@generic_kind(
    "cpus.program_rate",
    {
        "required": ["freq"],
        "properties": {
            "freq": NUMBER_OR_TEMPLATE,  # the frequency the run asked for, per CPU
            "pct": {"type": "number", "exclusiveMinimum": 0, "default": DEFAULT_RATE_PCT},
            # how far below freq the rate may fall (default: pct); timer interrupts come
            # late, never early, and a VM's mostly idle CPUs lose more of them
            "below_pct": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 100},
            "min_seconds": {"type": "number", "exclusiveMinimum": 0, "default": 1.0},
        },
    },
)
def program_rate(params: dict[str, Any], ctx: Context) -> Verdict:
    """The kernel ran the probe's perf_event program about `freq` times a
    second on each perf event (at most `pct`% more and `below_pct`% less; the
    run counts between the ready and the stop snapshots of the kernel
    evidence): the frequency really reached the kernel."""
    freq = require_number(params["freq"], "freq")
    pct = float(params.get("pct", DEFAULT_RATE_PCT))
    below = float(params.get("below_pct", pct))
    run = ctx.run
    if run is None:
        raise CheckError("This check needs a run, and none was recorded.")
    snaps = {s.get("at"): s for s in run.evidence}
    ready, stop = snaps.get("ready"), snaps.get("stop")
    if not ready or not stop or ready.get("error") or stop.get("error"):
        raise CheckError(
            "The kernel's view of the probe was not recorded at both the ready line and the "
            "stop, so the sampling rate cannot be judged."
        )
    if not (ready.get("stats") and stop.get("stats")):
        raise CheckError("The kernel kept no run counts (BPF stats were off) for this run.")
    window = float(stop.get("t") or 0) - float(ready.get("t") or 0)
    if window < float(params.get("min_seconds", 1.0)):
        raise CheckError(
            f"Only {window:.2f} s passed between the ready line and the stop, too short to "
            "judge the sampling rate."
        )
    events = int(stop.get("perf_events") or ready.get("perf_events") or 0)
    expected = {"freq": freq, "pct": pct, "below_pct": below}
    if events == 0 or not any(p.get("type") == "perf_event" for p in stop.get("programs", [])):
        return Verdict(
            "fail",
            "The probe held no perf_event program on any perf event, so nothing sampled.",
            expected,
            {"perf_events": events},
        )
    runs = _perf_runs(stop) - _perf_runs(ready)
    rate = runs / window / events
    observed = {
        "rate_hz": round(rate, 1),
        "runs": runs,
        "seconds": round(window, 3),
        "perf_events": events,
    }
    if freq * (1 - below / 100) <= rate <= freq * (1 + pct / 100):
        return Verdict(
            "pass",
            f"The kernel ran the perf_event program {rate:.1f} times a second on each of "
            f"{events} perf events, as {freq:g} Hz asks.",
            expected,
            observed,
        )
    return Verdict(
        "fail",
        f"The kernel ran the perf_event program {rate:.1f} times a second on each of {events} "
        f"perf events ({runs} runs in {window:.2f} s), not about {freq:g}: sample_freq is "
        "per CPU - pass the -f value to attach_perf_event as it is.",
        expected,
        observed,
    )
