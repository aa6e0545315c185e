"""Tests of probe.py's pure helpers: no root, no BPF program is loaded."""

import importlib.util
from pathlib import Path

import pytest

PROBE = Path(__file__).parent.parent / "probe.py"


def load_probe():
    spec = importlib.util.spec_from_file_location("tracepoint_probe", PROBE)
    module = importlib.util.module_from_spec(spec)
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


def test_openat_program_reads_the_tracepoint_fields():
    text = probe.program_for("syscalls", "sys_enter_openat")
    assert "TRACEPOINT_PROBE(syscalls, sys_enter_openat)" in text
    assert "args->__syscall_nr" in text
    assert "(int)args->dfd" in text
    assert "bpf_probe_read_user_str" in text


def test_sched_switch_has_its_own_program():
    text = probe.program_for("sched", "sched_switch")
    assert "TRACEPOINT_PROBE(sched, sched_switch)" in text
    assert "sys_enter_openat" not in text


def test_unknown_tracepoint_has_no_program():
    assert probe.program_for("syscalls", "sys_enter_nothing") is None


def test_open_line():
    line = probe.format_open(4242, "cat", 257, -100, "/etc/hostname")
    assert line == "[4242] cat: syscall_nr=257, dfd=-100, filename=/etc/hostname"


def test_switch_line():
    assert probe.format_switch(17, 0) == "context switch: 17 -> 0"
