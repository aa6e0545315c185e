"""Tests of probe.py's pure helpers (lesson 07's and the -p challenge's): no root,
no BPF program is loaded."""

import importlib.util
from pathlib import Path

import pytest

PROBE = Path(__file__).parent.parent / "probe.py"


def load_probe():
    spec = importlib.util.spec_from_file_location("sampling_probe", PROBE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


probe = load_probe()


def test_defaults():
    args = probe.parse_args([])
    assert (args.frequency, args.duration, args.top) == (99, 5, 10)


def test_frequency_option():
    assert probe.parse_args(["-f", "49"]).frequency == 49


def test_zero_frequency_is_refused():
    with pytest.raises(SystemExit):
        probe.parse_args(["-f", "0"])


def test_top_processes_sorted_by_samples_then_pid():
    counts = {(30, "b"): 5, (10, "a"): 9, (20, "c"): 5, (40, "d"): 1}
    assert probe.top_processes(counts, 3) == [(10, "a", 9), (20, "c", 5), (30, "b", 5)]


def test_report_total_is_the_sum_of_cpu_lines():
    lines = probe.format_report({0: 120, 1: 80}, [(4242, "ebpfc-burn", 150)])
    assert lines[0] == "Collected 200 samples"
    assert lines[1:3] == ["CPU 0: 120 samples", "CPU 1: 80 samples"]


def test_report_row_has_pid_comm_and_samples():
    lines = probe.format_report({0: 150}, [(4242, "ebpfc-burn", 150), (7, "bash", 3)])
    rows = [line.split() for line in lines if line.strip().startswith(("4242", "7 "))]
    assert rows[0][:3] == ["4242", "ebpfc-burn", "150"]
    assert rows[1][:3] == ["7", "bash", "3"]


def test_empty_report_says_so():
    assert probe.format_report({0: 0, 1: 0}, [])[-1] == "(No samples collected)"


def test_bar_is_proportional():
    assert probe.bar(10, 10, width=20) == "#" * 20
    assert probe.bar(5, 10, width=20) == "#" * 10
    assert probe.bar(1, 1000, width=20) == "#"


def test_pid_option_defaults_to_every_process():
    assert probe.parse_args([]).pid == 0
    assert probe.parse_args(["-p", "4321", "-d", "0"]).pid == 4321


def test_negative_pid_is_refused():
    with pytest.raises(SystemExit):
        probe.parse_args(["-p", "-5"])


def test_banner_names_the_process_with_pid():
    assert probe.banner(49, 2, 4321) == (
        "Sampling process 4321 at 49 Hz on 2 CPUs... Hit Ctrl-C to end."
    )


def test_banner_without_pid_is_lesson_07s():
    assert probe.banner(99, 4) == "Sampling at 99 Hz on 4 CPUs... Hit Ctrl-C to end."
