"""`course ...`: the command line: argparse, rendering and exit codes over
runner.session (the application layer the TUI uses too). Imports no
Textual (only `course start` does, lazily). Exit codes: 0 all passed, 1 a
check failed, 2 usage or environment."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.model import Course, Lesson, Recording, Report
from runner.paths import COURSE_ENV, default_course
from runner.present import render
from runner.session import CheckOutcome, Session, SessionError, Unsupported

if TYPE_CHECKING:
    from runner.mutation import MutationReport

EXIT_OK, EXIT_FAILED, EXIT_ENV = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a command ended by SIGPIPE


class UsageError(Exception):
    """Something the user can fix; printed as one sentence, exit 2."""


# ---------------------------------------------------------------- helpers

VM_ADVICE = "run it with --vm to use a VM with a stock kernel"  # the CLI's way out


def _course(args: argparse.Namespace) -> Course:
    from runner.course.load import LoadError, load_course

    try:
        return load_course(Path(args.course))
    except LoadError as exc:
        problems = exc.errors or [exc]
        raise UsageError("\n".join(str(e) for e in problems)) from None


def _warn(text: str) -> None:
    _StepProgress.clear_current()
    print(f"warning: {text}", file=sys.stderr, flush=True)


def _session(args: argparse.Namespace, course: Course | None = None) -> Session:
    from runner.workspace import Workspace, default_root

    workspace = Workspace(Path(args.workspace) if args.workspace else default_root())
    return Session(course or _course(args), workspace, on_warning=_warn)


def _lesson(session: Session, key: str) -> Lesson:
    try:
        return session.lesson(key)
    except SessionError as exc:
        raise UsageError(str(exc)) from None


def _print_line(step: str, line) -> None:
    stream = sys.stdout if line.stream == "out" else sys.stderr
    print(f"[{step}] {line.text}", file=stream, flush=True)


def _print_vm_progress(message: str) -> None:
    _StepProgress.clear_current()
    print(f"[vm] {message}", file=sys.stderr, flush=True)


class _StepProgress:
    """`course check`'s live progress instead of the probe's whole output: on
    a terminal one line on stderr, rewritten in place with \\r (the step and
    how many lines it printed so far); otherwise a plain line when a step
    starts and now and then while it runs. The recording keeps every line."""

    TTY_INTERVAL = 0.1  # seconds between rewrites of the line
    PLAIN_INTERVAL = 10.0  # seconds between plain lines of one step
    current: _StepProgress | None = None

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        try:
            self.tty = self.stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self.step: str | None = None
        self.lines = 0
        self.last = 0.0
        self.dirty = False  # a \\r line is on screen
        _StepProgress.current = self

    def event(self, step: str, what: str) -> None:
        if step != self.step:
            self._begin(step)

    def line(self, step: str, _line: object) -> None:
        if step != self.step:
            self._begin(step)
        self.lines += 1
        self._show()

    def _begin(self, step: str) -> None:
        self.step, self.lines = step, 0
        self._show(force=True)

    def _show(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self.last < (self.TTY_INTERVAL if self.tty else self.PLAIN_INTERVAL):
            return
        self.last = now
        text = f"[{self.step}] running, {self.lines} {'line' if self.lines == 1 else 'lines'}"
        if self.tty:
            self.stream.write(f"\r\x1b[K{text}")
            self.dirty = True
        else:
            self.stream.write(f"{text}\n")
        self.stream.flush()

    def clear(self) -> None:
        if self.dirty:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self.dirty = False

    @classmethod
    def clear_current(cls) -> None:
        if cls.current is not None:
            cls.current.clear()

    def close(self) -> None:
        self.clear()
        if _StepProgress.current is self:
            _StepProgress.current = None


def _exit_for(report: Report) -> int:
    if report.status == "pass":
        return EXIT_OK
    if report.status == "unsupported":
        return EXIT_ENV
    return EXIT_FAILED


def _refusal_text(refusal: Unsupported) -> str:
    """The session's reason (no advice), plus the CLI's way out once."""
    return str(refusal) if refusal.no_bpf else f"{refusal}; {VM_ADVICE}."


# ---------------------------------------------------------------- commands


def cmd_doctor(args: argparse.Namespace) -> int:
    doctor = _session(args, course=_no_course(args)).doctor()
    if args.json:
        facts = {**doctor.facts, "tracefs_advice": doctor.tracefs_advice}
        print(json.dumps({**facts, "tested_on": doctor.tested_on_data}, indent=2, default=str))
    else:
        print(doctor.text)
        if doctor.tested_on:
            print("\n" + "\n".join(doctor.tested_on))
        if doctor.tracefs_advice:
            print(f"\nTo do: {doctor.tracefs_advice}")
    return EXIT_OK


def _no_course(args: argparse.Namespace | None = None) -> Course:
    """`course doctor` needs no lessons: an empty course, so a broken course
    folder does not hide what the machine can do (its folder is kept: the
    doctor reads its tested-on.yaml)."""
    return Course("", "", Path(getattr(args, "course", None) or "."), [])


def cmd_list(args: argparse.Namespace) -> int:
    session = _session(args)
    rows = session.lessons(session.host())
    if args.json:
        print(
            json.dumps(
                {"course": session.course.title, "lessons": [r.to_dict() for r in rows]}, indent=2
            )
        )
        return EXIT_OK
    print(session.course.title)
    width = max((len(row.meta_shown) for row in rows), default=0)
    # the same warning for every lesson (this kernel is newer than all of the
    # matrix's) is said once, after the list, not nine times
    warned = [row for row in rows if row.tested_warning]
    shared = len(warned) > 1 and all(
        (row.tested_warning or "").replace(row.id, "")
        == warned[0].tested_warning.replace(warned[0].id, "")
        for row in warned
    )
    for row in rows:
        note = (
            f"  ({row.unsupported_reason}; run it with --vm)"
            if row.status == "unsupported" and row.unsupported_reason
            else ""
        )
        meta = f"{row.meta_shown:<{width}} " if width else ""
        tested = f"  [{row.tested_on}]" if row.tested_on else ""
        print(f"  {row.id:<20} {row.shown_status:<12} {meta}{row.title}{tested}{note}")
        if row.tested_warning and not shared:
            print(f"  {'':<20} warning: {row.tested_warning}")
    if shared:
        first = warned[0]
        every = (first.tested_warning or "").replace(first.id, "each of these lessons")
        print(f"warning: {every}")
    return EXIT_OK


def _check_one(args: argparse.Namespace, *, score: bool) -> int:
    session = _session(args)
    lesson = _lesson(session, args.lesson)
    probe = None
    if args.file:
        probe = Path(args.file).resolve()
        if not probe.is_file():
            raise UsageError(f"There is no file {args.file}; give the path of your probe.py.")
    note = None
    if probe is None:
        probe = session.prepare(lesson)
        if session.starter_written:
            note = f"course: copied the starter of {lesson.id} to {probe}"
    quiet = getattr(args, "json", False) and score
    # `course run` and --verbose stream every line; `course check` shows progress.
    stream = (not score or getattr(args, "verbose", False)) and not quiet
    progress = None if stream or quiet else _StepProgress()
    on_line = _print_line if stream else progress.line if progress else None
    on_event = progress.event if progress else None
    on_line, on_event, on_progress = _announcing(note, on_line, on_event, _print_vm_progress)
    try:
        outcome = session.check(
            lesson,
            probe,
            vm=args.vm,
            score=score,
            save_progress=score and (not args.file or getattr(args, "save_progress", False)),
            on_line=on_line,
            on_event=on_event,
            on_progress=on_progress,
        )
    except Unsupported as refusal:
        raise UsageError(_refusal_text(refusal)) from None
    except SessionError as exc:
        raise UsageError(str(exc)) from None
    finally:
        if progress is not None:
            progress.close()
    if args.record:
        _write_recording(Path(args.record), outcome.recording)
    problem = outcome.env_error
    if outcome.report is None:
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return EXIT_ENV
        return EXIT_OK
    _show(outcome, args)
    if problem:
        return EXIT_ENV
    return _exit_for(outcome.report)


def _announcing(note: str | None, *callbacks: Callable | None) -> list[Callable | None]:
    """The callbacks, printing `note` (one line on stderr) before whichever
    runs first: said once the run begins, not before a refusal."""
    if note is None:
        return list(callbacks)
    pending = [note]

    def wrap(callback: Callable | None) -> Callable:
        def call(*args: object) -> None:
            if pending:
                _StepProgress.clear_current()
                print(pending.pop(), file=sys.stderr, flush=True)
            if callback is not None:
                callback(*args)

        return call

    return [wrap(callback) for callback in callbacks]


def _write_recording(path: Path, recording: Recording) -> None:
    try:
        path.write_text(json.dumps(recording.to_dict(), indent=1) + "\n")
    except OSError as exc:
        raise UsageError(
            f"Cannot write the recording to {path} ({exc.strerror}); pick a writable path."
        ) from None


def _show(outcome: CheckOutcome, args: argparse.Namespace) -> None:
    report = outcome.report
    assert report is not None
    if getattr(args, "json", False):
        print(
            json.dumps({**report.to_dict(), "explanations": outcome.notes}, indent=2, default=str)
        )
        return
    print(_report_text(report, verbose=getattr(args, "verbose", True)))
    if report.status == "unsupported" and report.where == "host":
        print(f"This kernel cannot run every step: {VM_ADVICE}.")
    if outcome.notes:
        from runner.present.notes import format_notes

        print(format_notes(outcome.notes))


def _report_text(report: Report, *, verbose: bool) -> str:
    """The verdict, then the failing checks; every check with --verbose."""
    if verbose:
        return render.report_text(report)
    failing = [c for c in report.checks if c.status != "pass"]
    text = render.report_text(dataclasses.replace(report, checks=failing))
    passed = len(report.checks) - len(failing)
    return text + (
        f"\n{passed} of {len(report.checks)} checks passed; --verbose lists every check."
        if failing
        else f" ({len(report.checks)} checks; --verbose lists them)"
    )


def cmd_check(args: argparse.Namespace) -> int:
    return _check_one(args, score=True)


def cmd_run(args: argparse.Namespace) -> int:
    args.json = False
    return _check_one(args, score=False)


def cmd_grade(args: argparse.Namespace) -> int:
    path = Path(args.recording)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("it is not a JSON object")
        if not isinstance(data.get("lesson", ""), str):
            raise ValueError("its 'lesson' is not a lesson id")
        recording = Recording.from_dict(data)
    except FileNotFoundError:
        raise UsageError(f"There is no file {path}; give the file `--record` wrote.") from None
    except OSError as exc:
        raise UsageError(f"Cannot read {path} ({exc.strerror}).") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        what = f"no {exc}" if isinstance(exc, KeyError) else str(exc).splitlines()[0]
        raise UsageError(
            f"{path} is not a recorded run ({what}); make one with `course check --record`."
        ) from None
    session = _session(args)
    if session.course.lesson(recording.lesson) is None:
        raise UsageError(
            f"{path} records lesson {recording.lesson!r}, which {session.course.dir} does not "
            "have; pass the course it came from with --course."
        )
    outcome = session.regrade(recording)
    _show(outcome, args)
    assert outcome.report is not None
    return _exit_for(outcome.report)


def cmd_test(args: argparse.Namespace) -> int:
    """pytest on the lesson's workspace tests, with the course's interpreter,
    from the lesson's folder; pytest's exit code."""
    import shlex
    import subprocess

    from runner.lesson_shell import test_argv

    session = _session(args)
    lesson = _lesson(session, args.lesson)
    if lesson.tests_dir is None:
        raise UsageError(f"{lesson.id} has no learner tests; `course check` checks it.")
    session.prepare(lesson)
    folder = session.workspace.lesson_dir(lesson)
    argv = test_argv(session.python, folder, list(args.pytest_args))
    shown = shlex.join(["python", *argv[1:]])
    print(f"course: running `{shown}` in {folder}", file=sys.stderr, flush=True)
    try:
        code = subprocess.call(argv, cwd=folder)
    except OSError as exc:
        raise UsageError(
            f"Cannot start the course's interpreter {argv[0]} ({exc.strerror}); run ./setup.sh."
        ) from None
    return code if code >= 0 else 128 - code  # a signal, as a shell reports it


def cmd_open(args: argparse.Namespace) -> int:
    """Open the lesson's probe in $VISUAL / $EDITOR; print its path."""
    import shlex
    import subprocess

    session = _session(args)
    lesson = _lesson(session, args.lesson)
    probe = session.prepare(lesson)
    print(probe, flush=True)
    editor = os.environ.get("VISUAL") or os.environ.get("EDITOR")
    if not editor:
        return EXIT_OK
    try:
        argv = shlex.split(editor)
    except ValueError as exc:
        raise UsageError(
            f"Cannot read the editor command {editor!r} ({exc}); fix $VISUAL/$EDITOR."
        ) from None
    if not argv:
        return EXIT_OK
    try:
        code = subprocess.call([*argv, str(probe)])
    except OSError as exc:
        raise UsageError(
            f"Cannot start the editor {argv[0]!r} ({exc.strerror}); fix $VISUAL/$EDITOR or "
            f"open {probe} yourself."
        ) from None
    return EXIT_OK if code == 0 else EXIT_ENV


