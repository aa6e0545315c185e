"""lines.none / lines.only: which values a probe's lines may carry."""

from recordings import PID, judge, make_ctx, make_run, truth

OPEN = r"^\[(?P<pid>\d+)\] (?P<comm>\S+): syscall_nr=\d+, dfd=-?\d+, filename=(?P<filename>.*)$"
PROBE_PID = 5151
ROW = r"^\s+(?P<syscall>\w+)\s+(?P<n>\d+)\s+[\d.]+%$"
PROC_ROW = r"^\s+(?P<comm>\S+)\((?P<pid>\d+)\)\s+(?P<n>\d+)\s+[\d.]+%$"


def opens(*pids: int) -> list[str]:
    return [f"[{pid}] python: syscall_nr=257, dfd=-100, filename=/tmp/x" for pid in pids]


def self_traced_run():
    """Recorded from a tracer without the self-pid filter: after attaching,
    bcc opened /sys/devices/system/cpu/online, and the tracer printed it."""
    out = ["Attached to tracepoint syscalls:sys_enter_openat"]
    out += opens(PID, PID)
    out.append(
        f"[{PROBE_PID}] python: syscall_nr=257, dfd=-100, filename=/sys/devices/system/cpu/online"
    )
    out.append("Detached from syscalls:sys_enter_openat after 3 events.")
    return make_run(out, workload=truth(), probe_pids=[PROBE_PID])


def test_none_fails_on_a_line_of_the_probe_itself():
    params = {"pattern": OPEN, "group": "pid", "values": "{run.probe_pids}"}
    v = judge("lines.none", params, make_ctx(self_traced_run()))
    assert v.status == "fail"
    assert f"1 line in the output carries pid {PROBE_PID}" in v.message
    assert "cpu/online" in v.message
    assert v.expected["values"] == [PROBE_PID]


def test_none_passes_when_the_probe_filtered_itself():
    run = make_run(opens(PID, PID, 77), workload=truth(), probe_pids=[PROBE_PID])
    params = {"pattern": OPEN, "group": "pid", "values": "{run.probe_pids}", "min": 3}
    v = judge("lines.none", params, make_ctx(run))
    assert v.status == "pass", v.message


def test_none_with_a_min_fails_when_nothing_matched():
    run = make_run(["Attached"], workload=truth(), probe_pids=[PROBE_PID])
    params = {"pattern": OPEN, "group": "pid", "values": "{run.probe_pids}", "min": 1}
    v = judge("lines.none", params, make_ctx(run))
    assert v.status == "fail"
    assert "saw 0" in v.message


def test_none_reads_a_list_of_templates():
    run = make_run(opens(PID, 9000), workload=truth(noise={"pid": 9000}))
    params = {"pattern": OPEN, "group": "pid", "values": ["{workload.facts.noise.pid}"]}
    v = judge("lines.none", params, make_ctx(run))
    assert v.status == "fail"
    assert "pid 9000" in v.message


def test_none_without_probe_pids_recorded_is_an_error_not_a_pass():
    run = make_run(opens(PID), workload=truth())
    params = {"pattern": OPEN, "group": "pid", "values": "{run.probe_pids}"}
    v = judge("lines.none", params, make_ctx(run))
    assert v.status == "error"


SUMMARY = [
    "Total events captured: 40",
    "Top syscalls:",
    "  read                           40   80.0%",
    "  write                          10   20.0%",
    "Top processes:",
    f"  ebpfc-syscalls({PID})           50  100.0%",
    "  bash(17)                        3    6.0%",
]


def test_only_fails_on_a_row_the_filter_should_have_dropped():
    ctx = make_ctx(make_run(SUMMARY, workload=truth()))
    params = {"section": "^Top syscalls:$", "pattern": ROW, "group": "syscall", "allowed": ["read"]}
    v = judge("lines.only", params, ctx)
    assert v.status == "fail"
    assert "1 row under '^Top syscalls:$' has syscall write, but only read may appear" in v.message


def test_only_reads_just_its_section():
    ctx = make_ctx(make_run(SUMMARY[:3] + SUMMARY[4:], workload=truth()))
    params = {"section": "^Top syscalls:$", "pattern": ROW, "group": "syscall", "allowed": ["read"]}
    assert judge("lines.only", params, ctx).status == "pass"


def test_only_processes_section_with_another_process_fails():
    ctx = make_ctx(make_run(SUMMARY, workload=truth()))
    params = {
        "section": "^Top processes:$",
        "pattern": PROC_ROW,
        "group": "pid",
        "allowed": ["{workload.pid}"],
    }
    v = judge("lines.only", params, ctx)
    assert v.status == "fail"
    assert "pid 17" in v.message


def test_only_without_the_section_fails():
    ctx = make_ctx(make_run(["Total events captured: 0"], workload=truth()))
    params = {"section": "^Top syscalls:$", "pattern": ROW, "group": "syscall", "allowed": ["read"]}
    v = judge("lines.only", params, ctx)
    assert v.status == "fail"
    assert "No heading matching" in v.message


def test_only_with_an_empty_table_fails_its_min():
    ctx = make_ctx(make_run(["Top syscalls:", "  (none)"], workload=truth()))
    params = {"section": "^Top syscalls:$", "pattern": ROW, "group": "syscall", "allowed": ["read"]}
    v = judge("lines.only", params, ctx)
    assert v.status == "fail"
    assert "at least 1 line" in v.message


def test_bad_params_are_an_error():
    ctx = make_ctx(make_run(SUMMARY, workload=truth()))
    v = judge("lines.only", {"pattern": ROW, "group": "nope", "allowed": ["read"]}, ctx)
    assert v.status == "error"
    v = judge("lines.none", {"pattern": ROW, "group": "syscall", "values": []}, ctx)
    assert v.status == "error"
