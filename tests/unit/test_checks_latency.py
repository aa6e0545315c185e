"""latency.calls: each timed call printed once, its length within what it
asked for and what its caller measured (the usleep-nested workload's facts)."""

from recordings import PID, judge, make_ctx, make_run, truth

PATTERN = r"^uprobe triggered! pid=(?P<pid>\d+) comm=(?P<comm>\S+) latency_us=(?P<latency>\d+)$"
# One pair of a real run: the outer call on the first thread, the inner call
# on the second thread nested inside it.
CALLS = [
    {"role": "outer", "min_ns": 215_000_000, "max_ns": 215_128_542, "tid": PID + 1},
    {"role": "inner", "min_ns": 30_000_000, "max_ns": 30_116_662, "tid": PID + 2},
    {"role": "outer", "min_ns": 154_000_000, "max_ns": 154_107_457, "tid": PID + 1},
    {"role": "inner", "min_ns": 46_000_000, "max_ns": 46_102_196, "tid": PID + 2},
]
PARAMS = {"pattern": PATTERN, "where": {"pid": "{workload.pid}"}, "calls": "{workload.facts.calls}"}


def line(latency: int, pid: int = PID) -> str:
    return f"uprobe triggered! pid={pid} comm=ebpfc-sleep latency_us={latency}"


def judged(out: list[str], params: dict | None = None):
    ctx = make_ctx(make_run(out, workload=truth(comm="ebpfc-sleep", calls=CALLS)))
    return judge("latency.calls", params or PARAMS, ctx)


def test_each_call_within_its_window_passes_in_any_order():
    out = [line(30_090), line(215_101), line(46_050), line(154_003), line(700, pid=99)]
    v = judged(out)
    assert v.status == "pass", v.message
    assert v.observed["lines"] == 4


def test_keyed_by_process_the_outer_call_is_lost():
    # The inner call's entry overwrote the outer's start time and its return
    # deleted it: the outer calls print nothing.
    v = judged([line(30_090), line(46_050)])
    assert v.status == "fail"
    assert "2 matched no line" in v.message
    assert "the outer call that asked for 215000 us (its caller saw 215129 us)" in v.message
    assert "(the probe printed 2 such lines, each the length of another call)" in v.message


def test_keyed_by_process_without_delete_the_outer_call_is_short():
    # The outer call's length measured from the inner call's start.
    out = [line(30_090), line(215_101 - 20_300), line(46_050), line(154_003 - 20_250)]
    v = judged(out)
    assert v.status == "fail"
    assert "unmatched: 'uprobe triggered! pid=4242 comm=ebpfc-sleep latency_us=194801'" in v.message


def test_nanoseconds_printed_as_microseconds_fail_and_are_named():
    out = [line(c["min_ns"] + 50_000) for c in CALLS]
    v = judged(out)
    assert v.status == "fail"
    assert "about 1000 times too large for us" in v.message


def test_the_asked_length_is_the_floor_and_the_callers_view_the_ceiling():
    below = [line(29_990), line(215_101), line(46_050), line(154_003)]
    assert judged(below).status == "fail"
    above = [line(30_200), line(215_101), line(46_050), line(154_003)]
    assert judged(above).status == "fail"
    # one unit of rounding either way is allowed
    edges = [line(29_999), line(215_129), line(46_050), line(154_003)]
    assert judged(edges).status == "pass"


def test_a_call_printed_twice_fails():
    out = [line(30_090), line(30_091), line(215_101), line(46_050), line(154_003)]
    v = judged(out)
    assert v.status == "fail"
    assert "printed 5 with pid=4242" in v.message


def test_other_processes_lines_are_not_counted_for_the_workload():
    out = [line(30_090, pid=7), line(215_101, pid=7), line(46_050, pid=7), line(154_003, pid=7)]
    v = judged(out)
    assert v.status == "fail"
    assert "4 matched no line" in v.message and "printed 0 such lines" in v.message


def test_other_units_read_the_value_in_that_unit():
    pattern = r"^pid=(?P<pid>\d+) took (?P<latency>\d+) ns$"
    out = [f"pid={PID} took {c['min_ns'] + 1000}" + " ns" for c in CALLS]
    params = {**PARAMS, "pattern": pattern, "unit": "ns"}
    assert judged(out, params).status == "pass"


def test_bad_params_are_errors_not_verdicts():
    assert judged([], {**PARAMS, "calls": "{workload.facts.nothing}"}).status == "error"
    no_group = {**PARAMS, "pattern": r"^pid=(?P<pid>\d+)$"}
    v = judged([], no_group)
    assert v.status == "error" and "(?P<latency>...)" in v.message
    empty = make_ctx(make_run([], workload=truth(calls=[])))
    assert judge("latency.calls", PARAMS, empty).status == "error"
