"""sampling.rate: the workload's samples must be close to frequency x the
CPU seconds it measured itself; a profiler that ignores -f, samples one CPU
or invents rows fails."""

from __future__ import annotations

from recordings import judge, make_ctx, make_run, truth

from checks.context import Context

PID = 29683
ROW = r"^\s*(?P<pid>\d+)\s+(?P<comm>\S+)\s+(?P<n>\d+)\b"

# The reference solution at 99 Hz while ebpfc-burn got 1.80 s of CPU.
SUMMARY = [
    "Sampling at 99 Hz on 2 CPUs... Hit Ctrl-C to end.",
    "Collected 412 samples",
    "CPU 0: 230 samples",
    "CPU 1: 182 samples",
    "Top processes by samples:",
    "    PID  COMM             SAMPLES",
    f"  {PID}  ebpfc-burn           179  ##############################",
    "  28198  python                62  ##########",
    "     77  kdamond.0              3  #",
]


def ctx_for(lines: list[str], cpu_seconds: float = 1.80) -> Context:
    workload = truth(pid=PID, comm="ebpfc-burn", cpu_seconds=cpu_seconds, seconds=2.0)
    return make_ctx(make_run(lines, workload=workload))


def params(freq: int = 99, **extra: object) -> dict:
    return {"row": ROW, "freq": freq, "cpu_seconds": "{workload.facts.cpu_seconds}", **extra}


def test_recorded_run_passes() -> None:
    v = judge("sampling.rate", params(), ctx_for(SUMMARY))
    assert v.status == "pass", v.message
    assert v.observed == 179
    assert "125..232" in v.expected


def test_frequency_ignored_fails_the_49_hz_run() -> None:
    # -f 49 parsed but 99 Hz attached: twice the samples 49 Hz would give.
    v = judge("sampling.rate", params(freq=49), ctx_for(SUMMARY))
    assert v.status == "fail"
    assert "2.03 times" in v.message
    assert "sample_freq" in v.message


def test_one_cpu_of_the_frequency_split_fails() -> None:
    halved = [line.replace(" 179 ", "  89 ") for line in SUMMARY]
    v = judge("sampling.rate", params(), ctx_for(halved))
    assert v.status == "fail"
    assert v.observed == 89


def test_rows_for_invented_pids_fail() -> None:
    fake = SUMMARY[:6] + ["  11111  ebpfc-burn           178  ###"]
    v = judge("sampling.rate", params(), ctx_for(fake))
    assert v.status == "fail"
    assert f"pid {PID}" in v.message


def test_rows_of_one_process_under_two_comms_are_added() -> None:
    split = SUMMARY[:6] + [f"  {PID}  ebpfc-burn  100", f"  {PID}  python3  79"]
    v = judge("sampling.rate", params(), ctx_for(split))
    assert v.status == "pass", v.message
    assert v.observed == 179


def test_tolerance_is_a_param() -> None:
    # 99 Hz x 1.70 s = 168.3 expected; 179 is 6% above it.
    v = judge("sampling.rate", params(pct=5), ctx_for(SUMMARY, cpu_seconds=1.70))
    assert v.status == "fail"
    v = judge("sampling.rate", params(pct=10), ctx_for(SUMMARY, cpu_seconds=1.70))
    assert v.status == "pass", v.message


def test_no_cpu_time_cannot_be_judged() -> None:
    v = judge("sampling.rate", params(), ctx_for(SUMMARY, cpu_seconds=0))
    assert v.status == "error"


def test_row_regex_needs_pid_and_n() -> None:
    v = judge("sampling.rate", {**params(), "row": r"^\s*(?P<n>\d+)"}, ctx_for(SUMMARY))
    assert v.status == "error"
    assert "(?P<pid>" in v.message


def test_explicit_pid_overrides_the_workload() -> None:
    v = judge("sampling.rate", params(pid=28198, pct=30), ctx_for(SUMMARY, cpu_seconds=0.63))
    assert v.status == "pass", v.message


def test_without_a_workload_it_cannot_judge() -> None:
    ctx = make_ctx(make_run(SUMMARY))
    v = judge("sampling.rate", {"row": ROW, "freq": 99, "cpu_seconds": 1.8}, ctx)
    assert v.status == "error"


def test_too_little_cpu_time_to_judge_is_an_error_not_a_verdict() -> None:
    v = judge("sampling.rate", params(), ctx_for(SUMMARY, cpu_seconds=0.1))
    assert v.status == "error"
    assert "too few to judge" in v.message
