"""lines.differ: a context switch names two different tasks. Recorded shapes
from lesson 06's sched run; a probe that reads args->next_pid into both
fields prints "X -> X" and must fail."""

from recordings import judge, make_ctx, make_run, truth

SWITCH = r"^context switch: (?P<prev>\d+) -> (?P<next>\d+)$"
PARAMS = {"pattern": SWITCH, "groups": ["prev", "next"], "min": 3}


def switches(*pairs: tuple[int, int]) -> list[str]:
    return [f"context switch: {a} -> {b}" for a, b in pairs]


def test_passes_on_real_switches():
    out = ["Attached to tracepoint sched:sched_switch"]
    out += switches((4243, 0), (0, 4243), (4243, 17), (17, 0))
    v = judge("lines.differ", PARAMS, make_ctx(make_run(out, workload=truth())))
    assert v.status == "pass", v.message
    assert v.observed == {"rows": 4, "equal": 0}


def test_fails_when_one_field_is_read_twice():
    # ev.prev_pid = args->next_pid: every line shows the next task twice
    out = ["Attached to tracepoint sched:sched_switch"]
    out += switches((0, 0), (4243, 4243), (17, 17), (0, 0))
    v = judge("lines.differ", PARAMS, make_ctx(make_run(out, workload=truth())))
    assert v.status == "fail"
    assert "4 lines of 4 have prev equal to next" in v.message
    assert "context switch: 4243 -> 4243" in v.message


def test_fails_when_too_few_lines_matched():
    v = judge("lines.differ", PARAMS, make_ctx(make_run(switches((1, 2)), workload=truth())))
    assert v.status == "fail"
    assert "at least 3 lines" in v.message


def test_a_pattern_without_the_groups_is_an_error():
    params = {**PARAMS, "pattern": r"^context switch: (?P<prev>\d+)"}
    v = judge("lines.differ", params, make_ctx(make_run(switches((1, 2)), workload=truth())))
    assert v.status == "error"