def cmd_hint(args: argparse.Namespace) -> int:
    session = _session(args)
    lesson = _lesson(session, args.lesson)
    if not lesson.hints:
        print(f"{lesson.id} has no hints.")
        return EXIT_OK
    hints = session.hint(lesson)
    for i, text in enumerate(hints.shown):
        print(f"Hint {i + 1}/{hints.total}: {text}")
    if hints.all_shown:
        print("That was the last hint; `course solution` shows the reference once you pass.")
    return EXIT_OK


def cmd_solution(args: argparse.Namespace) -> int:
    session = _session(args)
    gate = session.solution(_lesson(session, args.lesson), force=args.force)
    if gate.refusal == "locked":
        print(f"{gate.reason[:-1]} (`course check`); add --force to see it now.", file=sys.stderr)
        return EXIT_FAILED
    if gate.text is None:
        raise UsageError(gate.reason)
    print(gate.text, end="")
    return EXIT_OK


def cmd_reset(args: argparse.Namespace) -> int:
    session = _session(args)
    lesson = _lesson(session, args.lesson)
    backup = session.reset(lesson)
    if backup:
        print(f"Restored the starter of {lesson.id}; your file was kept as {backup}.")
    else:
        print(f"Restored the starter of {lesson.id}.")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    session = _session(args)
    lessons = [_lesson(session, key) for key in args.lesson] if args.lesson else None
    if args.kernels:
        return _validate_kernels(args, session, lessons)
    if args.record:
        raise UsageError("--record writes the kernel matrix's results: use it with --kernels.")

    # progress goes to stderr even under --json (stdout holds the JSON): a
    # run that stalls must show where
    def on_case(key: str) -> None:
        print(f"{key} ...", file=sys.stderr, flush=True)

    def on_mutant(text: str) -> None:
        print(f"[mutants] {text}", file=sys.stderr, flush=True)

    try:
        gate = None
        if args.mutants:  # one VM boot carries validate's cases and the gate's mutants
            outcomes, gate = session.validate_with_mutants(
                lessons,
                vm=args.vm,
                on_case=on_case,
                on_progress=_print_vm_progress,
                on_mutant=on_mutant,
                kinds=_case_kinds(args),
                vm_sample=args.vm_mutants,
            )
        else:
            outcomes = session.validate(
                lessons,
                vm=args.vm,
                on_case=on_case,
                on_progress=_print_vm_progress,
                kinds=_case_kinds(args),
            )
    except SessionError as exc:
        raise UsageError(str(exc)) from None
    return _report_validation(args, outcomes, gate)


