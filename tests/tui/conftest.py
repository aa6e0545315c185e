"""Fixtures for the TUI tests; see tui_helpers for the scripted runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from tui_helpers import ScriptedRunner, fixture_course

from runner.tui.app import CourseApp, build_app
from runner.workspace import Workspace


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def scripted() -> ScriptedRunner:
    return ScriptedRunner()


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "ws")


@pytest.fixture
def make_app(scripted: ScriptedRunner, workspace: Workspace) -> Callable[..., CourseApp]:
    def make(**options: Any) -> CourseApp:
        options.setdefault("watch", False)
        options.setdefault("session", scripted.session(workspace))
        options.setdefault("needs_password", lambda: False)
        return build_app(fixture_course(), workspace, **options)

    return make
