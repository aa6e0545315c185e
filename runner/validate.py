"""The author gate: the solution passes, the starter fails, and each known-wrong
variant fails the check it names. Checks that cannot fail are defects."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import checks
from checks.api import plural, shorten
from checks.exit import ending
from runner.model import Lesson, Recording, Report


@dataclass(frozen=True)
class Case:
    name: str  # "solution", "starter", "wrong/no-cast.py"
    probe: Path
    must_fail: str | None = None  # a check id, for wrong variants
    # a feature whose absence alone shows the mistake (`# shows-without: kprobes`)
    shows_without: str | None = None


@dataclass(frozen=True)
class CaseOutcome:
    case: str
    status: str  # pass (behaved as it must) | fail | error | unsupported
    message: str


@dataclass(frozen=True)
class CaseJob:
    """One case to run: `key` ("06-tracepoints:solution") names its recording."""

    key: str
    lesson: Lesson
    case: Case
    steps: list[str] | None  # run_lesson's `only`: None for every step
    # The starter only has to fail: its first step whose checks fail proves
    # it, and each later step is a compile (and a ready timeout for a starter
    # that never attaches), tens of seconds under emulation.
    stop_early: bool = False


# Runs jobs (here one at a time, or a batch in one VM boot): {job.key: Recording}.
RunJobs = Callable[[list[CaseJob]], dict[str, Recording]]
Grade = Callable[[Lesson, Recording], Report]


def cases(lesson: Lesson) -> list[Case]:
    found = []
    if lesson.solution:
        found.append(Case("solution", lesson.solution))
    found.append(Case("starter", lesson.starter))
    for variant in lesson.wrong:
        found.append(
            Case(
                f"wrong/{variant.path.name}",
                variant.path,
                variant.must_fail,
                variant.shows_without,
            )
        )
    return found


CASE_KINDS = frozenset({"solution", "starter", "wrong"})


def case_kind(case: Case) -> str:
    """solution, starter or wrong: what `--cases` selects."""
    return "wrong" if case.must_fail is not None else case.name


def runs_for(lesson: Lesson, case: Case) -> list[str] | None:
    """Which steps a case needs: all (None) for the solution and the starter;
    for a wrong variant only the step its named check reads, and none ([])
    when that check reads only the source. Each step is a compile: under
    emulation in a VM that is tens of seconds."""
    if case.must_fail is None:
        return None
    spec = next((c for c in lesson.checks if c.id == case.must_fail), None)
    if spec is None:
        return None
    kind = checks.get(spec.kind)
    if kind is not None and not kind.needs_run:
        return []
    return [spec.run]


def source_only(lesson: Lesson, case: Case) -> Recording:
    """The recording of a case that needs no step: just the probe's text."""
    source = case.probe.read_text(encoding="utf-8", errors="replace")
    return Recording(lesson=lesson.id, probe_path=str(case.probe), probe_source=source)


def _has_feature(host: dict | None, name: str) -> bool:
    found = ((host or {}).get("features") or {}).get(name)
    return bool(found and found.get("ok"))


def _step_said(lesson: Lesson, check_id: str, recording: Recording | None) -> str:
    """How the step a check reads ended, for a solution that fails it: the
    recording is not kept, so this is what is left to diagnose a failure that
    happens once in a run of the kernel matrix."""
    spec = next((c for c in lesson.checks if c.id == check_id), None)
    run = recording.runs.get(spec.run) if recording is not None and spec is not None else None
    if run is None:
        return ""
    sent = f", after the runner sent {'+'.join(run.signals_sent)}" if run.signals_sent else ""
    err = run.err()
    last = f"; its last stderr line: {shorten(err[-1])!r}" if err else "; nothing on stderr"
    return (
        f" (step {run.id!r}: {run.stop_reason or 'ended'}, {ending(run)}{sent}, "
        f"{plural(run.stdout_lines, 'stdout line')}{last})"
    )


