"""Pilot tests: drive the real app built by `build_app`, assert on its
state, on the messages its workers posted and on what it saved."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from textual.message import Message
from textual.widgets import Log, TabbedContent
from tui_helpers import fixture_course, saved_progress, wait_until

from runner.tui.app import CourseApp, build_app
from runner.tui.messages import HostDetected, ProbeSaved, RunFailed, RunFinished
from runner.tui.screens.doctor import DoctorScreen
from runner.tui.screens.solution import SolutionScreen
from runner.tui.widgets.bar_chart import BarChart
from runner.tui.widgets.results import ResultsTable
from runner.workspace import Workspace

pytestmark = [pytest.mark.tui, pytest.mark.anyio]
SIZE = (80, 24)


def record_messages(app: CourseApp) -> list[Message]:
    """Keep every message posted to the app (workers post from threads)."""
    posted: list[Message] = []
    original = app.post_message

    def post(message: Message) -> bool:
        posted.append(message)
        return original(message)

    app.post_message = post  # type: ignore[method-assign]
    return posted


def of_type(posted: list[Message], kind: type) -> list:
    return [m for m in posted if isinstance(m, kind)]


async def test_starts_on_the_first_lesson_with_states_and_overall_progress(make_app, workspace):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state.host is not None)
        assert app.lesson.id == "01-alpha"
        assert [app.lesson_status(lesson) for lesson in app.course.lessons] == [
            "not-started",
            "not-started",
            "unsupported",  # requires kprobes, which the host facts say are missing
        ]
        assert "Passed 0/3 lessons" in str(app.query_one("#overall-label").render())
        # opening a lesson copies its starter into the visible workspace
        assert (workspace.root / "01-alpha" / "probe.py").read_text().startswith("# TODO")


async def test_next_and_previous_lesson_keys(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        assert app.lesson.id == "02-perf-sampling"
        await pilot.press("n", "n")  # stops at the last lesson
        assert app.lesson.id == "03-long"
        await pilot.press("p")
        assert app.lesson.id == "02-perf-sampling"


async def test_lesson_text_is_shown_one_section_at_a_time(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        assert [s.title for s in app.sections] == ["Alpha", "Attach", "Print"]
        await pilot.press("right_square_bracket")
        assert app.state.section_index == 1
        markdown = app.query_one("#section-md")
        assert "TRACEPOINT_PROBE" in markdown.source
        assert "Print one line per event" not in markdown.source
        await pilot.press("right_square_bracket", "right_square_bracket")  # clamps
        assert app.state.section_index == 2
        await pilot.press("left_square_bracket")
        assert app.state.section_index == 1


async def test_run_streams_output_grades_and_saves_progress(make_app, scripted, workspace):
    app = make_app()
    posted = record_messages(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: of_type(posted, RunFinished) and app.state.running is None)
        (lesson_id, probe), *_ = scripted.calls
        assert lesson_id == "01-alpha"
        assert probe == workspace.root / "01-alpha" / "probe.py"  # the learner's file
        log = app.query_one("#output-log", Log)
        assert log.lines == ["main: Attached to openat", "main: event pid=4242"]
        assert app.query_one(TabbedContent).active == "results"
        table = app.query_one(ResultsTable)
        assert table.row_count == 2
        assert [str(c) for c in table.get_row("banner")[:2]] == ["✔ pass", "banner"]
        assert app.lesson_status(app.lesson) == "passed"
    state = saved_progress(workspace).state("01-alpha")
    assert (state.status, state.score, state.attempts) == ("passed", 3, 1)


async def test_failing_run_shows_expected_observed_and_locks_the_solution(make_app, scripted):
    scripted.status = "fail"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")  # 02 has a reference solution
        await pilot.press("r")
        await wait_until(pilot, lambda: "02-perf-sampling" in app.state.outcomes)
        row = app.query_one(ResultsTable).get_row("events")
        # expected and observed in words, as `course check` prints them, never a dict
        assert [str(c) for c in row[:4]] == [
            "✘ fail",
            "events",
            "≥ 3 lines with …",
            "no matching lin…",
        ]
        # the failing check is selected and told in full under the table
        detail = str(app.query_one("#check-detail").render())
        assert "expected: ≥ 3 lines with pid 4242" in detail
        assert "observed: no matching line (of 3 lines)" in detail
        assert "{" not in detail
        assert "hint: Print the pid" in detail
        app.query_one(ResultsTable).move_cursor(row=0)  # highlight another check
        shown = app.query_one("#check-detail")
        await wait_until(pilot, lambda: "banner: The banner was printed" in str(shown.render()))
        assert app.lesson_status(app.lesson) == "failing"
        await pilot.press("s")
        assert not isinstance(app.screen, SolutionScreen)
        scripted.status = "pass"
        await pilot.press("r")
        await wait_until(pilot, lambda: app.lesson_status(app.lesson) == "passed")
        await pilot.press("s")
        assert isinstance(app.screen, SolutionScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, SolutionScreen)


async def test_hints_are_revealed_one_at_a_time_and_persisted(make_app, workspace):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        hints = app.query_one("#hints-text")
        await pilot.press("h")
        assert "First hint." in str(hints.render())
        assert "Second hint." not in str(hints.render())
        assert saved_progress(workspace).state("01-alpha").hints_revealed == 1
        await pilot.press("h", "h", "h")  # never more than there are
        assert "Second hint." in str(hints.render())
        assert app.query_one(TabbedContent).active == "hints"
    assert saved_progress(workspace).state("01-alpha").hints_revealed == 2
    # a new session shows the hints revealed before
    again = make_app()
    async with again.run_test(size=SIZE) as pilot:
        assert "Second hint." in str(again.query_one("#hints-text").render())


async def test_a_run_failure_is_a_message_not_a_crash(make_app, scripted):
    scripted.raises = RuntimeError("sudo: a password is required")
    app = make_app()
    posted = record_messages(app)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: of_type(posted, RunFailed))
        await pilot.pause()
        assert app.state.running is None
        assert "a password is required" in app.state.errors["01-alpha"]
        assert "could not be done" in str(app.query_one("#summary").render())
        assert app.lesson_status(app.lesson) == "not-started"


async def test_stderr_of_a_failing_run_is_explained(make_app, scripted):
    scripted.status = "fail"
    scripted.stderr = ["fatal error: 'linux/sched.h' file not found"]
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: "01-alpha" in app.state.outcomes)
        # the session's notes (runner.present.notes), the ones `course check` prints
        assert "kernel headers are missing" in str(app.query_one("#explanation").render())
        assert app.query_one("#output-log", Log).lines[-1].startswith("main! fatal error")


async def test_watch_mode_reruns_when_the_probe_is_saved(make_app, scripted, workspace):
    app = make_app(watch=True)
    posted = record_messages(app)
    async with app.run_test(size=SIZE) as pilot:
        probe = workspace.root / "01-alpha" / "probe.py"
        await pilot.pause(0.5)  # let the watcher start before the save
        # save the way editors do: write a new file, rename it over the old one
        fresh = probe.with_name(".probe.py.swp-new")
        fresh.write_text("print('edited')\n")
        fresh.replace(probe)
        await wait_until(pilot, lambda: of_type(posted, RunFinished))
        assert of_type(posted, ProbeSaved)[0].lesson_id == "01-alpha"
        assert scripted.calls[0] == ("01-alpha", probe)
        assert app.state.saves_seen >= 1


async def test_a_save_while_running_queues_one_more_run(make_app, scripted):
    scripted.release = threading.Event()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: len(scripted.calls) == 1)
        # the status line follows the run's step events while the run is on
        label = app.query_one("#run-label")
        await wait_until(pilot, lambda: "01-alpha · main started ·" in str(label.render()))
        await pilot.press("r")  # while the first is running
        assert app.state.rerun_pending
        scripted.release.set()
        await wait_until(pilot, lambda: len(scripted.calls) == 2 and app.state.running is None)
        assert not app.state.rerun_pending


async def test_idle_watch_mode_says_no_save_was_seen(make_app):
    app = make_app(watch=True, idle_notice_after=0.2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(
            pilot, lambda: any("No save of probe.py" in n.message for n in app._notifications)
        )


async def test_host_facts_arrive_as_a_message_and_feed_the_doctor(make_app):
    app = make_app()
    posted = record_messages(app)
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: of_type(posted, HostDetected))
        await pilot.press("d")
        assert isinstance(app.screen, DoctorScreen)
        assert "kprobes" in str(app.screen.query_one("#doctor-text").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, DoctorScreen)


async def test_unsupported_lesson_header_gives_the_reason(make_app):
    app = make_app(start_lesson="03-long")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state.host is not None)
        header = str(app.query_one("#lesson-header").render())
        assert "⊘ unsupported" in header
        assert "built without kprobes" in header


async def test_unsupported_lesson_runs_in_a_vm_with_v(make_app, scripted):
    app = make_app(start_lesson="03")
    async with app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: app.state.host is not None)
        assert "v runs it in a VM" in str(app.query_one("#lesson-header").render())
        assert "Press v to run it in a VM" in str(app.query_one("#summary").render())
        await pilot.press("v")
        await wait_until(pilot, lambda: "03-long" in app.state.outcomes)
        assert scripted.vm_calls == ["03-long"]
        first = app.query_one("#output-log", Log).lines[0]
        assert first == "vm! booting the VM kernel 6.1.0-56-amd64"


async def test_perf_sampling_results_draw_a_bar_chart(make_app, scripted):
    scripted.lines = [
        "Collected 512 samples",
        "Top processes by samples:",
        "    PID  COMM              SAMPLES",
        "   4242  ebpfc-burn            490  ##############################",
        "      0  swapper/0              22  #",
    ]
    app = make_app(start_lesson="02")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: "02-perf-sampling" in app.state.outcomes)
        chart = app.query_one(BarChart)
        assert chart.display
        assert chart._rows == [("ebpfc-burn (4242)", 490), ("swapper/0 (0)", 22)]
        assert "█" in str(chart.render())


async def test_keymap_file_in_the_workspace_remaps_bindings(make_app, scripted, workspace):
    workspace.root.mkdir(parents=True)
    (workspace.root / "keymap.yaml").write_text("run: x\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("x")
        await wait_until(pilot, lambda: len(scripted.calls) == 1)


async def test_bad_keymap_file_is_reported_and_ignored(make_app, workspace):
    workspace.root.mkdir(parents=True)
    (workspace.root / "keymap.yaml").write_text("- just\n- a list\n")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert any("binding ids" in n.message for n in app._notifications)


async def test_password_needed_without_a_terminal_does_not_run(make_app, scripted):
    app = make_app(needs_password=lambda: True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert scripted.calls == []
        assert any("sudo -v" in n.message for n in app._notifications)


async def test_theme_toggles_between_dark_and_light(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        before = app.theme
        await pilot.press("t")
        assert app.theme != before
        assert {before, app.theme} == {"textual-dark", "textual-light"}


async def test_every_binding_has_an_id(make_app):
    app = make_app()
    assert all(binding.id for binding in app.BINDINGS)
    assert len({binding.id for binding in app.BINDINGS}) == len(app.BINDINGS)


async def test_quit(make_app):
    app = make_app(watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
    assert app.return_code == 0


def test_fixture_paths_exist():
    from tui_helpers import FIXTURES

    assert (FIXTURES / "01-alpha" / "README.md").is_file()
    assert isinstance(FIXTURES, Path)


async def test_command_palette_offers_lessons_sections_and_actions(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert "Lesson 03: Long" in titles
        assert "Section: Print" in titles
        assert "Run the checks" in titles
        await pilot.press("ctrl+p")
        await pilot.press(*"Lesson 03")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.lesson.id == "03-long")


async def test_edit_without_a_real_terminal_says_where_the_file_is(make_app, workspace):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        probe = str(workspace.root / "01-alpha" / "probe.py")
        assert any(probe in n.message for n in app._notifications)


async def test_corrupt_progress_file_is_moved_aside_and_reported(make_app, workspace):
    workspace.progress_path.parent.mkdir(parents=True)
    workspace.progress_path.write_text("{ not json")
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert any("could not be read" in n.message for n in app._notifications)
    assert list(workspace.progress_path.parent.glob("progress.json.corrupt-*"))


async def test_a_workspace_that_cannot_be_written_is_an_error_notice(scripted, tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    app = build_app(
        fixture_course(),
        Workspace(blocked),
        watch=False,
        session=scripted.session(Workspace(blocked)),
        progress=saved_progress(Workspace(tmp_path / "elsewhere")),
        needs_password=lambda: False,
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert any("Cannot write your copy" in n.message for n in app._notifications)
        assert scripted.calls == []


async def test_question_mark_toggles_the_key_help(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert app.screen.query("HelpPanel")
        await pilot.press("question_mark")
        await pilot.pause()
        assert not app.screen.query("HelpPanel")


async def test_section_arrows_are_clickable(make_app):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        nav = app.query_one("#section-nav")
        assert "Section 1/3: Alpha" in str(nav.render())
        text = str(nav.render())
        await pilot.click("#section-nav", offset=(len(text) - 1, 0))  # ▶ (after 1 of padding)
        await wait_until(pilot, lambda: app.state.section_index == 1)
        await pilot.click("#section-nav", offset=(1, 0))  # ◀
        await wait_until(pilot, lambda: app.state.section_index == 0)


async def test_quit_during_a_run_asks_first(make_app, scripted):
    scripted.release = threading.Event()
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: len(scripted.calls) == 1)
        await pilot.press("q")
        assert app.is_running
        assert any("press q again" in n.message for n in app._notifications)
        assert not scripted.cancelled
        await pilot.press("q")
    assert scripted.cancelled  # the second q stops the probe instead of waiting for it
    assert app.return_code == 0


def test_sudo_readiness_is_the_sessions_by_default(workspace):
    """Not `sudo -n true` (which the README's narrow rule refuses): the
    session's check, which asks sudo for the root guard the runner runs."""
    import runner.session

    app = build_app(fixture_course(), workspace, watch=False)
    assert app.needs_password is runner.session.needs_password
    assert app.session.needs_password is runner.session.needs_password


async def test_enter_on_a_failing_check_opens_the_section_that_teaches_it(make_app, scripted):
    scripted.status = "fail"
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("r")
        await wait_until(pilot, lambda: "01-alpha" in app.state.outcomes)
        assert app.query_one(TabbedContent).active == "results"
        detail = str(app.query_one("#check-detail").render())
        assert 'see "Print" in the lesson text: press enter to read it' in detail
        table = app.query_one(ResultsTable)
        table.focus()
        await pilot.press("enter")  # the failing check is the selected row
        await wait_until(pilot, lambda: app.query_one(TabbedContent).active == "lesson")
        assert app.state.section_index == 2
        assert "Section 3/3: Print" in str(app.query_one("#section-nav").render())


def _course_in(tmp_path: Path, text: str, tested_on: str | None = None):
    """The fixture course in `tmp_path`, 01-alpha's text replaced by `text`."""
    course = fixture_course()
    readme = tmp_path / "README.md"
    readme.write_text(text)
    first = dataclasses.replace(course.lessons[0], text=readme)
    if tested_on is not None:
        (tmp_path / "tested-on.yaml").write_text(tested_on)
    return dataclasses.replace(course, dir=tmp_path, lessons=[first, *course.lessons[1:]])


async def test_a_heading_inside_a_section_is_scrolled_to(scripted, workspace, tmp_path):
    filler = "\n\n".join(f"Paragraph {i} of the concepts." for i in range(40))
    course = _course_in(
        tmp_path, f"# Alpha\n\n## Concepts\n\n{filler}\n\n### Deep down\n\nHere.\n\n## Steps\n"
    )
    session = scripted.session(workspace, course)
    app = build_app(course, workspace, watch=False, session=session, needs_password=lambda: False)
    async with app.run_test(size=SIZE) as pilot:
        scroll = app.query_one("#section-scroll")
        await app.show_heading("deep DOWN")
        await wait_until(pilot, lambda: scroll.scroll_y > 0)
        assert app.state.section_index == 0  # the intro is only the title: it tops Concepts
        assert "Concepts" in str(app.query_one("#section-nav").render())
        heading = app.query("MarkdownH3").first()
        assert scroll.region.contains_region(heading.region)  # on screen, not above or below
        await app.show_heading("Steps")
        assert app.state.section_index == 1
        await wait_until(pilot, lambda: scroll.scroll_y == 0)
        await app.show_heading("Nowhere")  # a stale section name is a notice, not a crash
        assert app.state.section_index == 1


TESTED_ON = """\
date: "2026-12-02"
bcc: "0.18.0"
kernels: {"6.1": "6.1.0-57-amd64", "6.12": "6.12.95+deb12-amd64"}
lessons:
  01-alpha: {"6.1": {status: passed}, "6.12": {status: passed}}
"""


async def test_header_and_list_show_metadata_and_tested_kernels(scripted, workspace, tmp_path):
    course = _course_in(tmp_path, "# Alpha\n\n## Steps\n\nDo it.\n", TESTED_ON)
    session = scripted.session(workspace, course)
    app = build_app(course, workspace, watch=False, session=session, needs_password=lambda: False)
    async with app.run_test(size=(160, 30)) as pilot:
        await wait_until(pilot, lambda: app.state.host is not None)
        header = str(app.query_one("#lesson-header").render())
        assert "01 Alpha — · not started · ~20 min · beginner" in header
        assert "⚠ This kernel, 6.18, is newer than 6.1 to 6.12, the kernels 01-alpha" in header
        await pilot.press("n")  # 02 was not in the matrix: no warning, and it says so
        header = str(app.query_one("#lesson-header").render())
        assert "02 Perf sampling — · not started\nnot tested\n" in header
        prompt = str(app.query_one("#lessons").get_option_at_index(0).prompt)
        assert "~20m" in prompt and "⚠" in prompt
        assert "~" not in str(app.query_one("#lessons").get_option_at_index(1).prompt)
