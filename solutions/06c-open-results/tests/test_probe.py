"""Tests of probe.py's pure helpers: no root, no BPF program is loaded."""

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

PROBE = Path(__file__).parent.parent / "probe.py"


def load_probe():
    spec = importlib.util.spec_from_file_location("open_results_probe", PROBE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


probe = load_probe()


def test_default_duration():
    assert probe.parse_args([]).duration == 5


def test_duration_option():
    assert probe.parse_args(["-d", "0"]).duration == 0


def test_negative_duration_is_refused():
    with pytest.raises(SystemExit):
        probe.parse_args(["-d", "-1"])


def test_the_results_come_from_the_exit_tracepoint():
    assert probe.TRACEPOINT == "syscalls:sys_exit_openat"


def test_result_line_of_an_open_that_worked():
    assert probe.format_result(4242, "cat", "/etc/hostname", 3) == (
        "[4242] cat: openat(/etc/hostname) = 3"
    )


def test_result_line_of_an_open_that_failed():
    assert (
        probe.format_result(1, "init", "/nonexistent", -2) == "[1] init: openat(/nonexistent) = -2"
    )


def test_event_to_line():
    event = SimpleNamespace(pid=4242, comm=b"cat", filename=b"/etc/hostname", ret=3)
    assert probe.result_line(event) == "[4242] cat: openat(/etc/hostname) = 3"
