"""runner.present.explain on REAL failures: every probe in broken_probes/ is run on
this kernel as root and its real stderr must get the right hint, pointing at
the line marked HERE."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runner.live import host
from runner.present.explain import explain

BROKEN = Path(__file__).parent / "broken_probes"
PROBES = sorted(BROKEN.glob("*.py"))
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(
        os.geteuid() != 0 and host.sudo_state() != "nopasswd",
        reason="needs root or passwordless sudo to load BPF programs",
    ),
]


def header(path: Path, key: str) -> str | None:
    match = re.search(rf"^# {key}: (\S+)", path.read_text(), re.MULTILINE)
    return match.group(1) if match else None


def marked_line(path: Path) -> int | None:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if re.search(r"(#|//) HERE\b", line):
            return number
    return None


def command(path: Path) -> list[str]:
    """The argv that runs a broken probe as root, in the setting it asks for."""
    argv = [sys.executable, str(path)]
    if header(path, "run-as") == "nobody":
        argv = [*NOBODY, *argv]
    setup = header(path, "setup")
    if setup == "no-headers":
        modules = f"/lib/modules/{os.uname().release}"
        script = f'mount -t tmpfs none {modules} && exec "$@"'
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv]
    elif setup == "no-tracefs":
        script = (
            "for m in /sys/kernel/debug/tracing /sys/kernel/debug /sys/kernel/tracing; "
            'do umount "$m" 2>/dev/null; done; exec "$@"'
        )
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *argv]
    if os.geteuid() != 0:
        argv = ["sudo", "-n", *argv]
    return argv


def run_broken(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(path),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        cwd=path.parent,
        timeout=120,
    )


@pytest.fixture(scope="module")
def facts(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return host.detect(cache_dir=tmp_path_factory.mktemp("host-cache"))


def test_there_are_enough_broken_probes() -> None:
    expected = {header(p, "expect") for p in PROBES}
    assert len(PROBES) >= 20 and len(expected) >= 20


@pytest.mark.usefixtures("checkout_open_to_others")  # the not_root probe runs as nobody
@pytest.mark.parametrize("probe", PROBES, ids=[p.stem for p in PROBES])
def test_real_failure_gets_the_right_hint(probe: Path, facts: dict) -> None:
    expect = header(probe, "expect")
    if facts["features"]["kprobes"]["ok"] and header(probe, "expect-with-kprobes"):
        expect = header(probe, "expect-with-kprobes")
    done = run_broken(probe)
    source = probe.read_text()
    hints = explain(done.stderr, source)
    assert hints, f"no hint for {probe.name}; its stderr was:\n{done.stderr}"
    assert hints[0].id == expect, f"{[h.id for h in hints]} for stderr:\n{done.stderr}"
    if expect != "read-user-with-kernel":  # that one runs without an error
        assert done.returncode != 0 or done.stderr.strip()
    line = marked_line(probe)
    if line is not None:
        assert hints[0].line == line and hints[0].line_of == "file"


def test_the_same_stderr_without_the_source_still_names_the_cause() -> None:
    done = run_broken(BROKEN / "undeclared_identifier.py")
    hints = explain(done.stderr)
    assert hints[0].id == "clang-undeclared"
    assert "pidd" in hints[0].cause
    assert hints[0].line is None  # bcc's numbering is not the learner's: no guessing
