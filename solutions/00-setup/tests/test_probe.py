"""Tests of probe.py's pure helpers: no root, no BPF program is loaded."""

import importlib.util
from pathlib import Path

import pytest

PROBE = Path(__file__).parent.parent / "probe.py"

STATUS = """Name:\tpython3
Uid:\t1000\t1000\t1000\t1000
CapInh:\t0000000000000000
CapPrm:\t0000008000000000
CapEff:\t0000008000000000
"""


def load_probe():
    spec = importlib.util.spec_from_file_location("setup_probe", PROBE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


probe = load_probe()


def test_capeff_is_read_as_hex():
    assert probe.effective_caps(STATUS) == 1 << 39


def test_missing_capeff_means_no_capabilities():
    assert probe.effective_caps("Name:\tx\n") == 0


def test_uid_0_is_root():
    assert probe.privileges(0, 0) == "root"


def test_cap_bpf_without_root():
    assert probe.privileges(1000, 1 << 39) == "CAP_BPF"


def test_no_privileges():
    assert probe.privileges(1000, 0) == "none"


def test_report_when_everything_works():
    lines = probe.report_lines("6.1.0-56-amd64", "x86_64", True, "root", None, None)
    assert lines == [
        "Kernel: 6.1.0-56-amd64 (x86_64)",
        "BTF: yes (/sys/kernel/btf/vmlinux)",
        "Privileges: root",
        "BPF program: loaded",
        "kprobes: available",
        "Ready: yes",
    ]


def test_report_names_why_kprobes_are_missing():
    lines = probe.report_lines("6.18.0", "x86_64", True, "root", None, "not traceable")
    assert "kprobes: unavailable (not traceable)" in lines
    assert lines[-1] == "Ready: yes"


@pytest.mark.parametrize("btf", [True, False])
def test_not_ready_without_a_loaded_program(btf):
    lines = probe.report_lines("6.1.0", "aarch64", btf, "none", "Operation not permitted", "x")
    assert "BPF program: failed (Operation not permitted)" in lines
    assert lines[-1].startswith("Ready: no")
    assert lines[1].startswith("BTF: yes" if btf else "BTF: no")


def test_cap_sys_admin_also_loads_programs():
    assert probe.privileges(1000, 1 << 21) == "CAP_BPF"


def test_other_capabilities_are_not_enough():
    assert probe.privileges(1000, (1 << 39) - 1 & ~(1 << 21)) == "none"


def test_an_error_is_reported_by_its_first_line():
    assert probe.first_line(Exception("Failed to load\nverifier log ...")) == "Failed to load"
    assert probe.first_line(PermissionError()) == "PermissionError"
