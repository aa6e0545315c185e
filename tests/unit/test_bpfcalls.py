"""runner/live/bpfcalls.py without a kernel: the trace text as ftrace prints
it (this kernel's format and the older one), pairing enters with exits per
thread, the lost-event count, and which leftover instances a run removes."""

from __future__ import annotations

import os
import time
from pathlib import Path

from runner.live import bpfcalls

# Recorded on this machine (6.18): a probe's thread 719 of process 718, an
# error return, and a comm with a dash and a space.
TRACE_618 = """\
# tracer: nop
#
# entries-in-buffer/entries-written: 8/8   #P:2
#           TASK-PID       TGID    CPU#  |||||  TIMESTAMP  FUNCTION
#              | |           |       |   |||||     |         |
  python-718     (    718) [001] .....   399.651929: sys_bpf(cmd: 5, uattr: 0x7ffecd70, size: 0x74)
  python-719  (    718) [000] .....   399.652702: sys_bpf(cmd: 0x12, uattr: 0x7ffecda0, size: 0x1c)
  python-718     (    718) [001] .....   399.651933: sys_bpf -> 0x3
  python-719     (    718) [000] .....   399.652704: sys_bpf -> 0xffffffffffffffea
   my-probe 2-720     (    718) [000] .....   399.652800: sys_bpf(cmd: 0, uattr: 0, size: 0)
   my-probe 2-720     (    718) [000] .....   399.652801: sys_bpf -> 0x4
"""

# Older kernels (6.1) print every argument in hex without 0x.
TRACE_61 = """\
  python-900     (    900) [000] .....    10.000001: sys_bpf(cmd: 12, uattr: 7ffd1, size: 74)
  python-900     (    900) [000] .....    10.000002: sys_bpf -> 0x5
  python-900     (    900) [000] .....    10.000003: sys_bpf(cmd: 5, uattr: 7ffd1, size: 74)
"""


def test_calls_are_paired_per_thread_with_signed_returns() -> None:
    calls = bpfcalls.parse_trace(TRACE_618)
    assert calls == [
        {"pid": 718, "tid": 718, "cmd": "BPF_PROG_LOAD", "ret": 3},
        {"pid": 718, "tid": 719, "cmd": "BPF_BTF_LOAD", "ret": -22},
        {"pid": 718, "tid": 720, "cmd": "BPF_MAP_CREATE", "ret": 4},
    ]


def test_the_older_format_is_hex_and_a_call_that_never_returned_has_no_ret() -> None:
    calls = bpfcalls.parse_trace(TRACE_61)
    assert calls == [
        {"pid": 900, "tid": 900, "cmd": "BPF_BTF_LOAD", "ret": 5},  # 12 is hex: 18
        {"pid": 900, "tid": 900, "cmd": "BPF_PROG_LOAD", "ret": None},
    ]


def test_an_exit_without_its_enter_is_ignored() -> None:
    text = "  python-5  (    5) [000] .....  1.0: sys_bpf -> 0x3\n"
    assert bpfcalls.parse_trace(text) == []


def test_unknown_commands_keep_their_number() -> None:
    assert bpfcalls.cmd_name(5) == "BPF_PROG_LOAD"
    assert bpfcalls.cmd_name(32) == "BPF_ENABLE_STATS"
    assert bpfcalls.cmd_name(99) == "BPF_CMD_99"


def test_lost_events_add_up_over_cpus() -> None:
    stats = [
        "entries: 3\noverrun: 0\ncommit overrun: 0\ndropped events: 2\n",
        "entries: 0\noverrun: 5\ncommit overrun: 0\ndropped events: 0\n",
    ]
    assert bpfcalls.parse_lost(stats) == 7


def test_only_expired_instances_of_ours_are_swept(tmp_path: Path) -> None:
    instances = tmp_path / "instances"
    now = time.time()
    expired = f"ebpfc-{int(now) - 5}-123-abcd1234"
    live = f"ebpfc-{int(now) + 600}-123-abcd1234"
    others = ["ebpfc-foo", "bcc-instance", f"ebpfc-{int(now) - 5}-123"]
    for name in [expired, live, *others]:
        (instances / name).mkdir(parents=True)
    assert bpfcalls.sweep(tmp_path, now) == [expired]
    assert sorted(os.listdir(instances)) == sorted([live, *others])


def test_without_tracefs_the_reason_is_one_sentence(monkeypatch) -> None:
    monkeypatch.setattr(bpfcalls, "TRACEFS_ROOTS", ("/nonexistent/tracing",))
    trace = bpfcalls.Trace.open(30)
    assert trace.path is None and trace.arm_argv(["a"]) == ["a"]
    calls, reason, lost = trace.finish()
    assert calls is None and lost == 0
    assert reason and reason.startswith("tracefs is not mounted") and reason.endswith(".")


def test_without_syscall_tracepoints_the_instance_is_removed_and_said(
    tmp_path: Path, monkeypatch
) -> None:
    """A plain folder stands in for tracefs: mkdir works, the events are absent."""
    (tmp_path / "instances").mkdir()
    monkeypatch.setattr(bpfcalls, "TRACEFS_ROOTS", (str(tmp_path),))
    trace = bpfcalls.Trace.open(30)
    assert trace.path is None
    assert trace.reason and "no syscall tracepoints" in trace.reason
    assert os.listdir(tmp_path / "instances") == []


def _instance(tmp_path: Path, trace: str) -> bpfcalls.Trace:
    """A folder shaped like a read-out tracefs instance."""
    folder = tmp_path / "ebpfc-1-2-ab"
    (folder / "per_cpu" / "cpu0").mkdir(parents=True)
    (folder / "tracing_on").write_text("1\n")
    (folder / "trace").write_text(trace)
    (folder / "per_cpu" / "cpu0" / "stats").write_text("overrun: 0\ndropped events: 0\n")
    return bpfcalls.Trace(folder, None, "python3")


MARKED = f"""\
  python-718  (  718) [001] .....   1.000001: sys_bpf(cmd: {bpfcalls.MARK:#x}, uattr: 0, size: 0)
  python-718     (    718) [001] .....   1.000002: sys_bpf -> 0xffffffffffffffea
  python-718     (    718) [001] .....   1.000003: sys_bpf(cmd: 5, uattr: 0x7ffecd70, size: 0x74)
  python-718     (    718) [001] .....   1.000004: sys_bpf -> 0x3
"""


def test_the_arming_mark_is_dropped_from_the_calls(tmp_path: Path) -> None:
    calls, reason, lost = _instance(tmp_path, MARKED).finish()
    assert reason is None and lost == 0
    assert calls == [{"pid": 718, "tid": 718, "cmd": "BPF_PROG_LOAD", "ret": 3}]


def test_a_trace_without_the_mark_is_no_record_not_an_empty_one(tmp_path: Path) -> None:
    """The filter missed the probe (its pid as another pid namespace sees it):
    an empty list would read as "it made no bpf() call"."""
    calls, reason, _lost = _instance(tmp_path, "").finish()
    assert calls is None and reason and "pid namespace" in reason


def test_tracing_never_armed_is_said(tmp_path: Path) -> None:
    trace = _instance(tmp_path, MARKED)
    assert trace.path is not None
    (trace.path / "tracing_on").write_text("0\n")
    calls, reason, _lost = trace.finish()
    assert calls is None and reason and "could not be traced" in reason
