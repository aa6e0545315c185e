"""`course ...`: the command line. Imports no Textual (only `course start` does,
lazily). Exit codes: 0 all passed, 1 a check failed, 2 usage or environment."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.model import Course, Lesson, Recording, Report
from runner.paths import DEFAULT_COURSE
from runner.present import render

EXIT_OK, EXIT_FAILED, EXIT_ENV = 0, 1, 2
EXIT_BROKEN_PIPE = 128 + 13  # what a shell reports for a command ended by SIGPIPE


class UsageError(Exception):
    """Something the user can fix; printed as one sentence, exit 2."""


# ---------------------------------------------------------------- helpers


def _course(args: argparse.Namespace) -> Course:
    from runner.course.load import LoadError, load_course

    try:
        return load_course(Path(args.course))
    except LoadError as exc:
        problems = exc.errors or [exc]
        raise UsageError("\n".join(str(e) for e in problems)) from None


def _lesson(course: Course, key: str) -> Lesson:
    lesson = course.lesson(key)
    if lesson is None:
        raise UsageError(f"There is no lesson {key!r}; `course list` shows the lessons.")
    return lesson


def _workspace(args: argparse.Namespace):
    from runner.workspace import Workspace, default_root

    return Workspace(Path(args.workspace) if args.workspace else default_root())


def _progress(workspace):
    from runner.progress import Progress

    progress, warning = Progress.load(workspace.progress_path)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return progress


def _host(workspace, *, try_attach: bool = True) -> dict[str, Any]:
    from runner.live.host import detect

    return detect(try_attach=try_attach, cache_dir=workspace.cache_dir)


def _unsupported_reason(lesson: Lesson, host: dict[str, Any]) -> str | None:
    features = host.get("features", {})
    for need in lesson.requires:
        state = features.get(need)
        if state is not None and not state.get("ok"):
            return state.get("reason") or f"this kernel cannot do {need}"
    return None


def _refuse_unsupported(lesson: Lesson, host: dict[str, Any]) -> None:
    """Say "use --vm" up front rather than run a lesson this kernel cannot do."""
    reason = _unsupported_reason(lesson, host)
    if not reason:
        return
    bpf = host.get("features", {}).get("bpf") or {}
    if bpf and not bpf.get("ok"):  # nothing loads at all: privileges, not the kernel
        raise UsageError(f"Cannot load BPF programs here: {bpf.get('reason') or reason}.")
    raise UsageError(
        f"{lesson.id} needs {', '.join(lesson.requires)} and this kernel cannot do it "
        f"({_VM_ADVICE.sub('', reason)}); run it with --vm to use a VM with a stock kernel."
    )


# host.py's reasons may already end with this advice; the CLI adds its own.
_VM_ADVICE = re.compile(r"[;,.]?\s*run (?:the lesson|it) in a VM with --vm\.?$")


def _mount_tracefs() -> None:
    """bcc reads tracefs; mount it (as root) or say how, without stopping."""
    from runner.live.host import ensure_tracefs

    advice = ensure_tracefs()
    if advice:
        print(f"warning: {advice}", file=sys.stderr)


def _print_line(step: str, line) -> None:
    stream = sys.stdout if line.stream == "out" else sys.stderr
    print(f"[{step}] {line.text}", file=stream, flush=True)


def _run_here(
    lesson: Lesson,
    probe: Path,
    host: dict[str, Any],
    on_line: Callable | None = None,
    only: list[str] | None = None,
) -> Recording:
    from runner.live.execute import run_lesson

    return run_lesson(lesson, probe, python=sys.executable, host=host, on_line=on_line, only=only)


VmWork = tuple[str, Lesson, Path] | tuple[str, Lesson, Path, list[str] | None]


def _run_in_vm(course: Course, jobs: list[VmWork]) -> dict[str, Recording]:
    from runner.live import vm

    ok, reason = vm.vm_available()
    if not ok:
        raise UsageError(f"Cannot use the VM: {reason}")

    def progress(message: str) -> None:
        print(f"[vm] {message}", file=sys.stderr, flush=True)

    # The VM names result files after job keys, so they must be plain names.
    safe = {f"job-{i}": job[0] for i, job in enumerate(jobs)}
    vm_jobs = [
        vm.VmJob(f"job-{i}", job[1].id, job[2], job[3] if len(job) > 3 else None)
        for i, job in enumerate(jobs)
    ]
    try:
        found = vm.run_in_vm(course.dir, vm_jobs, python=sys.executable, on_progress=progress)
    except vm.VmError as exc:
        raise UsageError(str(exc)) from None
    return {safe[key]: recording for key, recording in found.items() if key in safe}


def _use_vm(mode: str, lesson: Lesson, host: dict[str, Any]) -> bool:
    return mode == "on" or (mode == "auto" and _unsupported_reason(lesson, host) is not None)


def _env_error(recording: Recording) -> str | None:
    """A runner-side problem (sudo, launch) rather than the learner's probe."""
    return next((r.error for r in recording.runs.values() if r.error), None)


