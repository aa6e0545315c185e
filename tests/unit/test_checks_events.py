"""events.match / events.all: lines must carry the workload's real values."""

from recordings import PID, judge, load_recording, make_ctx, make_run, truth

from checks.context import Context

PATTERN = r"^\[(?P<pid>\d+)\] (?P<comm>\S+): dfd=(?P<dfd>-?\d+), timestamp=(?P<ts>\d+)$"
DFD_SAME = {"dfd": [[-100, 4294967196, 18446744073709551516]]}


def recorded() -> Context:
    rec = load_recording("reading_data.json")
    return Context(recording=rec, run=rec.runs["main"])


def test_match_finds_workload_lines_by_ground_truth():
    params = {
        "pattern": PATTERN,
        "where": {
            "pid": "{workload.pid}",
            "comm": "{workload.comm}",
            "dfd": "{workload.facts.dirfd}",
        },
        "min": 1,
        "max": 1,
    }
    v = judge("events.match", params, recorded())
    assert v.status == "pass", v.message
    assert v.expected["where"] == {"pid": 4242, "comm": "ebpfc-open", "dfd": 7}


def test_match_counts_unsigned_renderings_through_same_and_says_so():
    params = {"pattern": PATTERN, "where": {"pid": "{workload.pid}", "dfd": -100}, "min": 2}
    params["same"] = DFD_SAME
    v = judge("events.match", params, recorded())
    assert v.status == "pass", v.message
    assert "4294967196 as -100" in v.message
    assert v.observed["same_renderings"] == {"dfd": ["4294967196"]}


def test_match_without_same_fails_on_the_unsigned_rendering():
    params = {"pattern": PATTERN, "where": {"pid": "{workload.pid}", "dfd": -100}}
    v = judge("events.match", params, recorded())
    assert v.status == "fail"
    closest = "3 matching lines with pid=4242 but other dfd values such as 4294967196, 7"
    assert closest + ", and 5 other lines" in v.message


def test_fake_lines_for_invented_pids_fail():
    fake = [f"[{pid}] ebpfc-open: dfd=-100, timestamp=2100000000" for pid in range(100, 112)]
    ctx = make_ctx(make_run(fake, workload=truth()))
    params = {"pattern": PATTERN, "where": {"pid": "{workload.pid}"}, "min": 3}
    v = judge("events.match", params, ctx)
    assert v.status == "fail"
    assert v.message.startswith(f"Expected at least 3 lines with pid={PID}, saw 0")
    assert "printed 12 matching lines for other pid values such as 100, 101, 102 ..." in v.message


def test_no_matching_line_at_all_cites_what_was_printed():
    ctx = make_ctx(make_run(["hello"], workload=truth()))
    v = judge("events.match", {"pattern": PATTERN, "where": {"pid": PID}}, ctx)
    assert v.status == "fail" and "no line matched" in v.message and "'hello'" in v.message


def test_match_above_max_fails():
    params = {"pattern": PATTERN, "where": {"comm": "ebpfc-open"}, "max": 2}
    assert judge("events.match", params, recorded()).status == "fail"


def test_where_group_missing_from_pattern_is_an_error():
    params = {"pattern": PATTERN, "where": {"tid": 1}}
    v = judge("events.match", params, recorded())
    assert v.status == "error" and "'tid'" in v.message


def test_where_is_required_and_patterns_need_groups():
    assert judge("events.match", {"pattern": PATTERN}, recorded()).status == "error"
    assert judge("events.match", {"pattern": "x", "where": {"a": 1}}, recorded()).status == "error"


def test_missing_workload_template_is_an_error():
    ctx = make_ctx(make_run(["[1] a: dfd=1, timestamp=1"]))
    v = judge("events.match", {"pattern": PATTERN, "where": {"pid": "{workload.pid}"}}, ctx)
    assert v.status == "error"


def test_all_passes_when_a_filter_really_filtered():
    lines = [f"[{PID}] ebpfc-open: dfd=3, timestamp=1" for _ in range(4)] + ["Total 4"]
    ctx = make_ctx(make_run(lines, workload=truth()))
    params = {"pattern": PATTERN, "where": {"pid": "{workload.pid}"}, "min": 4}
    assert judge("events.all", params, ctx).status == "pass"


def test_all_fails_when_other_pids_leak_through():
    v = judge("events.all", {"pattern": PATTERN, "where": {"pid": "{workload.pid}"}}, recorded())
    assert v.status == "fail"
    assert (
        "5 of 8 did not (5 matching lines for other pid values such as 900, 901, 902 ...)"
        in v.message
    )
    assert v.observed["other"] == 5


def test_all_fails_when_nothing_matched():
    ctx = make_ctx(make_run(["Attached"], workload=truth()))
    v = judge("events.all", {"pattern": PATTERN, "where": {"pid": PID}}, ctx)
    assert v.status == "fail" and "saw 0" in v.message


def test_match_says_when_the_output_cap_dropped_lines():
    run = make_run(["[1] a: dfd=1, timestamp=1"], stdout_lines=9, workload=truth())
    v = judge("events.match", {"pattern": PATTERN, "where": {"pid": PID}}, make_ctx(run))
    assert v.status == "fail" and "output cap dropped 8 lines" in v.message
