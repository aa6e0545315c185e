"""counts.total / counts.value / order.sorted on recorded runs."""

from recordings import PID, judge, make_ctx, make_run, truth

EVENT = r"^\[\d+\] \S+ openat$"
RECEIVED = r"^Received (?P<n>\d+) events"
LOST = r"^Lost (?P<n>\d+) events"


def stream(events: int, received: int, lost: int | None = None, **fields):
    out = ["Attached."] + [f"[{i}] cat openat" for i in range(events)]
    out.append(f"Received {received} events in 5.0 seconds")
    if lost is not None:
        out.append(f"Lost {lost} events")
    return make_ctx(make_run(out, workload=truth(opens=30_000), **fields))


def test_total_equals_the_event_lines():
    v = judge("counts.total", {"total": RECEIVED, "count": EVENT}, stream(12, 12))
    assert v.status == "pass", v.message


def test_total_that_disagrees_with_the_printed_lines_fails():
    v = judge("counts.total", {"total": RECEIVED, "count": EVENT}, stream(12, 15))
    assert v.status == "fail"
    assert "the summary's 15 to be equal to the 12 lines matching" in v.message
    assert v.expected["value"] == 12 and v.observed["total"] == 15


def test_missing_summary_fails():
    ctx = make_ctx(make_run(["[1] cat openat"]))
    v = judge("counts.total", {"total": RECEIVED, "count": EVENT}, ctx)
    assert v.status == "fail" and "saw none" in v.message


def test_received_plus_lost_covers_the_workload():
    params = {"total": RECEIVED, "plus": LOST, "value": "{workload.facts.opens}", "op": "ge"}
    assert judge("counts.total", params, stream(3, 29_000, lost=1_000)).status == "pass"
    v = judge("counts.total", params, stream(3, 29_000, lost=10))
    assert v.status == "fail"
    assert "29000 plus 10 (29010) to be at least 30000" in v.message


def test_missing_plus_line_counts_as_zero():
    params = {"total": RECEIVED, "plus": LOST, "value": 12}
    assert judge("counts.total", params, stream(12, 12)).status == "pass"


def test_sum_of_per_cpu_lines():
    out = ["Collected 30 samples", "CPU 0: 10 samples", "CPU 1: 20 samples"]
    params = {"total": r"^Collected (?P<n>\d+) samples", "sum": r"^CPU \d+: (?P<n>\d+) samples"}
    assert judge("counts.total", params, make_ctx(make_run(out))).status == "pass"
    out[0] = "Collected 31 samples"
    assert judge("counts.total", params, make_ctx(make_run(out))).status == "fail"


def test_lines_dropped_inside_the_event_run_are_counted():
    # 20 events were printed, the cap kept 12 of them: 8 dropped from the middle.
    ctx = stream(12, 20, stdout_lines=22, dropped=8)
    v = judge("counts.total", {"total": RECEIVED, "count": EVENT}, ctx)
    assert v.status == "pass", v.message
    assert "8 lines the output cap dropped" in v.message
    assert (
        judge(
            "counts.total", {"total": RECEIVED, "count": EVENT}, stream(12, 21, stdout_lines=22)
        ).status
        == "fail"
    )


def test_dropped_lines_that_cannot_be_attributed_are_an_error():
    out = ["[1] cat openat", "noise", "[2] cat openat", "Received 3 events"]
    ctx = make_ctx(make_run(out, stdout_lines=5, dropped=1))
    v = judge("counts.total", {"total": RECEIVED, "count": EVENT}, ctx)
    assert v.status == "error" and "output cap" in v.message
    sums = {"total": RECEIVED, "sum": r"\[(?P<n>\d+)\]"}
    assert judge("counts.total", sums, ctx).status == "error"


def test_total_params_need_exactly_one_right_side_and_an_n_group():
    ctx = stream(1, 1)
    assert judge("counts.total", {"total": RECEIVED}, ctx).status == "error"
    both = {"total": RECEIVED, "count": EVENT, "value": 1}
    assert judge("counts.total", both, ctx).status == "error"
    v = judge("counts.total", {"total": r"Received \d+", "count": EVENT}, ctx)
    assert v.status == "error" and "(?P<n>...)" in v.message


TABLE = [
    "PID    COMM             COUNT",
    "4242   ebpfc-open           3",
    "17     systemd              9",
]
ROW = r"^(?P<pid>\d+)\s+(?P<comm>\S+)\s+(?P<n>\d+)$"


def table_ctx(rows=TABLE):
    return make_ctx(make_run(rows, workload=truth(opens=3)))


def test_value_of_the_workload_row_equals_the_ground_truth():
    params = {"pattern": ROW, "where": {"pid": "{workload.pid}"}, "value": "{workload.facts.opens}"}
    v = judge("counts.value", params, table_ctx())
    assert v.status == "pass" and v.observed["n"] == 3


def test_value_that_is_only_at_least_one_fails_an_exact_count():
    rows = [TABLE[0], f"{PID}   ebpfc-open           1"]
    params = {"pattern": ROW, "where": {"pid": PID}, "value": 3}
    v = judge("counts.value", params, table_ctx(rows))
    assert v.status == "fail" and "to be 3, saw 1" in v.message


def test_value_missing_row_fails_naming_other_rows():
    rows = [TABLE[0], "17     systemd              9"]
    v = judge("counts.value", {"pattern": ROW, "where": {"pid": PID}, "value": 3}, table_ctx(rows))
    assert v.status == "fail" and "other pid values such as 17" in v.message


def test_value_within_percent():
    rows = ["ebpfc-burn 480 samples"]
    params = {"pattern": r"(?P<n>\d+) samples", "op": "within", "value": 495, "pct": 30}
    assert judge("counts.value", params, table_ctx(rows)).status == "pass"
    rows = ["ebpfc-burn 200 samples"]
    v = judge("counts.value", params, table_ctx(rows))
    assert v.status == "fail" and "within 30% of 495" in v.message


def test_value_within_needs_pct_and_value_must_be_a_number():
    ctx = table_ctx()
    assert (
        judge("counts.value", {"pattern": ROW, "op": "within", "value": 3}, ctx).status == "error"
    )
    assert judge("counts.value", {"pattern": ROW, "value": "lots"}, ctx).status == "error"


def test_sorted_table_passes():
    params = {"pattern": ROW, "order": "desc", "max_rows": 20}
    rows = [TABLE[0], "17 systemd 9", "4242 ebpfc-open 3", "1 init 3"]
    assert judge("order.sorted", params, table_ctx(rows)).status == "pass"


def test_unsorted_table_fails_with_the_offending_rows():
    v = judge("order.sorted", {"pattern": ROW}, table_ctx())
    assert v.status == "fail" and "row 2 (9) comes after row 1 (3)" in v.message
    assert judge("order.sorted", {"pattern": ROW, "order": "asc"}, table_ctx()).status == "pass"


def test_too_many_rows_and_no_rows_fail():
    rows = [f"{i} p {100 - i}" for i in range(25)]
    v = judge("order.sorted", {"pattern": ROW, "max_rows": 20}, table_ctx(rows))
    assert v.status == "fail" and "at most 20 rows, saw 25" in v.message
    v = judge("order.sorted", {"pattern": ROW}, table_ctx(["(No data collected)"]))
    assert v.status == "fail"


def test_sorted_bad_order_is_an_error():
    assert judge("order.sorted", {"pattern": ROW, "order": "down"}, table_ctx()).status == "error"