def judge(
    lesson: Lesson,
    case: Case,
    report: Report,
    host: dict | None = None,
    recording: Recording | None = None,
) -> CaseOutcome:
    if report.status == "unsupported":
        reason = next((c.message for c in report.checks if c.status == "unsupported"), "")
        return CaseOutcome(case.name, "unsupported", reason)
    not_passed = [c for c in report.checks if c.status != "pass"]
    if case.name == "solution":
        if not not_passed:
            return CaseOutcome(case.name, "pass", f"passes all {len(report.checks)} checks")
        first = not_passed[0]
        return CaseOutcome(
            case.name,
            "fail",
            f"the reference solution does not pass {first.id!r}: {first.message}"
            + _step_said(lesson, first.id, recording),
        )
    if case.must_fail is None:  # the starter (run up to its first failing step)
        if not_passed or lesson.starter_may_pass:
            names = ", ".join(c.id for c in not_passed) or "none (allowed to pass)"
            return CaseOutcome(case.name, "pass", f"fails as it must: {names}")
        return CaseOutcome(case.name, "fail", "the untouched starter passes every check")
    target = next((c for c in report.checks if c.id == case.must_fail), None)
    if target is None:
        return CaseOutcome(case.name, "error", f"names check {case.must_fail!r}, which is not run")
    if target.status in ("fail", "error", "timeout"):
        return CaseOutcome(
            case.name, "pass", f"fails {case.must_fail!r} as it must ({target.status})"
        )
    if case.shows_without and _has_feature(host, case.shows_without):
        # e.g. guessing kprobes from the version: right wherever kprobes exist
        return CaseOutcome(
            case.name,
            "unsupported",
            f"its mistake shows only where {case.shows_without} are unavailable, "
            f"and this kernel has them (it passes {case.must_fail!r} here, as it may)",
        )
    return CaseOutcome(
        case.name,
        "fail",
        f"should fail {case.must_fail!r} but it {target.status}es: the check cannot "
        "catch this mistake",
    )


@dataclass
class Validation:
    """The author gate between its two halves: the cases this host ran, judged,
    and the batch left for the VM (`finish` judges that batch's recordings).
    Split so that one VM boot can also carry the mutation gate's jobs."""

    order: dict[str, list[str]]  # lesson id -> case keys in case order
    judged: dict[str, CaseOutcome]
    batch: list[CaseJob]
    grade: Grade

    def finish(self, recordings: dict[str, Recording]) -> dict[str, list[CaseOutcome]]:
        for job in self.batch:
            recording = recordings.get(job.key)
            self.judged[job.key] = (
                judge(
                    job.lesson,
                    job.case,
                    self.grade(job.lesson, recording),
                    recording.host,
                    recording,
                )
                if recording is not None
                else CaseOutcome(
                    job.case.name, "error", "the VM returned no recording for this case"
                )
            )
        return {lid: [self.judged[key] for key in keys] for lid, keys in self.order.items()}


def start_validation(
    lessons: Iterable[Lesson],
    *,
    run_here: RunJobs,
    in_vm: Callable[[Lesson], bool] = lambda _lesson: False,
    grade: Grade | None = None,
    on_case: Callable[[str], None] | None = None,
    kinds: frozenset[str] = CASE_KINDS,
) -> Validation:
    """The first half of `validate`: run and judge here the cases of lessons
    `in_vm` does not claim; collect the others as the VM's batch."""
    if grade is None:
        from runner.grade import grade
    pending = Validation({}, {}, [], grade)
    for lesson in lessons:
        pending.order[lesson.id] = []
        vm = in_vm(lesson)
        for case in cases(lesson):
            if case_kind(case) not in kinds:
                continue
            job = CaseJob(
                f"{lesson.id}:{case.name}",
                lesson,
                case,
                runs_for(lesson, case),
                stop_early=case.name == "starter",
            )
            pending.order[lesson.id].append(job.key)
            if job.steps == []:  # its check reads only the source: nothing to run
                pending.judged[job.key] = judge(
                    lesson, case, grade(lesson, source_only(lesson, case))
                )
            elif vm:
                pending.batch.append(job)
            else:
                if on_case is not None:
                    on_case(job.key)
                recording = run_here([job])[job.key]
                report = grade(lesson, recording)
                pending.judged[job.key] = judge(lesson, case, report, recording.host, recording)
    return pending


def validate(
    lessons: Iterable[Lesson],
    *,
    run_here: RunJobs,
    run_vm: RunJobs | None = None,
    in_vm: Callable[[Lesson], bool] = lambda _lesson: False,
    grade: Grade | None = None,
    on_case: Callable[[str], None] | None = None,
    kinds: frozenset[str] = CASE_KINDS,
) -> dict[str, list[CaseOutcome]]:
    """Run every case of every lesson and judge it: {lesson id: outcomes in
    case order}. Cases whose check reads only the source are not run; cases
    of lessons `in_vm` says go to `run_vm` in one batch at the end (one
    boot); the others run here one by one, `on_case(key)` before each.
    Only cases of `kinds` (case_kind) run."""
    pending = start_validation(
        lessons,
        run_here=run_here,
        in_vm=(lambda lesson: run_vm is not None and in_vm(lesson)),
        grade=grade,
        on_case=on_case,
        kinds=kinds,
    )
    recordings = run_vm(pending.batch) if pending.batch and run_vm is not None else {}
    return pending.finish(recordings)
