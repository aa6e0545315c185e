"""Snapshots of the main screens at 80x24 (pytest-textual-snapshot).
Update after an intended change with `pytest tests/tui --snapshot-update`
and review the SVGs in tests/tui/__snapshots__/."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tui_helpers import ScriptedRunner, fixture_course, wait_until

from runner.tui.app import build_app
from runner.workspace import Workspace

pytestmark = pytest.mark.tui
SIZE = (80, 24)
# A fixed folder: the probe's path is on screen, so it must not vary by run.
SNAP_WORKSPACE = Path("/tmp/ebpfc-tui-snapshots/ws")


@pytest.fixture
def app_factory():
    def make(status: str = "fail", **options):
        shutil.rmtree(SNAP_WORKSPACE, ignore_errors=True)
        scripted = ScriptedRunner(status=status)
        return build_app(
            fixture_course(),
            Workspace(SNAP_WORKSPACE),
            watch=False,
            session=scripted.session(Workspace(SNAP_WORKSPACE)),
            needs_password=lambda: False,
            **options,
        )

    yield make
    shutil.rmtree(SNAP_WORKSPACE.parent, ignore_errors=True)


async def _host_known(pilot) -> None:
    await wait_until(pilot, lambda: pilot.app.state.host is not None)


def test_lesson_screen(snap_compare, app_factory):
    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=_host_known)


def test_second_section(snap_compare, app_factory):
    async def before(pilot):
        await _host_known(pilot)
        await pilot.press("right_square_bracket")

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=before)


def test_failing_results(snap_compare, app_factory):
    async def before(pilot):
        await _host_known(pilot)
        await pilot.press("r")
        await wait_until(pilot, lambda: "01-alpha" in pilot.app.state.outcomes)
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=before)


def test_output_tab_after_a_run(snap_compare, app_factory):
    async def before(pilot):
        await _host_known(pilot)
        await pilot.press("r")
        await wait_until(pilot, lambda: "01-alpha" in pilot.app.state.outcomes)
        pilot.app.clear_notifications()
        await pilot.press("2")

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=before)


def test_bar_chart_of_a_passed_sampling_lesson(snap_compare, app_factory):
    async def before(pilot):
        await _host_known(pilot)
        pilot.app.session._run_lesson.__self__.lines = [
            "Collected 600 samples",
            "Top processes by samples:",
            "    PID  COMM              SAMPLES",
            "   4242  ebpfc-burn            490  ####",
            "      1  systemd               100  #",
        ]
        await pilot.press("r")
        await wait_until(pilot, lambda: "02-perf-sampling" in pilot.app.state.outcomes)
        pilot.app.clear_notifications()
        await pilot.pause()

    app = app_factory(status="pass", start_lesson="02")
    assert snap_compare(app, terminal_size=SIZE, run_before=before)


def test_hints(snap_compare, app_factory):
    async def before(pilot):
        await _host_known(pilot)
        await pilot.press("h")

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=before)


def test_doctor(snap_compare, app_factory):
    async def before(pilot):
        await _host_known(pilot)
        await pilot.press("d")

    assert snap_compare(app_factory(), terminal_size=SIZE, run_before=before)


def test_unsupported_lesson_in_light_theme(snap_compare, app_factory):
    async def before(pilot):
        await _host_known(pilot)
        await pilot.press("t")

    app = app_factory(start_lesson="03")
    assert snap_compare(app, terminal_size=SIZE, run_before=before)
