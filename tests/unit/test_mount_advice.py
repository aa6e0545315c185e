"""The tracefs/debugfs advice works when pasted: both mounts run as root.

A fake `sudo` (marks what it runs as root) and a fake `mount` (logs whether
it ran as root) stand in on PATH, and each piece of advice the course shows
is pasted into a shell as a learner would."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from runner.live import host
from runner.live.host_facts import MOUNT_COMMAND


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "sudo").write_text('#!/bin/sh\nFAKE_ROOT=yes exec "$@"\n')
    (folder / "mount").write_text('#!/bin/sh\necho "${FAKE_ROOT:-no} $*" >> "$MOUNT_LOG"\n')
    for tool in folder.iterdir():
        tool.chmod(0o755)
    return folder


def paste(command: str, fake_bin: Path, tmp_path: Path) -> list[str]:
    """Run `command` as a learner's shell would; the mounts it made, as
    'yes|no <args>' (yes: under sudo)."""
    log = tmp_path / "mounts.log"
    log.unlink(missing_ok=True)
    env = {"PATH": f"{fake_bin}:/usr/bin:/bin", "MOUNT_LOG": str(log)}
    subprocess.run(["bash", "-c", command], env=env, check=True, timeout=30)
    return log.read_text().splitlines()


def backticked(text: str) -> str:
    found = re.search(r"`([^`]+)`", text)
    assert found, text
    return found.group(1)


BOTH_AS_ROOT = [
    "yes -t tracefs tracefs /sys/kernel/tracing",
    "yes -t debugfs debugfs /sys/kernel/debug",
]


def test_sudo_before_the_command_covers_both_mounts(fake_bin: Path, tmp_path: Path) -> None:
    assert paste(f"sudo {MOUNT_COMMAND}", fake_bin, tmp_path) == BOTH_AS_ROOT


def test_ensure_tracefs_advice_for_a_normal_user(
    fake_bin: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(host, "mounted", lambda: set())
    monkeypatch.setattr(host.os, "geteuid", lambda: 1000)
    advice = host.ensure_tracefs()
    assert advice is not None
    assert paste(backticked(advice), fake_bin, tmp_path) == BOTH_AS_ROOT


def test_as_root_the_command_alone_mounts_both(fake_bin: Path, tmp_path: Path) -> None:
    # ensure_tracefs as root says "mount it by hand: {MOUNT_COMMAND}" (no sudo needed)
    mounts = paste(f"FAKE_ROOT=yes; export FAKE_ROOT; {MOUNT_COMMAND}", fake_bin, tmp_path)
    assert mounts == BOTH_AS_ROOT


def test_the_doctor_row_advice_works_too(fake_bin: Path, tmp_path: Path) -> None:
    from test_host import _facts  # its doctor facts: debugfs not mounted

    rows = {label: detail for label, _, detail in host.doctor_lines(_facts())}
    assert paste(backticked(rows["debugfs"]), fake_bin, tmp_path) == BOTH_AS_ROOT
