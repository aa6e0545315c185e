"""Shared fixtures: keep this small. Ask its owner (runner/live/execute.py) for more."""

from __future__ import annotations

import importlib.util
import os
import stat
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
