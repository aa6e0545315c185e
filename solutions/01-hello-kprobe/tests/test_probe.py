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


def test_function_defaults_to_do_sys_openat2():
    assert probe.parse_args([]).function == "do_sys_openat2"


def test_function_and_duration_are_parsed():
    args = probe.parse_args(["vfs_read", "-d", "3"])
    assert (args.function, args.duration) == ("vfs_read", 3)


def test_duration_defaults_to_five_seconds():
    assert probe.parse_args([]).duration == 5


def test_long_duration_option():
    assert probe.parse_args(["--duration", "0"]).duration == 0


def test_negative_duration_is_a_usage_error():
    with pytest.raises(SystemExit):
        probe.parse_args(["-d", "-1"])


def test_help_explains_the_duration(capsys):
    with pytest.raises(SystemExit):
        probe.parse_args(["--help"])
    assert "Ctrl+C" in capsys.readouterr().out


def test_our_message_gives_pid_and_comm():
    assert probe.parse_message(b"hello 1234 cat") == (1234, "cat")


def test_a_comm_with_spaces_is_kept_whole():
    assert probe.parse_message(b"hello 7 Web Content") == (7, "Web Content")


@pytest.mark.parametrize(
    "msg", [b"", b"hello", b"hello 12", b"hello abc cat", b"something else 12 cat"]
)
def test_other_messages_are_ignored(msg):
    assert probe.parse_message(msg) is None


def test_call_line_format():
    assert probe.format_call(42, "cat", "do_sys_openat2") == "[42] cat called do_sys_openat2"
