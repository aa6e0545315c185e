"""The Textual app of `course start`: a view over runner.session (the same
application layer as the CLI), never a second implementation. Workers (the
run, the host probe, the folder watcher) only post Messages; the App's
handlers below own every state change."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import (
    Footer,
    Header,
    Label,
    Log,
    OptionList,
    ProgressBar,
    Static,
    TabbedContent,
    TabPane,
)

from runner.model import Course, Lesson
from runner.progress import Progress, ProgressError
from runner.session import CheckOutcome, Session, unsupported_reason, vm_progress_lines
from runner.tui import sudo
from runner.tui.charts import bars_for
from runner.tui.keymap import KEYMAP_FILE, load_keymap
from runner.tui.linebuffer import LineBuffer
from runner.tui.messages import (
    HostDetected,
    ProbeSaved,
    RunFailed,
    RunFinished,
    SessionNotice,
    WatchFailed,
)
from runner.tui.screens.doctor import DoctorScreen
from runner.tui.screens.solution import SolutionScreen
from runner.tui.sections import Section, locate, split_sections
from runner.tui.status import lesson_label
from runner.tui.watch import watch_saves
from runner.tui.widgets.lesson_list import LessonList, LessonRow
from runner.tui.widgets.lesson_text import LessonText
from runner.tui.widgets.results_pane import NO_RESULTS, ResultsPane, explanation, summary_line
from runner.tui.widgets.run_status import RunStatus
from runner.workspace import Workspace

OUTPUT_MAX_LINES = 5000  # the Log keeps this many; the core keeps exact counts
FLUSH_SECONDS = 0.05  # probe output reaches the screen in batches this often


@dataclass
class UiState:
    """Everything the App decides; widgets only display it."""

    lesson_index: int = 0
    section_index: int = 0
    running: str | None = None  # id of the lesson being run
    running_where: str = ""  # "" on this kernel, " in a VM"
    run_started: float = 0.0
    rerun_pending: bool = False
    saves_seen: int = 0
    host: dict[str, Any] | None = None
    outcomes: dict[str, CheckOutcome] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # lesson id -> run failure


class CourseApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "ebpf-course"

    BINDINGS = [
        Binding("r", "run", "Run", id="run"),
        Binding("v", "run_vm", "Run in VM", id="run-vm", show=False),
        Binding("n", "next_lesson", "Next", id="next-lesson"),
        Binding("p", "previous_lesson", "Prev", id="previous-lesson"),
        Binding("h", "hint", "Hint", id="hint"),
        Binding("s", "solution", "Solution", id="solution"),
        Binding("e", "edit", "Edit", id="edit"),
        Binding("d", "doctor", "Doctor", id="doctor"),
        Binding("right_square_bracket", "next_section", "Section▶", id="next-section"),
        Binding("left_square_bracket", "previous_section", "◀Section", id="previous-section"),
        Binding("1", "tab('lesson')", "Lesson", id="tab-lesson", show=False),
        Binding("2", "tab('output')", "Output", id="tab-output", show=False),
        Binding("3", "tab('results')", "Results", id="tab-results", show=False),
        Binding("4", "tab('hints')", "Hints", id="tab-hints", show=False),
        Binding("w", "toggle_watch", "Watch on/off", id="toggle-watch", show=False),
        Binding("t", "toggle_theme", "Light/dark", id="toggle-theme", show=False),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        course: Course,
        workspace: Workspace,
        session: Session,
        *,
        watch: bool,
        idle_notice_after: float,
        needs_password: Callable[[], bool],
        start_lesson: str | None,
        notices: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.course = course
        self.workspace = workspace
        self.session = session
        session.on_warning = self._session_warning  # may be called from a worker
        self.watching = watch
        self.idle_notice_after = idle_notice_after
        self.needs_password = needs_password
        self.state = UiState()
        self.buffer = LineBuffer(OUTPUT_MAX_LINES)
        self.sections: list[Section] = []
        self._watch_stop: threading.Event | None = None
        self._quit_asked = False
        self._step: tuple[str, str] = ("", "")  # (step id, phase), set by the run worker
        self._startup_warnings = list(notices or [])  # shown once the app is up
        if start_lesson and course.lesson(start_lesson) is not None:
            self.state.lesson_index = course.lessons.index(course.lesson(start_lesson))
        self.sub_title = course.title

    # ------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="main"):
            with Vertical(id="sidebar"):
                yield LessonList(id="lessons")
                yield Label("", id="overall-label")
                yield ProgressBar(
                    total=len(self.course.lessons),
                    show_eta=False,
                    show_percentage=False,
                    id="overall-bar",
                )
            with Vertical(id="content"):
                yield Static("", id="lesson-header", markup=False)
                with TabbedContent(id="tabs", initial="lesson"):
                    with TabPane("Lesson", id="lesson"):
                        yield LessonText(id="lesson-text")
                    with TabPane("Output", id="output"):
                        yield RunStatus(id="run-status")
                        yield Log(max_lines=OUTPUT_MAX_LINES, id="output-log")
                    with TabPane("Results", id="results"):
                        yield ResultsPane(id="results-scroll")
                    with TabPane("Hints", id="hints"):
                        yield Static("", id="hints-text", markup=False)
        yield Footer()

    async def on_mount(self) -> None:
        keymap, warning = load_keymap(
            Path(self.workspace.root) / KEYMAP_FILE, {b.id for b in self.BINDINGS if b.id}
        )
        if keymap:
            self.set_keymap(keymap)
        if warning:
            self.notify(warning, severity="warning", timeout=10)
        for message in self._startup_warnings:
            self.notify(message, severity="warning", timeout=10)
        self.set_interval(FLUSH_SECONDS, self._flush_output)
        self._refresh_lessons()
        await self._open_lesson(self.state.lesson_index)
        self.query_one(LessonList).focus()
        self.run_worker(self._detect_host, thread=True, group="host", name="host facts")

    # ------------------------------------------------------------ helpers

    @property
    def progress(self) -> Progress:
        return self.session.progress

    @property
    def lesson(self) -> Lesson:
        return self.course.lessons[self.state.lesson_index]

    def lesson_status(self, lesson: Lesson) -> str:
        """passed | failing | not-started | unsupported | running."""
        if self.state.running == lesson.id:
            return "running"
        return self.session.status(lesson, self.state.host)

    def hints_revealed(self, lesson: Lesson) -> int:
        return len(self.session.hints(lesson).shown)

    def _refresh_lessons(self) -> None:
        rows = [
            LessonRow(
                row.id,
                row.number,
                row.title,
                "running"
                if self.state.running == row.id
                else "passed-older"
                if row.outdated
                else row.status,
                row.score,
                row.max_score,
                row.passed_at_shown,
                row.minutes,
                bool(row.tested_warning),
            )
            for row in self.session.lessons(self.state.host)
        ]
        self.query_one(LessonList).show_rows(rows)
        passed = sum(row.status == "passed" for row in rows)
        self.query_one("#overall-label", Label).update(f"Passed {passed}/{len(rows)} lessons")
        self.query_one("#overall-bar", ProgressBar).update(progress=passed)
        self._refresh_header()

    def _refresh_header(self) -> None:
        lesson = self.lesson
        status = self.lesson_status(lesson)
        meta = [f"~{lesson.minutes} min" if lesson.minutes else "", lesson.difficulty or ""]
        lines = [
            " · ".join(
                [f"{lesson.code} {lesson.title} — {lesson_label(status)}"] + [m for m in meta if m]
            )
        ]
        reason = unsupported_reason(lesson, self.state.host)
        tested = self.session.tested_on()
        warning = (
            tested.outside_tested(lesson.id, self.session.running_release(self.state.host))
            if tested
            else None
        )
        # three rows at most: why it cannot run here, else the warning, else where it passed
        if status == "unsupported" and reason:
            vm = "v runs it in a VM; "  # the TUI's way out, added here once
            lines.append(f"⊘ {vm}{reason}")
        elif warning:
            lines.append(f"⚠ {warning}")
        elif tested is not None:
            lines.append(tested.summary(lesson.id))
        watch = "watch on" if self.watching else "watch off"
        lines.append(f"{self._probe_display()} · {watch}")
        # one row per line, cut with an ellipsis: the header never grows
        header = Text("\n".join(lines), no_wrap=True, overflow="ellipsis")
        self.query_one("#lesson-header", Static).update(header)

    def _probe_display(self) -> str:
        probe = self.workspace.probe_path(self.lesson)
        home = Path.home()
        shown = f"~/{probe.relative_to(home)}" if probe.is_relative_to(home) else str(probe)
        return shown if len(shown) <= 38 else "…" + shown[-37:]

    async def _open_lesson(self, index: int) -> None:
        self.state.lesson_index = index
        self.state.section_index = 0
        lesson = self.lesson
        self._ensure_workspace(lesson)
        text = lesson.text.read_text(encoding="utf-8") if lesson.text.is_file() else ""
        self.sections = split_sections(text or f"# {lesson.title}\n\n(This lesson has no text.)")
        self.query_one(LessonList).highlight_lesson(lesson.id)
        await self.query_one(LessonText).show_section(self.sections, 0)
        self._show_results(lesson)
        self._show_hints(lesson)
        self._refresh_header()
        if self.watching:
            self._start_watch()

    def _ensure_workspace(self, lesson: Lesson) -> bool:
        """Copy the starter on first use (never overwrites); False on failure."""
        try:
            self.workspace.ensure(lesson)
        except OSError as exc:
            self.notify(
                f"Cannot write your copy of {lesson.id} in {self.workspace.root} "
                f"({exc.strerror}); check the folder's permissions or use --workspace.",
                severity="error",
                timeout=10,
            )
            return False
        return True

    def _show_results(self, lesson: Lesson) -> None:
        pane = self.query_one(ResultsPane)
        outcome = self.state.outcomes.get(lesson.id)
        if lesson.id in self.state.errors:
            pane.show_message(f"! The run could not be done: {self.state.errors[lesson.id]}")
        elif outcome is not None:
            chart = bars_for(lesson.slug, outcome.recording)
            pane.show_report(outcome.report, explanation(outcome), chart)
        elif reason := unsupported_reason(lesson, self.state.host):
            pane.show_message(
                f"⊘ This machine cannot run this lesson: {reason}. Press v to run it in a VM."
            )
        else:
            pane.show_message(NO_RESULTS)

    def _show_hints(self, lesson: Lesson) -> None:
        hints = self.session.hints(lesson)
        if not lesson.hints:
            text = "This lesson has no hints."
        else:
            lines = [f"Hint {i + 1}/{hints.total}: {text}" for i, text in enumerate(hints.shown)]
            left = hints.total - len(hints.shown)
            lines.append(
                f"{left} more hint(s): press h to reveal the next one."
                if left
                else "That was the last hint; the solution (s) unlocks once the lesson passes."
            )
            text = "\n\n".join(lines)
        self.query_one("#hints-text", Static).update(text)

    def _status_text(self) -> str:
        if self.state.running is None:
            return "Idle."
        elapsed = time.monotonic() - self.state.run_started
        step, phase = self._step
        parts = [
            f"{self.state.running}{self.state.running_where}",
            f"{step} {phase}" if step else "starting",
            f"{elapsed:.1f} s",
            f"{self.buffer.seen:,} lines",
        ]
        if self.buffer.dropped:
            parts.append(f"{self.buffer.dropped:,} not drawn")
        return " · ".join(parts)

    def _flush_output(self) -> None:
        """Timer: move buffered probe lines into the Log in one batch."""
        batch = self.buffer.drain()
        if batch:
            self.query_one("#output-log", Log).write_lines(batch)
        if self.state.running is not None:
            self.query_one(RunStatus).show(self._status_text(), running=True)

    # ------------------------------------------------------------ workers (no widgets)

    def _session_warning(self, text: str) -> None:
        self.post_message(SessionNotice(text))  # thread-safe: the handler notifies

    def _detect_host(self) -> None:
        try:
            facts = self.session.host()
        except Exception as exc:  # reported, not raised: the app stays usable
            self.post_message(HostDetected(None, f"could not detect host facts: {exc}"))
        else:
            self.post_message(HostDetected(facts))

    def _run_session(self, vm: bool, lesson: Lesson, probe: Path) -> None:
        push = self.buffer.push

        def on_line(step: str, line: Any) -> None:
            push(f"{step}{'!' if line.stream == 'err' else ':'} {line.text}")

        def on_event(step: str, phase: str) -> None:
            self._step = (step, phase)  # one atomic assignment; the UI timer reads it

        try:
            outcome = self.session.check(
                lesson,
                probe,
                vm="on" if vm else "off",
                refuse_unsupported=False,  # the report says "unsupported"; v is the way out
                save_progress=False,  # recorded by on_run_finished, on the app's thread
                on_line=on_line,
                on_event=on_event,
                on_progress=vm_progress_lines(on_line, on_event),
            )
        except Exception as exc:  # a session failure becomes a message, not a crash
            self.post_message(RunFailed(lesson.id, str(exc) or type(exc).__name__))
        else:
            self.post_message(RunFinished(lesson.id, outcome))

    def _start_watch(self) -> None:
        self._stop_watch()
        lesson = self.lesson
        folder = self.workspace.probe_path(lesson).parent
        stop = threading.Event()
        self._watch_stop = stop

        def saved() -> None:
            self.post_message(ProbeSaved(lesson.id))

        def watch() -> None:
            try:
                watch_saves(folder, self.workspace.probe_path(lesson).name, stop, saved)
            except Exception as exc:
                if not stop.is_set():
                    self.post_message(WatchFailed(lesson.id, str(exc)))

        self.run_worker(watch, thread=True, group="watch", exclusive=True, name="watch")
        if self.idle_notice_after > 0:
            self.set_timer(self.idle_notice_after, partial(self._idle_notice, lesson.id, stop))

    def _stop_watch(self) -> None:
        if self._watch_stop is not None:
            self._watch_stop.set()
            self._watch_stop = None

    def _idle_notice(self, lesson_id: str, stop: threading.Event) -> None:
        if stop.is_set() or self.state.saves_seen or self.state.running:
            return
        folder = self.workspace.probe_path(self.lesson).parent
        self.notify(
            f"No save of probe.py seen in {folder} yet; save your file there, "
            "or press r to run the checks by hand.",
            title="Watch mode",
            timeout=10,
        )

    # ------------------------------------------------------------ message handlers

    def on_session_notice(self, message: SessionNotice) -> None:
        self.notify(message.text, severity="warning", timeout=10)

    def on_host_detected(self, message: HostDetected) -> None:
        if message.error:
            self.notify(message.error, severity="warning", timeout=10)
        self.state.host = message.facts
        self._refresh_lessons()
        self._show_results(self.lesson)
        if isinstance(self.screen, DoctorScreen):
            self.screen.show(self._doctor_text())

    def on_probe_saved(self, message: ProbeSaved) -> None:
        if message.lesson_id != self.lesson.id or not self.watching:
            return
        self.state.saves_seen += 1
        self.action_run()

    def on_watch_failed(self, message: WatchFailed) -> None:
        self.notify(
            f"Watch mode stopped ({message.error}); press r to run the checks.",
            severity="warning",
        )

    def on_run_finished(self, message: RunFinished) -> None:
        self._flush_output()
        report = message.outcome.report
        assert report is not None  # the app always scores
        self.state.outcomes[message.lesson_id] = message.outcome
        if message.outcome.recording.host.get("features"):
            self.state.host = message.outcome.recording.host  # the facts the run used
        self.state.errors.pop(message.lesson_id, None)
        try:
            self.session.record_result(report)
        except ProgressError as exc:  # one sentence
            self.notify(str(exc), title="Progress not saved", severity="error", timeout=10)
        self._end_run(f"Finished: {summary_line(report)}")
        if message.lesson_id == self.lesson.id:
            self._show_results(self.lesson)
            self.query_one(TabbedContent).active = "results"
        self.notify(
            summary_line(report), severity="information" if report.status == "pass" else "error"
        )

    def on_run_failed(self, message: RunFailed) -> None:
        self._flush_output()
        self.state.errors[message.lesson_id] = message.error
        self._end_run(f"The run could not be done: {message.error}")
        if message.lesson_id == self.lesson.id:
            self._show_results(self.lesson)
        self.notify(message.error, title="Run failed", severity="error", timeout=10)

    def _end_run(self, text: str) -> None:
        self.state.running = None
        self.query_one(RunStatus).show(f"{text} ({self.buffer.seen:,} lines)", running=False)
        self._refresh_lessons()
        if self.state.rerun_pending:
            self.state.rerun_pending = False
            self.action_run()

    async def on_results_pane_section_wanted(self, message: ResultsPane.SectionWanted) -> None:
        await self.show_heading(message.section)

    async def show_heading(self, heading: str) -> None:
        """Open the lesson text at `heading` (a check's `section:`)."""
        found = locate(self.sections, heading)
        if found is None:
            self.notify(f"The lesson text has no section {heading!r}.", severity="warning")
            return
        index, position = found
        self.state.section_index = index
        await self.query_one(LessonText).show_section(self.sections, index, position)
        self.query_one(TabbedContent).active = "lesson"

    @on(OptionList.OptionSelected, "#lessons")
    async def _lesson_chosen(self, event: OptionList.OptionSelected) -> None:
        ids = [lesson.id for lesson in self.course.lessons]
        if event.option.id in ids and ids.index(event.option.id) != self.state.lesson_index:
            await self._open_lesson(ids.index(event.option.id))

    # ------------------------------------------------------------ actions

    def action_run(self) -> None:
        self._start_run(False)

    def action_run_vm(self) -> None:
        """The same checks inside a stock-kernel VM (for kprobe lessons)."""
        self._start_run(True)

    def _start_run(self, vm: bool) -> None:
        lesson = self.lesson
        if self.state.running is not None:
            self.state.rerun_pending = True
            self.notify("A run is under way; the checks will run again when it ends.")
            return
        probe = self.workspace.probe_path(lesson)
        if not probe.is_file() and not self._ensure_workspace(lesson):
            return
        if not self._privileges_ready():
            return
        self.state.running = lesson.id
        self.state.running_where = " in a VM" if vm else ""
        self.state.run_started = time.monotonic()
        self.state.errors.pop(lesson.id, None)
        self.buffer.reset()
        self._step = ("", "")
        self.query_one("#output-log", Log).clear()
        self.query_one(RunStatus).show(self._status_text(), running=True)
        self.query_one(TabbedContent).active = "output"
        self._refresh_lessons()
        self.run_worker(
            partial(self._run_session, vm, lesson, probe), thread=True, group="run", name="run"
        )

    def _privileges_ready(self) -> bool:
        """Let sudo ask for a password on the real terminal (the TUI itself
        never runs as root); False when that is impossible or refused."""
        if not self.needs_password():
            return True
        try:
            with self.suspend():
                print("The probe runs with sudo; enter your password to continue.")
                ok = sudo.refresh_sudo()
        except Exception:  # SuspendNotSupported in headless or web drivers
            ok = False
        if not ok:
            self.notify(
                "The probe needs root: run `sudo -v` in a terminal, then press r again.",
                severity="error",
                timeout=10,
            )
        return ok

    async def action_next_lesson(self) -> None:
        if self.state.lesson_index + 1 < len(self.course.lessons):
            await self._open_lesson(self.state.lesson_index + 1)

    async def action_previous_lesson(self) -> None:
        if self.state.lesson_index > 0:
            await self._open_lesson(self.state.lesson_index - 1)

    async def action_section(self, step: int) -> None:
        index = self.state.section_index + step
        if 0 <= index < len(self.sections):
            self.state.section_index = index
            await self.query_one(LessonText).show_section(self.sections, index)
            self.query_one(TabbedContent).active = "lesson"

    async def action_next_section(self) -> None:
        await self.action_section(1)

    async def action_previous_section(self) -> None:
        await self.action_section(-1)

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab

    def action_hint(self) -> None:
        lesson = self.lesson
        try:
            hints = self.session.hint(lesson)
        except ProgressError as exc:
            self.notify(str(exc), title="Progress not saved", severity="error", timeout=10)
        else:
            if not lesson.hints:
                self.notify("This lesson has no hints.")
            elif not hints.revealed:
                self.notify("All hints are shown; the solution (s) unlocks once the lesson passes.")
        self._show_hints(lesson)
        self.query_one(TabbedContent).active = "hints"

    def action_solution(self) -> None:
        lesson = self.lesson
        gate = self.session.solution(lesson)
        if gate.refusal == "locked":
            self.notify(
                "The reference solution unlocks once this lesson passes: press r to run the checks."
            )
        elif gate.text is None:
            self.notify(gate.reason, severity="warning")
        else:
            self.push_screen(SolutionScreen(lesson.title, gate.text))

    def action_doctor(self) -> None:
        self.push_screen(DoctorScreen(self._doctor_text() if self.state.host else None))

    def _doctor_text(self) -> str:
        try:
            text = self.session.doctor_text(self.state.host or {})
        except Exception as exc:
            return f"Could not format the host facts: {exc}"
        tested = self.session.tested_on()
        if tested is not None:  # the kernels the lessons passed on, as `course doctor` says
            from runner.present.doctor import tested_on_lines

            release = self.session.running_release(self.state.host)
            ids = [lesson.id for lesson in self.course.lessons]
            text += "\n\n" + "\n".join(tested_on_lines(tested, ids, release))
        return text

    def action_edit(self) -> None:
        probe = self.workspace.probe_path(self.lesson)
        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        try:
            with self.suspend():
                subprocess.run([*shlex.split(editor), str(probe)], check=False)
        except FileNotFoundError:
            self.notify(f"Editor {editor!r} not found: set $EDITOR.", severity="error")
        except Exception:  # SuspendNotSupported
            self.notify(f"Cannot open an editor here; edit {probe} in another window.")

    def action_toggle_watch(self) -> None:
        self.watching = not self.watching
        if self.watching:
            self._start_watch()
        else:
            self._stop_watch()
        self._refresh_header()
        self.notify("Watch mode on." if self.watching else "Watch mode off: r runs the checks.")

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def action_help(self) -> None:
        if self.screen.query("HelpPanel"):
            self.action_hide_help_panel()
        else:
            self.action_show_help_panel()

    async def action_quit(self) -> None:
        if self.state.running is not None and not self._quit_asked:
            self._quit_asked = True
            self.notify(
                "A run is under way: press q again to stop its probe and quit.",
                severity="warning",
            )
            return
        if self.state.running is not None:
            self.session.cancel()  # the worker's probe gets SIGINT, TERM, KILL; nothing survives
        self._stop_watch()
        self.exit()

    def on_unmount(self) -> None:
        self._stop_watch()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for index, lesson in enumerate(self.course.lessons):
            yield SystemCommand(
                f"Lesson {lesson.code}: {lesson.title}",
                f"Open lesson {lesson.id}",
                partial(self._open_lesson, index),
            )
        for index, section in enumerate(self.sections):
            yield SystemCommand(
                f"Section: {section.title}",
                "Show this section of the lesson text",
                partial(self.action_section, index - self.state.section_index),
            )
        yield SystemCommand("Run the checks", "Run the probe and grade it (r)", self.action_run)
        yield SystemCommand("Doctor", "What this machine can do (d)", self.action_doctor)


def build_app(
    course: Course,
    workspace: Workspace,
    *,
    watch: bool = True,
    session: Session | None = None,
    progress: Progress | None = None,
    start_lesson: str | None = None,
    idle_notice_after: float = 120.0,
    needs_password: Callable[[], bool] | None = None,
) -> CourseApp:
    """The one factory for `course start` and the tests.

    `session` defaults to the real one (runner.session.Session over this
    course and workspace); tests pass a Session whose `run_lesson` needs no
    root. `progress` defaults to the workspace's progress file; a corrupt
    one is moved aside and reported. `needs_password` defaults to the
    session's sudo readiness (the one that asks sudo for the root guard)."""
    notices: list[str] = []
    if progress is None and (session is None or not session.progress_loaded):
        progress, warning = Progress.load(workspace.progress_path)
        if warning:
            notices.append(str(warning))
    if session is None:
        session = Session(course, workspace, python=sys.executable)
    if progress is not None:
        session.progress = progress
    return CourseApp(
        course,
        workspace,
        session,
        watch=watch,
        idle_notice_after=idle_notice_after,
        needs_password=needs_password or session.needs_password,
        start_lesson=start_lesson,
        notices=notices,
    )
