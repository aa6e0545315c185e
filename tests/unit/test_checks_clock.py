"""clock.wall_window: printed wall-clock times belong to the run."""

import time

from recordings import judge, make_ctx, make_run, truth

from runner.model import Line

PATTERN = r"^\[(?P<clock>\d\d:\d\d:\d\d\.\d{3})\] (?P<comm>.*)\((?P<pid>\d+)\) (?P<syscall>\w+)$"
START = 1_764_629_000.25  # a wall clock (UTC); the run lasts 4 s


def event(wall: float, name: str = "read") -> str:
    stamp = time.strftime("%H:%M:%S", time.gmtime(wall)) + f".{int(wall * 1000) % 1000:03d}"
    return f"[{stamp}] ebpfc-syscalls(4242) {name}"


def run_with(offset: float, utc_offset: int = 0):
    """Events stamped at 1.5..1.9 s into the run (plus `offset`), each line
    arriving 0.05 s after its event."""
    lines = [Line(0.2, "out", "Tracing syscalls of pid 4242. Ctrl+C to end.")]
    for i in range(5):
        at = 1.5 + 0.1 * i
        lines.append(Line(at + 0.05, "out", event(START + at + offset + utc_offset)))
    lines.append(Line(3.0, "out", "Total events captured: 5"))
    run = make_run([], workload=truth(), duration=4.0, wall_started=START, utc_offset=utc_offset)
    run.lines = lines
    return make_ctx(run)


def test_times_of_the_run_pass():
    v = judge("clock.wall_window", {"pattern": PATTERN}, run_with(0.0))
    assert v.status == "pass", v.message
    assert v.observed == {"lines": 5, "outside": 0}


def test_local_time_is_read_with_the_recorded_utc_offset():
    v = judge("clock.wall_window", {"pattern": PATTERN}, run_with(0.0, utc_offset=3600))
    assert v.status == "pass", v.message


def test_times_five_seconds_late_fail():
    # recorded from a tracer whose clock offset was 5 s off
    v = judge("clock.wall_window", {"pattern": PATTERN}, run_with(5.0))
    assert v.status == "fail"
    assert "5 of 5 lines show a time outside the run's wall-clock window" in v.message
    assert "the first is 4.95 s later than the moment its line arrived" in v.message


def test_times_five_seconds_early_fail():
    v = judge("clock.wall_window", {"pattern": PATTERN}, run_with(-5.0))
    assert v.status == "fail"
    assert "earlier" in v.message


def test_a_lag_inside_the_window_but_too_long_fails():
    # stamped 1.5 s into the run, arriving 3.9 s in: inside the window, but
    # no buffer holds an event that long in this lesson
    ctx = run_with(0.0)
    ctx.run.lines[1].t = 3.9
    v = judge("clock.wall_window", {"pattern": PATTERN, "max_lag": 2.0}, ctx)
    assert v.status == "fail"
    assert "earlier than the moment its line arrived" in v.message


def test_a_recording_without_a_wall_clock_is_an_error():
    ctx = run_with(0.0)
    ctx.run.wall_started = 0.0
    v = judge("clock.wall_window", {"pattern": PATTERN}, ctx)
    assert v.status == "error"
    assert "record the run again" in v.message


def test_no_event_line_fails():
    ctx = run_with(0.0)
    ctx.run.lines = ctx.run.lines[:1]
    assert judge("clock.wall_window", {"pattern": PATTERN}, ctx).status == "fail"
