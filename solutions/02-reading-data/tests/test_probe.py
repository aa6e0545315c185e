"""Tests for the pure helpers of probe.py: no root, no BPF needed."""

import importlib.util
from pathlib import Path

import pytest


def load_probe():
    path = Path(__file__).parent.parent / "probe.py"
    spec = importlib.util.spec_from_file_location("probe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


probe = load_probe()


def test_event_line_format():
    line = probe.format_event(1234, b"cat\0\0\0\0\0\0\0\0\0\0\0\0\0", -100, 5_000_000_123)
    assert line == "[1234] cat: dfd=-100, timestamp=5000000123"


def test_comm_stops_at_the_first_nul():
    assert probe.format_event(1, b"ab\0junk", 3, 7) == "[1] ab: dfd=3, timestamp=7"


def test_a_full_sixteen_byte_comm_is_kept():
    assert probe.format_event(1, b"ebpfc-marker", 3, 7).startswith("[1] ebpfc-marker: ")


def test_dfd_is_printed_signed():
    assert "dfd=-100," in probe.format_event(1, b"x", -100, 1)


def test_duration_default_and_zero():
    assert probe.parse_args([]).duration == 5
    assert probe.parse_args(["-d", "0"]).duration == 0


def test_struct_fields_are_named_for_what_they_hold():
    # The C struct must carry these fields under these names (no `syscall_nr`
    # holding a dfd): the line formatter and the lesson text rely on them.
    for field in ("u32 pid;", "u32 tid;", "int dfd;", "u64 timestamp_ns;", "char comm[16];"):
        assert field in probe.BPF_TEXT


@pytest.mark.parametrize("clock", ["bpf_ktime_get_ns()"])
def test_timestamp_is_taken_in_the_kernel(clock):
    assert clock in probe.BPF_TEXT
