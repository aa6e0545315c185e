"""Tests for the pure helpers of probe.py (lesson 03's and the per-command
challenge's): no root, no BPF needed."""

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


def test_rows_are_sorted_by_count_largest_first():
    assert probe.top_rows({10: 1, 20: 5, 30: 3}) == [(20, 5), (30, 3), (10, 1)]


def test_ties_are_ordered_by_pid():
    assert probe.top_rows({30: 2, 10: 2, 20: 2}) == [(10, 2), (20, 2), (30, 2)]


def test_at_most_twenty_rows_by_default():
    counts = {pid: pid for pid in range(1, 51)}
    rows = probe.top_rows(counts)
    assert len(rows) == 20
    assert rows[0] == (50, 50) and rows[-1] == (31, 31)


@pytest.mark.parametrize("limit", [1, 3])
def test_limit_is_honoured(limit):
    assert len(probe.top_rows({1: 1, 2: 2, 3: 3, 4: 4}, limit)) == limit


def test_empty_map_says_so():
    assert probe.format_table([], {}) == ["(No data collected)"]


def test_table_has_a_header_and_one_row_per_process():
    lines = probe.format_table([(42, 7)], {42: "cat"})
    assert lines[0].split() == ["PID", "COMM", "OPENS"]
    assert lines[1].split() == ["42", "cat", "7"]


def test_rows_keep_the_order_they_are_given():
    lines = probe.format_table([(7, 9), (3, 2)], {3: "sh", 7: "make"})
    assert [line.split() for line in lines[1:]] == [["7", "make", "9"], ["3", "sh", "2"]]


def test_a_process_without_a_name_is_still_listed():
    assert probe.format_table([(5, 1)], {})[1].split() == ["5", "?", "1"]


def test_the_table_of_a_busy_machine():
    counts = {pid: pid % 7 + 1 for pid in range(100, 140)}
    lines = probe.format_table(probe.top_rows(counts), {})
    shown = [int(line.split()[2]) for line in lines[1:]]
    assert len(shown) == 20
    assert shown == sorted(shown, reverse=True)
    assert shown[0] == 7


def test_command_rows_sort_like_process_rows():
    assert probe.top_rows({"sh": 2, "cat": 5, "awk": 2}) == [("cat", 5), ("awk", 2), ("sh", 2)]


def test_command_table_has_its_own_header():
    lines = probe.format_comm_table([("ebpfc-ocomm", 9), ("ebpfc-oside", 4)])
    assert lines[0].split() == ["COMM", "OPENS"]
    assert [line.split() for line in lines[1:]] == [["ebpfc-ocomm", "9"], ["ebpfc-oside", "4"]]


def test_an_empty_command_table_says_so():
    assert probe.format_comm_table([]) == ["(No data collected)"]


def test_a_full_sixteen_byte_comm_keeps_its_column():
    lines = probe.format_comm_table([("ebpfc-marker-thr", 12)])
    assert lines[1].split() == ["ebpfc-marker-thr", "12"]