def _case_kinds(args: argparse.Namespace) -> frozenset[str]:
    from runner.validate import CASE_KINDS

    chosen = frozenset(k.strip() for k in (args.cases or ",".join(CASE_KINDS)).split(","))
    unknown = sorted(chosen - CASE_KINDS)
    if unknown:
        raise UsageError(f"--cases takes solution, starter and wrong, not {', '.join(unknown)}.")
    return chosen


def _validate_kernels(
    args: argparse.Namespace, session: Session, lessons: list[Lesson] | None
) -> int:
    """`--kernels`: the author gate on each kernel, as a learner (runner.session.matrix)."""
    from runner.live.kernels import KernelError, resolve_kernels
    from runner.session.matrix import as_tested_on, validate_kernels
    from runner.validate import CASE_KINDS

    if args.mutants:
        raise UsageError(
            "--mutants runs as root in the default VM: run it without --kernels "
            "(`course validate --vm auto --mutants`)."
        )
    kinds = _case_kinds(args)
    if args.record and kinds != CASE_KINDS:
        raise UsageError(
            "--record says a lesson passed on a kernel only when all its cases behaved: "
            "drop --cases."
        )
    try:
        names = [kernel.name for kernel in resolve_kernels(args.kernels)]
    except KernelError as exc:
        raise UsageError(str(exc)) from None

    def progress(kernel: str, message: str) -> None:  # stderr: --json owns stdout
        _StepProgress.clear_current()
        print(f"[{kernel}] {message}", file=sys.stderr, flush=True)

    runs = validate_kernels(session, names, lessons, kinds=kinds, on_progress=progress)
    failed = not all(run.ok for run in runs)
    if args.junit:
        suites = {
            f"{run.name}:{lid}": [(o.case, o.status, o.message) for o in items]
            for run in runs
            for lid, items in run.outcomes.items()
        }
        for run in runs:
            if run.error is not None:
                suites[f"{run.name}:boot"] = [("boot", "error", run.error)]
        Path(args.junit).write_text(render.junit_xml(suites))
    if args.record:
        chosen = lessons if lessons is not None else list(session.course.lessons)
        bcc = str(session.host().get("bcc_version") or "unknown")
        from runner.course.tested_on import TestedOnError, load_tested_on, write_tested_on

        try:
            earlier = load_tested_on(session.course.dir)
            record = as_tested_on(runs, [lesson.id for lesson in chosen], bcc, earlier=earlier)
            where = write_tested_on(session.course.dir, record)
        except TestedOnError as exc:
            raise UsageError(str(exc)) from None
        if not args.json:
            print(f"Wrote {where}.", file=sys.stderr)
    if args.json:
        payload = {
            "status": "fail" if failed else "pass",
            "kernels": {run.name: run.to_json() for run in runs},
        }
        print(json.dumps(payload, indent=2))
        return EXIT_FAILED if failed else EXIT_OK
    for run in runs:
        print(f"== kernel {run.name} ({run.release or 'not booted'}), {run.seconds:.0f} s")
        if run.error is not None:
            print(f"{render.SYMBOL.get('error', '?')} ERROR       {run.error}")
        for lid, items in run.outcomes.items():
            for o in items:
                print(
                    f"{render.SYMBOL.get(o.status, '?')} {o.status.upper():<11} "
                    f"{lid} {o.case}: {o.message}"
                )
    for run in runs:
        good, bad, skipped = run.counts()
        state = f"could not run: {run.error}" if run.error else f"{bad} failed"
        print(f"{run.name}: {good} passed, {state}, {skipped} unsupported ({run.seconds:.0f} s)")
    return EXIT_FAILED if failed else EXIT_OK


