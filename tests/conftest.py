"""Shared fixtures: keep this small. Ask its owner (runner/live/execute.py) for more."""

from __future__ import annotations

import importlib.util
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.model import Lesson, RunSpec

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def course_python() -> str:
    """The interpreter the course runs probes and workloads with."""
    return sys.executable


@pytest.fixture
def make_lesson(tmp_path: Path) -> Callable[..., Lesson]:
    """Build a minimal Lesson around the given steps (no YAML needed)."""

    def build(*steps: RunSpec, requires: list[str] | None = None) -> Lesson:
        return Lesson(
            id="99-test",
            number=99,
            slug="test",
            title="test lesson",
            dir=tmp_path,
            text=tmp_path / "README.md",
            starter=tmp_path / "probe.py",
            solution=None,
            tests_dir=None,
            requires=list(requires or []),
            runs=list(steps),
        )

    return build


def bpf_unavailable() -> str | None:
    """Why real BPF programs cannot be loaded here, or None if they can."""
    if os.geteuid() != 0:
        return "loading BPF programs in tests needs root"
    if importlib.util.find_spec("bcc") is None:
        return "bcc (python3-bpfcc) is not installed"
    if not Path("/sys/kernel/debug/tracing").is_dir():
        return "debugfs/tracefs are not mounted (mount them, see the README)"
    return None


@pytest.fixture
def needs_bpf() -> None:
    """Skip (with the reason) where real BPF programs cannot be loaded."""
    reason = bpf_unavailable()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def checkout_open_to_others():
    """Tests that run the course as another user (a learner, nobody) need to
    reach the checkout, as a learner's own install would be. A private clone
    (say a 0700 temp dir) gets o+rx for the session and its mode back after."""
    changed = []
    for path in [REPO, *REPO.parents]:
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o005 != 0o005:
            os.chmod(path, mode | 0o005)
            changed.append((path, mode))
    yield
    for path, mode in reversed(changed):
        os.chmod(path, mode)


def _find_chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's headless-capable Chromium. Missing, CI (CI=true) installs it
    with apt-get and fails if it cannot; elsewhere the test is skipped."""
    found = _find_chromium()
    if found:
        return found
    if os.environ.get("CI") != "true":
        pytest.skip("chromium is not installed (apt-get install chromium); CI installs it")
    done = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
        capture_output=True,
        text=True,
        env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        timeout=900,
    )
    found = _find_chromium()
    if not found:
        pytest.fail(f"chromium could not be installed: {done.stderr.strip()[-300:]}")
    return found