def _exit_for(report: Report) -> int:
    if report.status == "pass":
        return EXIT_OK
    if report.status == "unsupported":
        return EXIT_ENV
    return EXIT_FAILED


# ---------------------------------------------------------------- commands


def cmd_doctor(args: argparse.Namespace) -> int:
    from runner.live.host import ensure_tracefs, format_doctor

    advice = ensure_tracefs()  # mounts tracefs/debugfs when root, else says how
    facts = _host(_workspace(args))
    if args.json:
        print(json.dumps({**facts, "tracefs_advice": advice}, indent=2, default=str))
    else:
        print(format_doctor(facts))
        if advice:
            print(f"\nTo do: {advice}")
    return EXIT_OK


def cmd_list(args: argparse.Namespace) -> int:
    course = _course(args)
    workspace = _workspace(args)
    progress = _progress(workspace)
    host = _host(workspace)
    rows = []
    for lesson in course.lessons:
        reason = _unsupported_reason(lesson, host)
        state = progress.state(lesson.id)
        status = state.status if state else "not-started"
        if reason and status != "passed":
            status = "unsupported"
        rows.append(
            {
                "id": lesson.id,
                "title": lesson.title,
                "status": status,
                "requires": lesson.requires,
                "unsupported_reason": reason,
                "score": state.score if state else 0,
                "max_score": lesson.max_score,
            }
        )
    if args.json:
        print(json.dumps({"course": course.title, "lessons": rows}, indent=2))
        return EXIT_OK
    print(course.title)
    for row in rows:
        note = (
            "  (run with --vm: " + row["unsupported_reason"] + ")"
            if (row["status"] == "unsupported")
            else ""
        )
        print(f"  {row['id']:<20} {row['status']:<12} {row['title']}{note}")
    return EXIT_OK


def _check_one(args: argparse.Namespace, *, score: bool) -> int:
    course = _course(args)
    lesson = _lesson(course, args.lesson)
    workspace = _workspace(args)
    if args.file:
        probe = Path(args.file).resolve()
        if not probe.is_file():
            raise UsageError(f"There is no file {args.file}; give the path of your probe.py.")
    else:
        probe = workspace.ensure(lesson)
    host = _host(workspace)
    quiet = getattr(args, "json", False)
    on_line = None if quiet and score else _print_line
    if _use_vm(args.vm, lesson, host):
        recording = _run_in_vm(course, [("job", lesson, probe)])["job"]
    else:
        if args.vm == "off":
            _refuse_unsupported(lesson, host)
        _mount_tracefs()
        recording = _run_here(lesson, probe, host, on_line)
    if args.record:
        _write_recording(Path(args.record), recording)
    problem = _env_error(recording)
    if not score:
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return EXIT_ENV
        return EXIT_OK
    from runner.grade import grade

    report = grade(lesson, recording)
    if not args.file or args.save_progress:
        progress = _progress(workspace)
        progress.record(report)
        progress.save()
    _show(report, args, _notes(report, recording))
    if problem:
        return EXIT_ENV
    return _exit_for(report)


def _write_recording(path: Path, recording: Recording) -> None:
    try:
        path.write_text(json.dumps(recording.to_dict(), indent=1) + "\n")
    except OSError as exc:
        raise UsageError(
            f"Cannot write the recording to {path} ({exc.strerror}); pick a writable path."
        ) from None


def _notes(report: Report, recording: Recording) -> list[dict[str, Any]]:
    """Plain-words reasons a failing probe failed (crash, bcc/clang errors)."""
    if report.status == "pass":
        return []
    from runner.present.notes import notes_for

    return notes_for(recording)


def _show(report: Report, args: argparse.Namespace, notes: list[dict[str, Any]]) -> None:
    if getattr(args, "json", False):
        print(json.dumps({**report.to_dict(), "explanations": notes}, indent=2, default=str))
        return
    print(render.report_text(report))
    if notes:
        from runner.present.notes import format_notes

        print(format_notes(notes))


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
    course = _course(args)
    lesson = course.lesson(recording.lesson)
    if lesson is None:
        raise UsageError(
            f"{path} records lesson {recording.lesson!r}, which {course.dir} does not have; "
            "pass the course it came from with --course."
        )
    from runner.grade import grade

    report = grade(lesson, recording)
    _show(report, args, _notes(report, recording))
    return _exit_for(report)


def cmd_hint(args: argparse.Namespace) -> int:
    lesson = _lesson(_course(args), args.lesson)
    if not lesson.hints:
        print(f"{lesson.id} has no hints.")
        return EXIT_OK
    workspace = _workspace(args)
    progress = _progress(workspace)
    total = len(lesson.hints)
    shown = min(progress.reveal_hint(lesson.id, total), total)
    progress.save()
    for i in range(shown):
        print(f"Hint {i + 1}/{total}: {lesson.hints[i]}")
    if shown == total:
        print("That was the last hint; `course solution` shows the reference once you pass.")
    return EXIT_OK


