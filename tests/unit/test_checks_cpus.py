"""cpus.sampled: every CPU the workload burned shows its samples."""

from recordings import judge, make_ctx, make_run, truth

ROW = r"^CPU (?P<cpu>\d+): (?P<n>\d+) samples$"
THREADS = [
    {"tid": 4243, "cpu": 0, "cpu_seconds": 1.98, "wall_seconds": 2.0},
    {"tid": 4244, "cpu": 1, "cpu_seconds": 1.95, "wall_seconds": 2.0},
]
PARAMS = {"row": ROW, "threads": "{workload.facts.threads}", "freq": 99}


def report(cpu0: int, cpu1: int | None) -> list[str]:
    lines = ["Sampling at 99 Hz on 2 CPUs... Hit Ctrl-C to end.", f"CPU 0: {cpu0} samples"]
    if cpu1 is not None:
        lines.append(f"CPU 1: {cpu1} samples")
    return [f"Collected {cpu0 + (cpu1 or 0)} samples", *lines[1:]]


def ctx_for(lines: list[str], threads=THREADS):
    return make_ctx(make_run(lines, workload=truth(threads=threads, per_cpu=True)))


def test_a_profiler_attached_to_cpu0_only_fails_and_says_so():
    # recorded from a probe that passed cpu=0 to attach_perf_event
    v = judge("cpus.sampled", PARAMS, ctx_for(report(201, 0)))
    assert v.status == "fail"
    assert v.message.startswith("CPU 1 shows 0 samples, although the workload burned CPU 1")
    assert "sampled only CPU 0" in v.message
    assert v.observed == {0: 201, 1: 0}


def test_every_cpu_sampled_passes():
    v = judge("cpus.sampled", PARAMS, ctx_for(report(197, 190)))
    assert v.status == "pass", v.message


def test_a_missing_cpu_line_fails():
    v = judge("cpus.sampled", PARAMS, ctx_for(report(197, None)))
    assert v.status == "fail"
    assert "No 'CPU 1: n samples' line" in v.message


def test_half_the_samples_on_a_cpu_is_too_few():
    v = judge("cpus.sampled", PARAMS, ctx_for(report(197, 60)))
    assert v.status == "fail"
    assert "sampled only CPU 0, 1" not in v.message  # both sampled: it says CPUs 0, 1
    assert "sampled only CPUs 0, 1" in v.message


def test_a_workload_without_pinned_threads_cannot_be_judged():
    threads = [{"tid": 4243, "cpu": None, "cpu_seconds": 1.9}]
    v = judge("cpus.sampled", PARAMS, ctx_for(report(197, 190), threads))
    assert v.status == "error"
    assert "per_cpu: true" in v.message


def evidence(ready_runs: int, stop_runs: int, t0: float = 4.778, t1: float = 7.441, events=2):
    def snap(at: str, t: float, runs: int) -> dict:
        program = {
            "id": 41,
            "type": "perf_event",
            "name": "on_sample",
            "run_cnt": runs,
            "run_time_ns": 1000 * runs,
            "attach": [{"kind": "perf_event", "target": None, "events": events}],
        }
        return {
            "at": at,
            "t": t,
            "pids": [5151],
            "stats": True,
            "programs": [program],
            "maps": [],
            "perf_events": events,
            "error": None,
        }

    return [snap("ready", t0, ready_runs), snap("stop", t1, stop_runs)]


def rate_ctx(ev):
    return make_ctx(make_run(report(100, 100), workload=truth(), evidence=ev))


def test_program_rate_of_a_frequency_split_among_cpus_fails():
    # recorded from a probe that passed 99 // 2 as sample_freq on 2 CPUs:
    # 246 runs in 2.66 s on 2 perf events
    v = judge("cpus.program_rate", {"freq": 99}, rate_ctx(evidence(2, 248)))
    assert v.status == "fail"
    assert "46.2 times a second on each of 2 perf events" in v.message
    assert "not about 99" in v.message


def test_program_rate_at_the_asked_frequency_passes():
    v = judge("cpus.program_rate", {"freq": 99}, rate_ctx(evidence(2, 2 + round(2 * 99 * 2.663))))
    assert v.status == "pass", v.message
    assert abs(v.observed["rate_hz"] - 99) < 0.2


def test_program_rate_without_a_program_fails():
    ev = evidence(0, 0, events=0)
    for snap in ev:
        snap["programs"] = []
    v = judge("cpus.program_rate", {"freq": 99}, rate_ctx(ev))
    assert v.status == "fail"
    assert "no perf_event program" in v.message


def test_program_rate_without_evidence_or_stats_cannot_be_judged():
    assert judge("cpus.program_rate", {"freq": 99}, rate_ctx([])).status == "error"
    ev = evidence(2, 500)
    ev[1]["stats"] = False
    assert judge("cpus.program_rate", {"freq": 99}, rate_ctx(ev)).status == "error"
    short = evidence(2, 50, t0=4.0, t1=4.5)
    assert judge("cpus.program_rate", {"freq": 99}, rate_ctx(short)).status == "error"


def test_program_rate_of_a_mostly_idle_vm_passes_with_below_pct():
    # recorded on the 2-core course VM from the reference probe at 99 Hz:
    # 350 runs in 2.53 s on 2 perf events (69 Hz: idle CPUs lose interrupts),
    # replayed here over the 2.66 s window of the other recordings (66 Hz)
    ev = evidence(2, 2 + 350)
    strict = judge("cpus.program_rate", {"freq": 99}, rate_ctx(ev))
    assert strict.status == "fail"
    v = judge("cpus.program_rate", {"freq": 99, "below_pct": 45}, rate_ctx(ev))
    assert v.status == "pass", v.message
    assert v.expected["below_pct"] == 45


def test_below_pct_still_fails_a_frequency_split_among_cpus():
    v = judge("cpus.program_rate", {"freq": 99, "below_pct": 45}, rate_ctx(evidence(2, 248)))
    assert v.status == "fail"


def test_below_pct_leaves_the_upper_bound_at_pct():
    # -f 49 ignored: the kernel ran the program at about 99 Hz (a fixed 99)
    ev = evidence(2, 2 + round(2 * 90 * 2.663))
    v = judge("cpus.program_rate", {"freq": 49, "below_pct": 45}, rate_ctx(ev))
    assert v.status == "fail"
    assert "not about 49" in v.message