def _report_validation(
    args: argparse.Namespace, outcomes: dict[str, list], gate: MutationReport | None = None
) -> int:
    bad = [
        (lid, o) for lid, items in outcomes.items() for o in items if o.status in ("fail", "error")
    ]
    failed = bool(bad) or (gate is not None and not gate.ok)
    if args.junit:
        suites = {
            lid: [(o.case, o.status, o.message) for o in items] for lid, items in outcomes.items()
        }
        if gate is not None:
            suites.update(gate.junit_suites())
        Path(args.junit).write_text(render.junit_xml(suites))
    if args.json:
        payload: dict[str, Any] = {
            "status": "fail" if failed else "pass",
            "lessons": {lid: [o.__dict__ for o in items] for lid, items in outcomes.items()},
        }
        if gate is not None:
            payload["mutants"] = gate.to_json()
        print(json.dumps(payload, indent=2))
        return EXIT_FAILED if failed else EXIT_OK
    else:
        for lid, items in outcomes.items():
            for o in items:
                print(
                    f"{render.SYMBOL.get(o.status, '?')} {o.status.upper():<11} "
                    f"{lid} {o.case}: {o.message}"
                )
        unsupported = sum(
            1 for items in outcomes.values() for o in items if o.status == "unsupported"
        )
        total = sum(len(items) for items in outcomes.values())
        print(
            f"{total - len(bad) - unsupported} passed, {len(bad)} failed, "
            f"{unsupported} unsupported here"
            + (
                "; `course validate --vm` runs those in a VM with a stock kernel"
                if unsupported
                else ""
            )
        )
        if gate is not None:
            print(gate.text())
    return EXIT_FAILED if failed else EXIT_OK


