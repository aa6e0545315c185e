"""syscalls.summary_matches_lines on lesson 08's `-s write` run (no -p): the
summary row must count the write lines printed; a tracer that counts its own
writes (the self filter below the count) shows three times as many."""

from recordings import judge, make_ctx, make_run, truth

ROW = r"^\s+(?P<syscall>\w+)\s+(?P<n>\d+)\s+[\d.]+%$"
LINE = r"^\[\d\d:\d\d:\d\d\.\d{3}\] (?P<comm>.*)\((?P<pid>\d+)\) (?P<syscall>\w+)$"
PARAMS = {"section": "^Top syscalls:$", "pattern": ROW, "line": LINE, "pct": 10}


def recorded(events: int, write_row: int):
    out = ["Tracing syscalls of syscall write. Ctrl+C to end."]
    out += [f"[12:00:0{i % 10}.123] ebpfc-syscalls(4242) write" for i in range(events)]
    out += [
        f"Total events captured: {events}",
        "Top syscalls:",
        f"  write                    {write_row:>8}  100.0%",
        "Top processes:",
        f"  ebpfc-syscalls(4242)     {events:>8}  100.0%",
    ]
    return make_ctx(make_run(out, workload=truth()))


def test_passes_when_the_row_counts_the_lines():
    v = judge("syscalls.summary_matches_lines", PARAMS, recorded(40, 41))
    assert v.status == "pass", v.message


def test_fails_when_the_probe_counted_its_own_writes():
    # every printed line is two writes of the probe (text, newline), counted unfiltered
    v = judge("syscalls.summary_matches_lines", PARAMS, recorded(40, 120))
    assert v.status == "fail"
    assert "counts 120 write calls, but the probe printed 40 write lines" in v.message


def test_fails_without_a_summary():
    ctx = make_ctx(make_run(["Tracing syscalls of syscall write."], workload=truth()))
    v = judge("syscalls.summary_matches_lines", PARAMS, ctx)
    assert v.status == "fail"
    assert "No summary heading" in v.message


def lost_run(events: int, write_row: int, lost: int):
    ctx = recorded(events, write_row)
    ctx.run.lines.append(
        type(ctx.run.lines[0])(9.0, "out", f"Lost {lost} events (ring buffer full)")
    )
    return ctx


LOST = {**PARAMS, "lost": r"^Lost (?P<n>\d+) events"}


def test_reported_losses_may_be_counted_without_a_line():
    # a full ring buffer on a busy machine: counted in the kernel, never printed
    assert judge("syscalls.summary_matches_lines", LOST, lost_run(40, 90, 50)).status == "pass"


def test_losses_do_not_excuse_more_than_they_account_for():
    v = judge("syscalls.summary_matches_lines", LOST, lost_run(40, 120, 20))
    assert v.status == "fail" and "reported 20 lost" in v.message
    # nor a row that counts fewer than the lines printed
    assert judge("syscalls.summary_matches_lines", LOST, lost_run(40, 20, 50)).status == "fail"
    # and without `lost` in the params, the same losses excuse nothing
    assert judge("syscalls.summary_matches_lines", PARAMS, lost_run(40, 90, 50)).status == "fail"
