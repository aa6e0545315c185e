"""Tests of probe.py's pure helpers: no root, no BPF program is loaded."""

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

PROBE = Path(__file__).parent.parent / "probe.py"


def load_probe():
    spec = importlib.util.spec_from_file_location("tracepoint_probe", PROBE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


probe = load_probe()


def test_positional_tracepoint_and_default_duration():
    args = probe.parse_args(["syscalls", "sys_enter_openat"])
    assert (args.category, args.name, args.duration) == ("syscalls", "sys_enter_openat", 5)


def test_duration_option():
    assert probe.parse_args(["sched", "sched_switch", "-d", "0"]).duration == 0


def test_negative_duration_is_refused():
    with pytest.raises(SystemExit):
        probe.parse_args(["sched", "sched_switch", "-d", "-1"])


def test_openat_gets_the_openat_program():
    program = probe.program_for("syscalls", "sys_enter_openat")
    assert program.tracepoint == "syscalls:sys_enter_openat"
    event = SimpleNamespace(
        pid=4242, comm=b"cat", syscall_nr=257, dfd=-100, filename=b"/etc/hostname"
    )
    assert program.line(event) == "[4242] cat: syscall_nr=257, dfd=-100, filename=/etc/hostname"


def test_sched_switch_gets_its_own_program():
    program = probe.program_for("sched", "sched_switch")
    assert program is not None, "program_for('sched', 'sched_switch') returned None"
    assert program.tracepoint == "sched:sched_switch"
    assert program.text != probe.program_for("syscalls", "sys_enter_openat").text
    assert program.line(SimpleNamespace(prev_pid=17, next_pid=0)) == "context switch: 17 -> 0"


def test_unknown_tracepoint_has_no_program():
    assert probe.program_for("syscalls", "sys_enter_nothing") is None
    assert probe.program_for("sched", "sys_enter_openat") is None


def test_open_line():
    line = probe.format_open(4242, "cat", 257, -100, "/etc/hostname")
    assert line == "[4242] cat: syscall_nr=257, dfd=-100, filename=/etc/hostname"


def test_switch_line():
    assert probe.format_switch(17, 0) == "context switch: 17 -> 0"
