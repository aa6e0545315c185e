"""Tests for the pure helpers of probe.py (lesson 02's and the file-name
challenge's): no root, no BPF needed."""

import ctypes
import importlib.util
from pathlib import Path

import pytest

pytestmark = pytest.mark.skip(reason="delete this line to run the tests")


def load_probe():
    path = Path(__file__).parent.parent / "probe.py"
    spec = importlib.util.spec_from_file_location("probe", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


probe = load_probe()


class OpenEvent(ctypes.Structure):
    """What b["events"].event(data) hands the callback: a ctypes struct with
    the C struct's field names and types."""

    _fields_ = [
        ("pid", ctypes.c_uint32),
        ("tid", ctypes.c_uint32),
        ("dfd", ctypes.c_int),
        ("timestamp_ns", ctypes.c_uint64),
        ("comm", ctypes.c_char * 16),
        ("filename", ctypes.c_char * 256),
    ]


def test_event_line_format():
    comm = b"cat\0\0\0\0\0\0\0\0\0\0\0\0\0"
    line = probe.format_event(1234, 1236, comm, -100, b"/etc/hostname\0\0", 5_000_000_123)
    assert line == "[1234/1236] cat: dfd=-100, filename=/etc/hostname, timestamp=5000000123"


def test_comm_stops_at_the_first_nul():
    assert probe.comm_text(b"ab\0junk") == "ab"


def test_a_full_sixteen_byte_comm_is_kept():
    assert probe.comm_text(b"ebpfc-marker-thr") == "ebpfc-marker-thr"


def test_dfd_is_printed_signed():
    assert "dfd=-100," in probe.format_event(1, 1, b"x", -100, b"f", 1)


def test_an_event_struct_becomes_one_line():
    ev = OpenEvent(
        pid=4242, tid=4243, dfd=3, timestamp_ns=987_654_321, comm=b"ebpfc-marker", filename=b"m-1"
    )
    assert probe.event_line(ev) == (
        "[4242/4243] ebpfc-marker: dfd=3, filename=m-1, timestamp=987654321"
    )


def test_pid_and_tid_keep_their_places():
    # A thread other than the main one: the process id (tgid) comes first.
    ev = OpenEvent(pid=100, tid=101, dfd=-100, timestamp_ns=1, comm=b"worker")
    assert probe.event_line(ev).startswith("[100/101] worker: ")


def test_a_negative_dfd_survives_the_struct():
    ev = OpenEvent(pid=1, tid=1, dfd=-100, timestamp_ns=2, comm=b"x", filename=b"/tmp/a")
    assert probe.event_line(ev) == "[1/1] x: dfd=-100, filename=/tmp/a, timestamp=2"


def test_duration_default_and_zero():
    assert probe.parse_args([]).duration == 5
    assert probe.parse_args(["-d", "0"]).duration == 0


def test_negative_duration_is_a_usage_error():
    with pytest.raises(SystemExit):
        probe.parse_args(["-d", "-1"])


def test_the_file_name_stops_at_its_nul():
    # bpf_probe_read_user_str writes the name and its NUL; the rest of the
    # array is whatever the struct held (zeros here)
    ev = OpenEvent(pid=5, tid=6, dfd=-100, timestamp_ns=3, comm=b"cat", filename=b"/etc/passwd\0xx")
    assert ", filename=/etc/passwd, " in probe.event_line(ev)


def test_a_long_path_is_printed_whole():
    path = "/tmp/" + "d" * 60 + "/ebpfc-marker-0123456789ab"
    ev = OpenEvent(pid=5, tid=6, dfd=-100, timestamp_ns=3, comm=b"cat", filename=path.encode())
    assert f", filename={path}, " in probe.event_line(ev)


def test_an_empty_file_name_is_shown_empty():
    line = probe.format_event(1, 1, b"x", 3, b"", 1)
    assert line == "[1/1] x: dfd=3, filename=, timestamp=1"
