"""Tests of probe.py's helpers (lesson 05's and the --latency challenge's): no
root, no BPF program is loaded."""

import importlib.util
import sys
from pathlib import Path

import pytest

PROBE = Path(__file__).parent.parent / "probe.py"


def load_probe():
    spec = importlib.util.spec_from_file_location("uprobe_probe", PROBE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


probe = load_probe()


def test_call_line_without_arg():
    assert probe.format_call(4321, "bash") == "uprobe triggered! pid=4321 comm=bash"


def test_call_line_with_arg():
    line = probe.format_call(4321, "ebpfc-getenv", "HOME")
    assert line == 'uprobe triggered! pid=4321 comm=ebpfc-getenv arg="HOME"'


def test_an_empty_arg_is_still_shown():
    assert probe.format_call(1, "init", "").endswith(' arg=""')


def test_missing_path_resolves_to_none():
    assert probe.resolve_binary("/nonexistent/ebpfc-no-such-binary") is None


def test_existing_path_is_kept():
    assert probe.resolve_binary(sys.executable) == sys.executable


def test_library_name_resolves_to_a_libc_file():
    path = probe.resolve_binary("c")
    assert path is not None and "libc" in Path(path).name
    assert Path(path).is_file()


def test_unknown_bare_name_resolves_to_none():
    assert probe.resolve_binary("ebpfc-no-such-program-or-library") is None


def test_arguments_and_defaults():
    args = probe.parse_args(["c", "getenv"])
    assert (args.binary, args.function, args.duration, args.arg) == ("c", "getenv", 5, False)
    assert args.latency is False
    args = probe.parse_args(["/bin/bash", "readline", "-d", "0", "--arg"])
    assert (args.duration, args.arg) == (0, True)


def test_negative_duration_is_a_usage_error():
    with pytest.raises(SystemExit):
        probe.parse_args(["c", "getenv", "-d", "-1"])


def test_latency_option():
    args = probe.parse_args(["c", "usleep", "--latency", "-d", "0"])
    assert (args.function, args.latency, args.arg) == ("usleep", True, False)


def test_arg_and_latency_are_not_given_together():
    with pytest.raises(SystemExit):
        probe.parse_args(["c", "usleep", "--latency", "--arg"])


def test_banner_names_both_probes_with_latency():
    path = "/lib/x86_64-linux-gnu/libc.so.6"
    assert probe.banner("usleep", path, True) == (
        f"Attached uprobe and uretprobe to usleep in {path}. Ctrl+C to stop."
    )
    assert probe.banner("getenv", path, False) == (
        f"Attached uprobe to getenv in {path}. Ctrl+C to stop."
    )


def test_latency_is_shown_in_whole_microseconds():
    line = probe.format_call(4321, "ebpfc-sleep", latency_ns=180_123_999)
    assert line == "uprobe triggered! pid=4321 comm=ebpfc-sleep latency_us=180123"


def test_a_call_shorter_than_a_microsecond_shows_zero():
    assert probe.format_call(1, "init", latency_ns=999).endswith(" latency_us=0")
