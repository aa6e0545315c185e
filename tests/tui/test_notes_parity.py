"""`course check` (text and JSON) and the TUI explain a failed run with the
SAME notes: both get them from runner.session (runner.present.notes). Each
front end is fed the same Recording, of a probe that died of a NameError
and of a probe that exited before its ready line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tui_helpers import ScriptedRunner, wait_until

from runner import cli
from runner.course.load import load_course
from runner.model import Line, Recording, Run
from runner.present.notes import format_notes
from runner.tui.app import build_app
from runner.workspace import Workspace

pytestmark = [pytest.mark.tui]
FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "courses" / "cli"
FACTS = {
    "root": True,
    "sudo": "root",
    "features": {"tracepoints": {"ok": True, "reason": ""}, "bpf": {"ok": True, "reason": ""}},
}


def crashed(probe: Path) -> Recording:
    """A probe whose line 7 names an undefined variable (recorded stderr)."""
    err = [
        "Traceback (most recent call last):",
        f'  File "{probe}", line 12, in <module>',
        "    main()",
        f'  File "{probe}", line 7, in main',
        "    print(undefined_name)",
        "NameError: name 'undefined_name' is not defined",
    ]
    run = Run(
        "main",
        lines=[Line(0.1, "out", "Attached to syscalls:sys_enter_openat")]
        + [Line(0.2, "err", text) for text in err],
        stdout_lines=1,
        stderr_lines=len(err),
        exit_code=1,
        ready=True,
        stop_reason="exited",
    )
    return Recording("01-opens", str(probe), probe.read_text(), runs={"main": run})


def exited_early(probe: Path) -> Recording:
    """A probe that ended with status 2 before printing its ready line."""
    run = Run(
        "main",
        lines=[Line(0.1, "err", "no such tracepoint")],
        stderr_lines=1,
        exit_code=2,
        ready=False,
        stop_reason="exited",
    )
    return Recording("01-opens", str(probe), probe.read_text(), runs={"main": run})


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    path = tmp_path / "mine" / "probe.py"
    path.parent.mkdir()
    path.write_text((FIXTURE / "lessons" / "01-opens" / "probe.py").read_text())
    return path


def cli_check(monkeypatch, capsys, tmp_path: Path, recording: Recording, *extra: str):
    """`course check 01 --file PROBE` with the runner replaced by the recording."""
    monkeypatch.setattr("runner.live.execute.run_lesson", lambda *a, **k: recording)
    monkeypatch.setattr("runner.live.host.detect", lambda **_: json.loads(json.dumps(FACTS)))
    monkeypatch.setattr("runner.live.host.ensure_tracefs", lambda: None)
    argv = ["--course", str(FIXTURE), "--workspace", str(tmp_path / "ws"), "check", "01"]
    code = cli.main([*argv, "--file", recording.probe_path, *extra])
    out, _ = capsys.readouterr()
    return code, out


async def tui_explanation(tmp_path: Path, recording: Recording) -> str:
    """The explanation the TUI's results pane shows after pressing r."""
    course = load_course(FIXTURE)
    workspace = Workspace(tmp_path / "tui-ws")
    scripted = ScriptedRunner(recording=recording, grade_real=True)
    scripted.facts = json.loads(json.dumps(FACTS))
    app = build_app(course, workspace, watch=False, session=scripted.session(workspace, course))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: "01-opens" in app.state.outcomes)
        await pilot.pause()
        return str(app.query_one("#explanation").render())


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("make", "title"),
    [
        (crashed, "Your probe stopped with an exception"),
        (exited_early, "Your probe ended before it was ready"),
    ],
)
async def test_cli_and_tui_show_the_same_notes(
    monkeypatch, capsys, tmp_path, probe, make, title
) -> None:
    recording = make(probe)
    code, out = cli_check(monkeypatch, capsys, tmp_path, recording, "--json")
    assert code == 1
    notes = json.loads(out)["explanations"]
    assert title in [note["title"] for note in notes]
    code, text = cli_check(monkeypatch, capsys, tmp_path, recording)
    assert code == 1 and format_notes(notes) in text
    shown = await tui_explanation(tmp_path, recording)
    assert shown == format_notes(notes)  # the same notes, in the same words


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
