"""timing.duration / timing.window on recorded runs."""

from recordings import judge, make_ctx, make_run

TS = r"timestamp=(?P<ns>\d+)"


def test_duration_inside_the_range_passes():
    v = judge("timing.duration", {"min": 5, "max": 8}, make_ctx(make_run(duration=5.3)))
    assert v.status == "pass" and v.observed == 5.3


def test_duration_too_short_or_too_long_fails():
    v = judge("timing.duration", {"min": 5, "max": 8}, make_ctx(make_run(duration=1.0)))
    assert v.status == "fail" and "stopped early" in v.message
    v = judge("timing.duration", {"min": 5, "max": 8}, make_ctx(make_run(duration=30.0)))
    assert v.status == "fail" and "ran too long" in v.message


def test_duration_bounds_may_be_templates():
    ctx = make_ctx(make_run(duration=4.0))
    ctx.recording.host["budget"] = 3
    assert judge("timing.duration", {"max": "{host.budget}"}, ctx).status == "fail"


def test_duration_needs_a_bound_and_numbers():
    ctx = make_ctx(make_run())
    assert judge("timing.duration", {}, ctx).status == "error"
    assert judge("timing.duration", {"max": "soon"}, ctx).status == "error"


def test_timestamps_inside_the_window_pass():
    out = ["timestamp=2000000000", "timestamp=6999999999"]
    assert judge("timing.window", {"pattern": TS}, make_ctx(make_run(out))).status == "pass"


def test_wall_clock_timestamps_fail_with_a_hint():
    out = ["timestamp=2000000000", "timestamp=1764150000000000000"]
    v = judge("timing.window", {"pattern": TS}, make_ctx(make_run(out)))
    assert v.status == "fail" and "1 of 2" in v.message and "bpf_ktime_get_ns" in v.message


def test_no_timestamps_fails():
    v = judge("timing.window", {"pattern": TS}, make_ctx(make_run(["hello"])))
    assert v.status == "fail"


def test_window_errors_without_a_clock_or_an_ns_group():
    out = ["timestamp=1"]
    ctx = make_ctx(make_run(out, started_ns=0, ended_ns=0))
    assert judge("timing.window", {"pattern": TS}, ctx).status == "error"
    v = judge("timing.window", {"pattern": r"timestamp=\d+"}, make_ctx(make_run(out)))
    assert v.status == "error" and "(?P<ns>...)" in v.message