def cmd_start(args: argparse.Namespace) -> int:
    session = _session(args)
    from runner.tui.app import build_app

    start = _lesson(session, args.lesson).id if args.lesson else None
    app = build_app(session.course, session.workspace, watch=not args.no_watch, start_lesson=start)
    app.run()
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    from runner.serve import PortUnavailable, build_server, check_port, start_command

    try:
        check_port(args.host, args.port)
    except PortUnavailable as exc:
        raise UsageError(str(exc)) from None
    server = build_server(start_command(args.course, args.workspace), args.host, args.port)
    print(f"Serving the course at {server.public_url} (Ctrl+C to stop)", flush=True)
    try:
        server.serve()
    except OSError as exc:  # lost the port between the check and the bind
        raise UsageError(f"Cannot serve on {args.host}:{args.port} ({exc.strerror}).") from None
    return EXIT_OK


# ---------------------------------------------------------------- authoring (W12)


def cmd_new(args: argparse.Namespace) -> int:
    from runner.course.scaffold import ScaffoldError, new_lesson

    try:
        made = new_lesson(Path(args.course), args.lesson_id, from_lesson=args.from_lesson)
    except ScaffoldError as exc:
        raise UsageError(str(exc)) from None
    source = f" from {args.from_lesson}" if args.from_lesson else ""
    print(f"Created lesson {made.lesson_id}{source} in {Path(args.course).resolve()}:")
    for rel in made.files:
        print(f"  {rel}")
    if made.course_yaml_line:
        print(f"Added it to course.yaml's lessons (line {made.course_yaml_line}).")
    number = made.lesson_id[:2]
    print(f"Next: `course lint {number}`, then `course validate --lesson {number}`.")
    return EXIT_OK