def cmd_solution(args: argparse.Namespace) -> int:
    lesson = _lesson(_course(args), args.lesson)
    progress = _progress(_workspace(args))
    state = progress.state(lesson.id)
    passed = bool(state and state.status == "passed")
    if not passed and not args.force:
        print(
            f"The reference solution of {lesson.id} is shown once the lesson passes "
            "(`course check`); add --force to see it now.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    if lesson.solution is None:
        raise UsageError(f"{lesson.id} has no reference solution.")
    print(lesson.solution.read_text(), end="")
    return EXIT_OK


def cmd_reset(args: argparse.Namespace) -> int:
    lesson = _lesson(_course(args), args.lesson)
    workspace = _workspace(args)
    backup = workspace.reset(lesson)
    if backup:
        print(f"Restored the starter of {lesson.id}; your file was kept as {backup}.")
    else:
        print(f"Restored the starter of {lesson.id}.")
    return EXIT_OK


def cmd_validate(args: argparse.Namespace) -> int:
    from runner.grade import grade
    from runner.validate import cases, judge, runs_for, source_only

    course = _course(args)
    lessons = [_lesson(course, key) for key in args.lesson] if args.lesson else course.lessons
    workspace = _workspace(args)
    host = _host(workspace)
    outcomes: dict[str, list] = {lesson.id: [] for lesson in lessons}
    vm_jobs: list[VmWork] = []
    by_key: dict[str, tuple[Lesson, Any]] = {}
    if args.vm != "on":
        _mount_tracefs()
    for lesson in lessons:
        in_vm = _use_vm(args.vm, lesson, host)
        for case in cases(lesson):
            key = f"{lesson.id}:{case.name}"
            steps = runs_for(lesson, case)
            if steps == []:  # its check reads only the source: nothing to run
                report = grade(lesson, source_only(lesson, case))
                outcomes[lesson.id].append(judge(lesson, case, report))
                continue
            if in_vm:
                vm_jobs.append((key, lesson, case.probe, steps))
                by_key[key] = (lesson, case)
                continue
            _progress_note(args, f"{key} ...")
            report = grade(lesson, _run_here(lesson, case.probe, host, only=steps))
            outcomes[lesson.id].append(judge(lesson, case, report))
    if vm_jobs:
        recordings = _run_in_vm(course, vm_jobs)
        for key, (lesson, case) in by_key.items():
            recording = recordings.get(key)
            if recording is None:
                from runner.validate import Outcome

                outcomes[lesson.id].append(
                    Outcome(case.name, "error", "the VM returned no recording for this case")
                )
                continue
            outcomes[lesson.id].append(judge(lesson, case, grade(lesson, recording)))
    return _report_validation(args, outcomes)


def _progress_note(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        print(text, file=sys.stderr, flush=True)


def _report_validation(args: argparse.Namespace, outcomes: dict[str, list]) -> int:
    bad = [
        (lid, o) for lid, items in outcomes.items() for o in items if o.status in ("fail", "error")
    ]
    if args.junit:
        suites = {
            lid: [(o.case, o.status, o.message) for o in items] for lid, items in outcomes.items()
        }
        Path(args.junit).write_text(render.junit_xml(suites))
    if args.json:
        print(
            json.dumps(
                {
                    "status": "fail" if bad else "pass",
                    "lessons": {
                        lid: [o.__dict__ for o in items] for lid, items in outcomes.items()
                    },
                },
                indent=2,
            )
        )
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
        )
    return EXIT_FAILED if bad else EXIT_OK


def cmd_start(args: argparse.Namespace) -> int:
    course = _course(args)
    workspace = _workspace(args)
    from runner.tui.app import build_app

    start = _lesson(course, args.lesson).id if args.lesson else None
    app = build_app(course, workspace, watch=not args.no_watch, start_lesson=start)
    app.run()
    return EXIT_OK


# ---------------------------------------------------------------- parser


def build_parser() -> argparse.ArgumentParser:
    def common_options(suppress: bool) -> argparse.ArgumentParser:
        # Sub-commands suppress defaults so `course --course X check 06` keeps X.
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument(
            "--course",
            default=argparse.SUPPRESS if suppress else str(DEFAULT_COURSE),
            metavar="DIR",
            help="the course folder (default: the course shipped with this repository)",
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
                "--save-progress",
                action="store_true",
                help="record the result in your progress even with --file",
            )

    p = add("grade", cmd_grade, "re-score a recorded run (no root, no BPF)")
    p.add_argument("recording", help="a file written by `course check --record`")
    p.add_argument("--json", action="store_true", help="print the report as JSON")

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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from runner.progress import ProgressError

    try:
        return args.func(args)
    except (UsageError, ProgressError) as exc:
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
