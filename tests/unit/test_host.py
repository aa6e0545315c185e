"""Pure parts of runner.live.host: parsing and formatting, no kernel needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.live import host


@pytest.mark.parametrize(
    ("returncode", "stderr", "expected"),
    [
        (0, "", "nopasswd"),
        (1, "sudo: a password is required\n", "password"),
        (1, "sudo: a terminal is required to read the password\n", "password"),
        (1, "bob is not in the sudoers file.  This incident will be reported.\n", "missing"),
        (1, "Sorry, user bob may not run sudo on box.\n", "missing"),
        (None, "", "missing"),
    ],
)
def test_parse_sudo(returncode: int | None, stderr: str, expected: str) -> None:
    assert host.parse_sudo(returncode, stderr) == expected


def test_parse_lockdown() -> None:
    assert host.parse_lockdown("[none] integrity confidentiality\n") == "none"
    assert host.parse_lockdown("none [integrity] confidentiality\n") == "integrity"
    assert host.parse_lockdown(None) is None


def test_parse_mounts() -> None:
    text = (
        "proc /proc proc rw 0 0\n"
        "tracefs /sys/kernel/tracing tracefs rw,relatime 0 0\n"
        "debugfs /sys/kernel/debug debugfs rw,relatime 0 0\n"
    )
    assert {"tracefs", "debugfs", "proc"} == host.parse_mounts(text)
    assert "tracefs" not in host.parse_mounts("proc /proc proc rw 0 0\n")


def test_parse_uts_release() -> None:
    assert host.parse_uts_release('#define UTS_RELEASE "6.1.0-56-amd64"\n') == "6.1.0-56-amd64"
    assert host.parse_uts_release("nothing here") is None


class TestClassifyHeaders:
    def test_exact_by_uts_release(self) -> None:
        build = Path("/usr/src/linux-headers-6.1.0-56-amd64")
        state = host.classify_headers("6.1.0-56-amd64", build, "6.1.0-56-amd64", None)
        assert state == ("exact", str(build))

    def test_symlink_to_another_version_is_fallback(self) -> None:
        build = Path("/usr/src/linux-headers-6.1.0-56-amd64")
        state = host.classify_headers("6.18.44-fc-v669", build, "6.1.0-56-amd64", None)
        assert state == ("fallback", str(build))

    def test_name_decides_when_tree_has_no_release(self) -> None:
        build = Path("/usr/src/linux-headers-6.8.0-45-generic")
        assert host.classify_headers("6.8.0-45-generic", build, None, None)[0] == "exact"
        assert host.classify_headers("6.8.0-50-generic", build, None, None)[0] == "fallback"

    def test_bcc_kernel_source_is_fallback(self, tmp_path: Path) -> None:
        state = host.classify_headers("6.18.44-fc-v669", None, None, str(tmp_path))
        assert state == ("fallback", str(tmp_path))

    def test_missing(self, tmp_path: Path) -> None:
        gone = str(tmp_path / "nope")
        assert host.classify_headers("6.18.44-fc-v669", None, None, gone) == ("missing", None)
        assert host.classify_headers("6.18.44-fc-v669", None, None, None) == ("missing", None)


def test_parse_kvm() -> None:
    assert host.parse_kvm("flags\t\t: fpu vme vmx sse\n", True) == {"ok": True, "reason": ""}
    no_flag = host.parse_kvm("flags\t\t: fpu vme sse\n", True)
    assert no_flag["ok"] is False and "vmx/svm" in no_flag["reason"]
    no_dev = host.parse_kvm("flags\t\t: fpu svm\n", False)
    assert no_dev["ok"] is False and "/dev/kvm" in no_dev["reason"]


def test_kprobes_missing_reason() -> None:
    reason = host.kprobes_missing_reason("CONFIG_BPF=y\n# CONFIG_KPROBES is not set\n", False)
    assert reason is not None and "CONFIG_KPROBES" in reason
    assert "--vm" not in reason  # reasons carry no VM advice: the front end adds it once
    assert host.kprobes_missing_reason("CONFIG_KPROBES=y\n", True) is None
    assert host.kprobes_missing_reason(None, False) is not None
    assert host.kprobes_missing_reason(None, True) is None


def test_cache_key_changes_with_boot_and_mounts() -> None:
    base = host.cache_key("boot-a", "6.1", {"tracefs": True})
    assert base == host.cache_key("boot-a", "6.1", {"tracefs": True})
    assert base != host.cache_key("boot-b", "6.1", {"tracefs": True})
    assert base != host.cache_key("boot-a", "6.2", {"tracefs": True})
    assert base != host.cache_key("boot-a", "6.1", {"tracefs": False})


def _facts(**overrides: object) -> dict:
    facts = {
        "kernel_release": "6.18.44-fc-v669",
        "arch": "x86_64",
        "root": True,
        "sudo": "root",
        "bcc_version": "0.26.0",
        "bpftool": "/usr/sbin/bpftool",
        "headers": "fallback",
        "headers_path": "/usr/src/linux-headers-6.1.0-56-amd64",
        "tracefs": True,
        "debugfs": False,
        "btf": True,
        "lockdown": None,
        "kvm": {"ok": False, "reason": "the CPU shows no vmx/svm flag"},
        "features": {
            "kprobes": {"ok": False, "reason": "built without CONFIG_KPROBES"},
            "tracepoints": {"ok": True, "reason": ""},
        },
    }
    facts.update(overrides)
    return facts


def test_doctor_lines() -> None:
    rows = {label: (ok, detail) for label, ok, detail in host.doctor_lines(_facts())}
    assert rows["kernel"] == (None, "6.18.44-fc-v669 (x86_64)")
    assert rows["privileges"][0] is True
    assert rows["kernel headers"][0] is None and "fallback" in rows["kernel headers"][1]
    assert rows["tracefs"][0] is True
    assert rows["debugfs"][0] is False and "mount -t debugfs" in rows["debugfs"][1]
    assert rows["kprobes"] == (False, "built without CONFIG_KPROBES")
    assert rows["tracepoints"] == (True, "loads and attaches")
    assert rows["KVM"][0] is False


def test_doctor_lines_without_bcc_or_privileges() -> None:
    facts = _facts(bcc_version=None, sudo="missing", root=False, headers="missing", features={})
    rows = {label: (ok, detail) for label, ok, detail in host.doctor_lines(facts)}
    assert rows["bcc"][0] is False and "setup.sh" in rows["bcc"][1]
    assert rows["privileges"][0] is False
    assert rows["kernel headers"][0] is False
    assert rows["features"] == (None, "not tried yet")


def test_doctor_says_when_bpftool_is_missing() -> None:
    rows = {label: (ok, detail) for label, ok, detail in host.doctor_lines(_facts(bpftool=None))}
    assert rows["bpftool"][0] is False and "kernel checks cannot judge" in rows["bpftool"][1]
    found = {label: ok for label, ok, _ in host.doctor_lines(_facts())}
    assert found["bpftool"] is True


def test_format_doctor() -> None:
    text = host.format_doctor(_facts())
    lines = text.splitlines()
    assert lines[0].startswith("[--] kernel")
    assert any(line.startswith("[NO] kprobes") and "CONFIG_KPROBES" in line for line in lines)
    assert any(line.startswith("[ok] tracepoints") for line in lines)
    assert len(lines) == len(host.doctor_lines(_facts()))


def test_detect_without_attach_reads_nothing_privileged(tmp_path: Path) -> None:
    facts = host.detect(try_attach=False, cache_dir=tmp_path)
    assert facts["features"] == {}
    assert set(facts) >= {
        "kernel_release", "arch", "root", "sudo", "bcc_version", "headers",
        "headers_path", "tracefs", "debugfs", "btf", "lockdown", "kvm",
    }  # fmt: skip
    assert list(tmp_path.iterdir()) == []


def test_parse_cpu_list_expands_ranges():
    from runner.live.host import parse_cpu_list

    assert parse_cpu_list("0-3,6\n") == [0, 1, 2, 3, 6]
    assert parse_cpu_list("0") == [0]
