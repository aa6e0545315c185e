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


def test_tally_counts_events_and_losses():
    tally = probe.Tally()
    for _ in range(3):
        tally.on_event()
    tally.on_lost(10)
    tally.on_lost(5)
    assert (tally.received, tally.lost) == (3, 15)


def test_summary_without_losses_has_one_line():
    tally = probe.Tally()
    tally.on_event()
    assert probe.summary_lines(tally, 2.04) == ["Received 1 events in 2.0 seconds"]


def test_summary_reports_losses():
    tally = probe.Tally()
    tally.on_lost(7)
    assert probe.summary_lines(tally, 1.0) == [
        "Received 0 events in 1.0 seconds",
        "Lost 7 events",
    ]


def test_event_line_format():
    assert probe.format_event(9, b"cat\0\0\0", -100) == "[9] cat: dfd=-100"


@pytest.mark.parametrize("pages", ["3", "0", "-8"])
def test_pages_must_be_a_power_of_two(pages):
    with pytest.raises(SystemExit):
        probe.parse_args(["-c", pages])


def test_defaults():
    args = probe.parse_args([])
    assert (args.duration, args.pid, args.pages, args.quiet) == (5, 0, 64, False)