def cmd_lint(args: argparse.Namespace) -> int:
    from runner.course.lint import CourseUnreadable, lint

    try:
        report = lint(Path(args.course), args.lessons or None)
    except CourseUnreadable as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for problem in report.problems:
            print(problem)
        count = len(report.problems)
        lessons = len(report.lessons)
        verdict = "no problems" if not count else f"{count} problem{'s' * (count != 1)}"
        print(f"{verdict} in {lessons} lesson{'s' * (lessons != 1)}. {report.not_checked}")
    return EXIT_OK if report.ok else EXIT_FAILED


def cmd_report(args: argparse.Namespace) -> int:
    from runner.report import ReportError, class_report, render_csv, render_html, render_table

    course = _course(args)
    if args.autograding:
        from runner.report import autograding

        chosen = None
        if args.lesson:
            chosen = [_lesson(_session(args, course), key) for key in args.lesson]
        try:
            print(json.dumps(autograding([Path(p) for p in args.paths], course, chosen)))
        except ReportError as exc:
            raise UsageError(str(exc)) from None
        return EXIT_OK
    try:
        rows = class_report([Path(p) for p in args.paths], course)
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    if args.html:
        try:
            Path(args.html).write_text(render_html(rows), encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"Cannot write {args.html} ({exc.strerror}).") from None
    if args.json:
        print(json.dumps({"version": 1, "rows": [r.to_dict() for r in rows]}, indent=2))
    elif args.csv:
        sys.stdout.write(render_csv(rows))
    elif not args.html:
        print(render_table(rows))
    return EXIT_OK


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    def common_options(suppress: bool) -> argparse.ArgumentParser:
        # Sub-commands suppress defaults so `course --course X check 06` keeps X.
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument(
            "--course",
            default=argparse.SUPPRESS if suppress else str(default_course()),
            metavar="DIR",
            help=f"the course folder (default: ${COURSE_ENV}, else the course shipped with "
            "this repository)",
        )
        common.add_argument(
            "--workspace",
            default=argparse.SUPPRESS if suppress else None,
            metavar="DIR",
            help="your files and progress (default: $EBPF_COURSE_WORKSPACE or ~/ebpf-course)",
        )
        return common

    parser = argparse.ArgumentParser(
        prog="course",
        description="Learn eBPF tracing with bcc: lessons whose probes are checked "
        "against what the kernel really did.",
        parents=[common_options(False)],
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def add(name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(
            name, help=help_text, description=help_text, parents=[common_options(True)]
        )
        p.set_defaults(func=func)
        return p

    p = add("start", cmd_start, "open the course in the terminal UI")
    p.add_argument("--no-watch", action="store_true", help="do not re-run checks on save")
    p.add_argument("--lesson", metavar="ID", help="open at this lesson (id, number or slug)")

    p = add("serve", cmd_serve, "open the same terminal UI in a browser, for workshops")
    p.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: only this machine; the UI runs "
        "probes as root)",
    )
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")

    p = add("doctor", cmd_doctor, "report what this machine can do, by trying")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    p = add("list", cmd_list, "list the lessons and your progress")
    p.add_argument("--json", action="store_true", help="machine-readable output")

    vm_help = "run in a stock-kernel VM: on, off, or auto (only lessons this kernel cannot run)"
    for name, func, text in (
        ("check", cmd_check, "run your probe with the lesson's workload and score it"),
        ("run", cmd_run, "run your probe with the lesson's workload, without scoring"),
    ):
        p = add(name, func, text)
        p.add_argument("lesson", help="lesson id, number or slug (e.g. 06)")
        p.add_argument("--file", metavar="PATH", help="probe file (default: your workspace copy)")
        p.add_argument("--record", metavar="FILE", help="save the recorded run as JSON")
        p.add_argument(
            "--vm",
            choices=("off", "on", "auto"),
            default="off",
            nargs="?",
            const="on",
            help=vm_help,
        )
        if name == "check":
            p.add_argument("--json", action="store_true", help="print the report as JSON")
            p.add_argument(
                "--verbose",
                "-v",
                action="store_true",
                help="stream the probe's whole output and list every check",
            )
            p.add_argument(
                "--save-progress",
                action="store_true",
                help="record the result in your progress even with --file",
            )

    p = add("grade", cmd_grade, "re-score a recorded run (no root, no BPF)")
    p.add_argument("recording", help="a file written by `course check --record`")
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = add(
        "test",
        cmd_test,
        "run the lesson's learner tests (pytest, with the course's interpreter)",
    )
    p.add_argument("lesson", help="lesson id, number or slug (e.g. 06)")
    p.add_argument(
        "pytest_args",
        nargs=argparse.REMAINDER,
        metavar="PYTEST ARGS",
        help="passed on to pytest (e.g. -k format -x)",
    )
    p = add("open", cmd_open, "open your probe of a lesson in $VISUAL / $EDITOR")
    p.add_argument("lesson", help="lesson id, number or slug (e.g. 06)")

    p = add("hint", cmd_hint, "show the next hint of a lesson")
    p.add_argument("lesson")
    p = add("solution", cmd_solution, "show the reference solution once the lesson passed")
    p.add_argument("lesson")
    p.add_argument("--force", action="store_true", help="show it even before passing")
    p = add("reset", cmd_reset, "restore the starter probe (your file is backed up)")
    p.add_argument("lesson")

    p = add(
        "validate",
        cmd_validate,
        "author gate: solutions pass, starters fail, wrong variants fail their check",
    )
    p.add_argument("--lesson", action="append", metavar="ID", help="only these lessons")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.add_argument("--junit", metavar="FILE", help="also write JUnit XML")
    p.add_argument(
        "--vm", choices=("off", "on", "auto"), default="off", nargs="?", const="on", help=vm_help
    )
    p.add_argument(
        "--mutants",
        action="store_true",
        help="also plant classic eBPF mistakes in each reference solution: every mutant "
        "must fail a check (docs/mutation.md)",
    )
    p.add_argument(
        "--vm-mutants",
        type=int,
        metavar="N",
        help="with --mutants, run at most N mutants of each lesson that runs in the VM, one "
        "operator after another (all of them take tens of minutes under emulation)",
    )
    p.add_argument(
        "--kernels",
        metavar="NAMES",
        help="validate every lesson in a VM of each kernel of kernels.yaml (e.g. 6.1,6.12,7.2 "
        "or all), one boot each, as an unprivileged learner with the README's sudo rule",
    )
    p.add_argument(
        "--cases",
        metavar="KINDS",
        help="only these cases: solution, starter, wrong, comma-separated (default: all)",
    )
    p.add_argument(
        "--record",
        action="store_true",
        help="with --kernels, write the results to the course's tested-on.yaml",
    )
    p = add("new", cmd_new, "author: scaffold a lesson that loads, lints and validates at once")
    p.add_argument("lesson_id", metavar="NN-slug", help="the new lesson's id, e.g. 09-ring-buffers")
    p.add_argument(
        "--from", dest="from_lesson", metavar="ID", help="copy this lesson's structure, renamed"
    )
    p = add("lint", cmd_lint, "author: find mistakes in lessons in seconds, without a probe run")
    p.add_argument("lessons", nargs="*", metavar="LESSON", help="only these (default: all)")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = add("report", cmd_report, "instructor: one row per learner and lesson of a class")
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="learners' workspaces or `--record` files"
    )
    fmt = p.add_mutually_exclusive_group()
    fmt.add_argument("--json", action="store_true", help="machine-readable output")
    fmt.add_argument("--csv", action="store_true", help="comma-separated values")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page")
    fmt.add_argument(
        "--autograding",
        action="store_true",
        help="GitHub Classroom's autograding results of the latest recording of each lesson",
    )
    p.add_argument(
        "--lesson", action="append", metavar="ID", help="with --autograding: the lessons graded"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from runner.progress import ProgressError
    from runner.workspace import WorkspaceError

    try:
        return args.func(args)
    except (UsageError, ProgressError, WorkspaceError) as exc:
        if getattr(args, "json", False):  # a script reading stdout gets JSON here too
            print(json.dumps({"status": "error", "error": str(exc)}))
        print(f"course: {exc}", file=sys.stderr)
        return EXIT_ENV
    except KeyboardInterrupt:
        print("course: interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`course list | head`): stop quietly, and keep
        # Python from failing again while it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


if __name__ == "__main__":
    sys.exit(main())
