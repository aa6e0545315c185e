"""`Session`: one learner's course, every user action one method (see the
package docstring)."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runner.model import Course, Lesson, Line, Recording, Report
from runner.session.decide import (
    Grade,
    OnEvent,
    OnLine,
    OnProgress,
    OnWarning,
    RunInVm,
    RunLesson,
    SessionError,
    VmMode,
    lacked_privileges,
    missing_feature,
    needs_password,
    notes,
    unsupported,
    unsupported_reason,
    use_vm,
)
from runner.session.decide import doctor_text as _doctor_text
from runner.session.integrity import FilesBefore
from runner.session.results import CheckOutcome, Doctor, Hints, LessonRow, SolutionGate

if TYPE_CHECKING:
    from runner.course.tested_on import TestedOn
    from runner.mutation import MutationReport
    from runner.progress import Progress
    from runner.validate import CaseJob, CaseOutcome, Validation
    from runner.workspace import Workspace


_default_needs_password = needs_password  # the parameter of Session() shadows it


class Session:
    """One learner's course: the course, their workspace and progress, the
    host's facts (detected once, re-detected when they lacked root), and the
    runner. Methods may be called from a worker thread; progress changes
    are meant for one thread at a time (the TUI records results on its own
    thread through `record_result`)."""

    def __init__(
        self,
        course: Course,
        workspace: Workspace,
        *,
        python: str = sys.executable,
        progress: Progress | None = None,
        run_lesson: RunLesson | None = None,
        run_in_vm: RunInVm | None = None,
        grade: Grade | None = None,
        detect: Callable[..., dict[str, Any]] | None = None,
        needs_password: Callable[[], bool] | None = None,
        ensure_tracefs: Callable[[], str | None] | None = None,
        on_warning: OnWarning | None = None,
    ) -> None:
        self.course = course
        self.workspace = workspace
        self.python = python
        self._progress = progress
        self._run_lesson = run_lesson
        self._run_in_vm = run_in_vm
        self._grade = grade
        self._detect = detect
        self.needs_password = needs_password or _default_needs_password
        self._ensure_tracefs = ensure_tracefs
        self.on_warning = on_warning or (lambda _text: None)
        self._lock = threading.Lock()
        self._facts: dict[str, Any] | None = None
        self._tested: tuple[TestedOn | None, str | None] | None = None
        self.cancel_event = threading.Event()
        self._cleaned = False

    def clean_leftovers(self) -> None:
        """Once per session: end what a killed earlier run left (its probe,
        workload, temporary folders; runner.live.leftovers) and say so."""
        if self._cleaned or self._run_lesson is not None:
            return  # an injected runner (the tests') starts no probe, so has no leftovers
        self._cleaned = True
        from runner.live.leftovers import clean_leftovers

        said = clean_leftovers()
        if said:
            self.on_warning(said)
        self.starter_written = False  # the last prepare() copied the starter

    # ------------------------------------------------------------ lookups

    def lesson(self, key: str) -> Lesson:
        found = self.course.lesson(key)
        if found is None:
            raise SessionError(f"There is no lesson {key!r}; `course list` shows the lessons.")
        return found

    @property
    def progress(self) -> Progress:
        """The learner's progress, loaded on first use; a corrupt file is moved
        aside and reported through `on_warning`."""
        if self._progress is None:
            self.clean_leftovers()
            from runner.progress import Progress

            progress, warning = Progress.load(self.workspace.progress_path)
            if warning:
                self.on_warning(str(warning))
            self._progress = progress
        return self._progress

    def _progress_warning(self, warning: object) -> None:
        self.on_warning(str(warning))

    @progress.setter
    def progress(self, progress: Progress) -> None:
        self._progress = progress

    @property
    def progress_loaded(self) -> bool:
        return self._progress is not None

    def host(self, *, try_attach: bool = True) -> dict[str, Any]:
        """Host facts (runner.live.host.detect, cached per boot there). Facts
        gathered without root are re-detected once sudo is ready."""
        self.clean_leftovers()
        with self._lock:  # detection loads BPF programs to decide: once, if it can
            facts = self._facts
            if facts is None or (lacked_privileges(facts) and not self.needs_password()):
                facts = self._call_detect(try_attach)
                self._facts = facts
            return facts

    def _call_detect(self, try_attach: bool) -> dict[str, Any]:
        if self._detect is not None:
            return self._detect(try_attach=try_attach, cache_dir=self.workspace.cache_dir)
        from runner.live.host import detect

        return detect(try_attach=try_attach, cache_dir=self.workspace.cache_dir)

    def known_host(self) -> dict[str, Any] | None:
        """The facts detected so far, without detecting."""
        return self._facts

    def mount_tracefs(self) -> str | None:
        """bcc reads tracefs: mount it (as root) or say how. The one place
        check, validate and doctor do this; None when it is there."""
        if self._ensure_tracefs is not None:
            return self._ensure_tracefs()
        from runner.live.host import ensure_tracefs

        return ensure_tracefs()

    def _prepare_here(self) -> None:
        advice = self.mount_tracefs()
        if advice:
            self.on_warning(advice)

    def prepare(self, lesson: Lesson) -> Path:
        """The learner's copy of the lesson (Workspace.ensure) and its folder's
        `./course` launcher (runner.lesson_shell); returns the probe path.
        `starter_written` tells whether this call copied the starter."""
        from runner.lesson_shell import write_launcher

        self.starter_written = not os.path.lexists(self.workspace.probe_path(lesson))
        probe = self.workspace.ensure(lesson)
        try:
            write_launcher(self.workspace, lesson, python=self.python, course_dir=self.course.dir)
        except OSError as exc:  # the launcher is a convenience: never block a check on it
            self.on_warning(f"Cannot write {lesson.id}/course ({exc.strerror or exc}).")
        return probe

    # ------------------------------------------------------------ running

    def check(
        self,
        lesson: Lesson,
        probe: Path | None = None,
        *,
        vm: VmMode = "off",
        refuse_unsupported: bool = True,
        score: bool = True,
        save_progress: bool = True,
        on_line: OnLine | None = None,
        on_event: OnEvent | None = None,
        on_progress: OnProgress | None = None,
    ) -> CheckOutcome:
        """Run the probe (the workspace copy by default) with the lesson's
        workload, here or in the VM, and grade it unless `score` is False.
        Raises Unsupported when `vm` is "off", `refuse_unsupported` is set
        and this host cannot run the lesson; SessionError when the VM
        cannot be used. `cancel()` stops a run under way."""
        probe = probe if probe is not None else self.prepare(lesson)
        facts = self.host()
        self.cancel_event.clear()
        if use_vm(vm, lesson, facts):
            recording = self.run_in_vm([("job", lesson, probe, None)], on_progress)["job"]
        else:
            refusal = unsupported(lesson, facts) if vm == "off" and refuse_unsupported else None
            if refusal is not None:
                raise refusal
            recording = self.record(lesson, probe, on_line=on_line, on_event=on_event)
            if (recording.host or {}).get("features"):
                with self._lock:
                    self._facts = recording.host  # the facts the run used
        report = self.grade(lesson, recording) if score else None
        outcome = CheckOutcome(recording, report, notes(report, recording) if score else [])
        if report is not None and save_progress:
            self.record_result(report)
        return outcome

    def record(
        self,
        lesson: Lesson,
        probe: Path,
        *,
        only: list[str] | None = None,
        stop_early: bool = False,
        on_line: OnLine | None = None,
        on_event: OnEvent | None = None,
    ) -> Recording:
        """Run `probe` here, ungraded: the one way check, validate and the
        VM guest's learner run a lesson on this machine. A root probe may
        remove or scribble over the learner's files: they are put back."""
        facts = self.host()
        self._prepare_here()
        before = FilesBefore.take(self.workspace.progress_path, probe)
        try:
            return self._run_here(lesson, probe, facts, on_line, on_event, only, stop_early)
        finally:
            for sentence in before.repair():
                self.on_warning(sentence)

    def run(self, lesson: Lesson, probe: Path | None = None, **options: Any) -> CheckOutcome:
        """`course run`: the same as check, without scoring or progress."""
        return self.check(lesson, probe, score=False, save_progress=False, **options)

    def cancel(self) -> None:
        """Stop the run under way: its probe gets SIGINT, TERM, KILL."""
        self.cancel_event.set()

    def grade(self, lesson: Lesson, recording: Recording) -> Report:
        if self._grade is not None:
            return self._grade(lesson, recording)
        from runner.grade import grade

        return grade(lesson, recording)

    def regrade(self, recording: Recording) -> CheckOutcome:
        """`course grade`: score a recorded run again (no root, no BPF)."""
        lesson = self.course.lesson(recording.lesson)
        if lesson is None:
            raise SessionError(
                f"The recording is of lesson {recording.lesson!r}, which {self.course.dir} "
                "does not have; pass the course it came from with --course."
            )
        report = self.grade(lesson, recording)
        return CheckOutcome(recording, report, notes(report, recording))

    def record_result(self, report: Report) -> None:
        """Progress after a check: count the attempt and save (ProgressError).
        Locked read-modify-write, so concurrent commands lose no update."""
        from runner.progress import lesson_hash

        lesson = self.course.lesson(report.lesson)
        content = lesson_hash(lesson) if lesson is not None else None
        with self.progress.update(self._progress_warning) as fresh:
            fresh.record(report, course_version=self.course.version, content_hash=content)

    def _run_here(
        self,
        lesson: Lesson,
        probe: Path,
        facts: dict[str, Any],
        on_line: OnLine | None = None,
        on_event: OnEvent | None = None,
        only: list[str] | None = None,
        stop_early: bool = False,
    ) -> Recording:
        run_lesson = self._run_lesson
        if run_lesson is None:
            from runner.live.execute import run_lesson
        extra: dict[str, Any] = {}
        if stop_early:  # skip the steps after the first whose checks fail
            from runner.grade import run_failed

            extra["stop_after"] = lambda rec, step: run_failed(lesson, rec, step.id)
        return run_lesson(
            lesson,
            probe,
            python=self.python,
            host=facts,
            on_line=on_line,
            on_event=on_event,
            only=only,
            cancel=self.cancel_event,
            **extra,
        )

    def run_in_vm(
        self,
        jobs: list[tuple[str, Lesson, Path, list[str] | None]],
        on_progress: OnProgress | None = None,
        stop_early: set[str] | None = None,
        kernel: str | None = None,
        learner: bool = False,
    ) -> dict[str, Recording]:
        """Boot the VM once for all jobs (key, lesson, probe, only-steps);
        returns {key: Recording}. Jobs whose key is in `stop_early` skip the
        steps after their first failing one; `kernel` and `learner` as for
        validate. SessionError when the VM cannot be used."""
        from runner.live import vm

        # The VM names result files after job keys, so they must be plain names.
        safe = {f"job-{i}": job[0] for i, job in enumerate(jobs)}
        early = stop_early or set()
        vm_jobs = [
            vm.VmJob(f"job-{i}", job[1].id, job[2], job[3], stop_early=job[0] in early)
            for i, job in enumerate(jobs)
        ]
        options: dict[str, Any] = {"python": self.python, "on_progress": on_progress}
        if kernel is not None or learner:
            options.update(kernel=kernel, learner=learner)
        if self._run_in_vm is not None:
            found = self._run_in_vm(self.course.dir, vm_jobs, **options)
        else:
            ok, reason = vm.vm_available(kernel)
            if not ok:
                raise SessionError(f"Cannot use the VM: {reason}")
            try:
                found = vm.run_in_vm(self.course.dir, vm_jobs, **options)
            except vm.VmError as exc:
                raise SessionError(str(exc)) from None
        return {safe[key]: recording for key, recording in found.items() if key in safe}

    # ------------------------------------------------------------ validate

    def validate(
        self,
        lessons: Iterable[Lesson] | None = None,
        *,
        vm: VmMode = "off",
        on_case: Callable[[str], None] | None = None,
        on_progress: OnProgress | None = None,
        kernel: str | None = None,
        learner: bool = False,
        kinds: frozenset[str] | None = None,
    ) -> dict[str, list[CaseOutcome]]:
        """The author gate (runner.validate) over `lessons` (default: all):
        cases this host can run run here one by one, the others (or all,
        with vm "on") in one VM boot: of `kernel` (a name in kernels.yaml;
        default: the stock kernel setup.sh installs), run as root or, with
        `learner`, as an unprivileged user with only the README's sudo rule."""
        pending, run_batch = self._start_validation(
            lessons, vm, on_case, on_progress, kinds, kernel=kernel, learner=learner
        )
        return pending.finish(run_batch(pending.batch) if pending.batch else {})

    def _start_validation(
        self,
        lessons: Iterable[Lesson] | None,
        vm: VmMode,
        on_case: Callable[[str], None] | None,
        on_progress: OnProgress | None,
        kinds: frozenset[str] | None,
        kernel: str | None = None,
        learner: bool = False,
    ) -> tuple[Validation, Callable[[list[CaseJob]], dict[str, Recording]]]:
        """validate's cases that run here, run and judged; the rest is the VM's
        batch, with the function that boots the VM for it."""
        from runner.validate import CASE_KINDS, start_validation

        chosen = list(lessons) if lessons is not None else list(self.course.lessons)
        facts = self.host()
        if vm != "on":
            self._prepare_here()

        def here(jobs: list[CaseJob]) -> dict[str, Recording]:
            return {
                job.key: self.record(
                    job.lesson, job.case.probe, only=job.steps, stop_early=job.stop_early
                )
                for job in jobs
            }

        def in_vm(jobs: list[CaseJob]) -> dict[str, Recording]:
            work, early = _vm_work(jobs)
            return self.run_in_vm(
                work, on_progress, stop_early=early, kernel=kernel, learner=learner
            )

        pending = start_validation(
            chosen,
            run_here=here,
            in_vm=lambda lesson: use_vm(vm, lesson, facts),
            grade=self.grade,
            on_case=on_case,
            kinds=kinds if kinds is not None else CASE_KINDS,
        )
        return pending, in_vm

    def validate_with_mutants(
        self,
        lessons: Iterable[Lesson] | None = None,
        *,
        vm: VmMode = "off",
        on_case: Callable[[str], None] | None = None,
        on_progress: OnProgress | None = None,
        on_mutant: OnProgress | None = None,
        kinds: frozenset[str] | None = None,
        vm_sample: int | None = None,
    ) -> tuple[dict[str, list[CaseOutcome]], MutationReport]:
        """`course validate --mutants`: the author gate, then the mutation gate,
        with ONE VM boot for both: validate's VM cases and the gate's VM
        mutants ride in the same guest. A lesson whose solution validate
        judges is the gate's baseline (no second run of it): should that
        solution fail, its mutants are not judged."""
        from runner.live import vm as vm_module
        from runner.mutation import run_mutation_gate

        chosen = list(lessons) if lessons is not None else list(self.course.lessons)
        pending, run_batch = self._start_validation(chosen, vm, on_case, on_progress, kinds)
        passed_here = {
            key.partition(":")[0]
            for key, outcome in pending.judged.items()
            if outcome.case == "solution" and outcome.status == "pass"
        }
        judged_in_vm = {job.lesson.id for job in pending.batch if job.case.name == "solution"}
        by_id = {lesson.id: lesson for lesson in chosen}
        recordings: dict[str, Recording] = {}
        booted = False
        failed: list[str] = []  # why the one boot failed, said once below

        def one_boot(gate_jobs: list[Any]) -> dict[str, Recording]:
            nonlocal booted
            booted = True
            work, early = _vm_work(pending.batch)
            for job in gate_jobs:
                key = f"mutants:{job.key}"
                work.append((key, by_id[job.lesson_id], job.probe_path, job.only))
                if job.stop_early:
                    early.add(key)
            try:
                found = self.run_in_vm(work, on_progress, stop_early=early)
            except SessionError as exc:  # the gate stops its VM lessons; said below
                failed.append(str(exc))
                raise vm_module.VmError(str(exc)) from None
            recordings.update(
                {job.key: found[job.key] for job in pending.batch if job.key in found}
            )
            return {
                job.key: found[f"mutants:{job.key}"]
                for job in gate_jobs
                if f"mutants:{job.key}" in found
            }

        facts = self.host()
        gate = run_mutation_gate(
            self.course,
            chosen,
            facts,
            vm_mode=vm,
            python=self.python,
            on_progress=on_mutant,
            vm_sample=vm_sample,
            proven=frozenset(passed_here | judged_in_vm),
            run_vm=one_boot,
        )
        if failed:  # as plain validate: one sentence, not an error per case
            raise SessionError(failed[0])
        if pending.batch and not booted:  # the gate needed no VM: boot for validate alone
            recordings = run_batch(pending.batch)
        outcomes = pending.finish(recordings)
        for lm in gate.lessons:
            if lm.lesson not in judged_in_vm:
                continue
            solution = next((o for o in outcomes[lm.lesson] if o.case == "solution"), None)
            if solution is not None and solution.status != "pass":
                lm.errors.append(f"{solution.message}, so its mutants were not judged")
                lm.results.clear()
        return outcomes, gate

    # ------------------------------------------------------------ learner state

    def status(self, lesson: Lesson, facts: dict[str, Any] | None = None) -> str:
        """passed | failing | not-started | unsupported (for this host)."""
        saved = self.progress.state(lesson.id).status
        if saved != "passed" and missing_feature(lesson, facts) is not None:
            return "unsupported"
        return saved

    def tested_on(self) -> TestedOn | None:
        """The course's tested-on.yaml (runner.course.tested_on), read once;
        None when there is none, or when it is malformed (said once through
        `on_warning`, in one sentence; `tested_on_error` keeps it)."""
        if self._tested is None:
            from runner.course.tested_on import TestedOnError, load_tested_on

            try:
                self._tested = (load_tested_on(self.course.dir), None)
            except TestedOnError as exc:
                self._tested = (None, str(exc))
                self.on_warning(str(exc))
        return self._tested[0]

    @property
    def tested_on_error(self) -> str | None:
        self.tested_on()
        assert self._tested is not None
        return self._tested[1]

    @staticmethod
    def running_release(facts: dict[str, Any] | None) -> str:
        """The kernel release the learner runs (the host facts', else uname)."""
        import platform

        return str((facts or {}).get("kernel_release") or platform.release())

    def lessons(self, facts: dict[str, Any] | None = None) -> list[LessonRow]:
        """Every lesson with its status on this host, the learner's score, its
        metadata and the kernels it was tested on."""
        from runner.progress import lesson_hash

        tested = self.tested_on()
        release = self.running_release(facts)
        rows = []
        for lesson in self.course.lessons:
            state = self.progress.state(lesson.id)
            outdated = state.passed_hash is not None and state.outdated(lesson_hash(lesson))
            rows.append(
                LessonRow(
                    lesson.id,
                    lesson.number,
                    lesson.title,
                    self.status(lesson, facts),
                    list(lesson.requires),
                    unsupported_reason(lesson, facts),
                    state.score,
                    lesson.max_score,
                    outdated,
                    state.passed_where if state.status == "passed" else None,
                    minutes=lesson.minutes,
                    difficulty=lesson.difficulty,
                    concepts=list(lesson.concepts),
                    prerequisites=list(lesson.prerequisites),
                    tested_on=tested.summary(lesson.id) if tested else None,
                    tested_warning=tested.outside_tested(lesson.id, release) if tested else None,
                )
            )
        return rows

    def hints(self, lesson: Lesson) -> Hints:
        """The hints revealed so far, without revealing more."""
        shown = min(self.progress.state(lesson.id).hints_revealed, len(lesson.hints))
        return Hints(list(lesson.hints[:shown]), len(lesson.hints), False)

    def hint(self, lesson: Lesson) -> Hints:
        """Reveal the next hint (saved); returns every hint to show now."""
        before = self.hints(lesson)
        if not lesson.hints or before.all_shown:
            return before
        with self.progress.update(self._progress_warning) as fresh:
            fresh.reveal_hint(lesson.id, len(lesson.hints))
        after = self.hints(lesson)
        return Hints(after.shown, after.total, True)

    def solution(self, lesson: Lesson, *, force: bool = False) -> SolutionGate:
        """The gate: the reference solution once the lesson passed (or with
        `force`), else a refusal and its reason."""
        passed = self.progress.state(lesson.id).status == "passed"
        if not passed and not force:
            return SolutionGate(
                None,
                "locked",
                f"The reference solution of {lesson.id} is shown once the lesson passes.",
            )
        if lesson.solution is None or not lesson.solution.is_file():
            return SolutionGate(None, "missing", f"{lesson.id} has no reference solution.")
        return SolutionGate(lesson.solution.read_text(encoding="utf-8"))

    def reset(self, lesson: Lesson) -> Path | None:
        """Restore the starter; returns where the learner's file was kept."""
        return self.workspace.reset(lesson)

    # ------------------------------------------------------------ doctor

    def doctor(self) -> Doctor:
        """What this machine can do, by trying (tracefs mounted first)."""
        advice = self.mount_tracefs()  # mounts tracefs/debugfs when root, else says how
        from runner.present.doctor import vm_facts

        facts = {**self.host(), "vm": vm_facts()}  # the VM row: found, not booted
        return Doctor(facts, advice, *self._tested_on_report(facts))

    def _tested_on_report(self, facts: dict[str, Any]) -> tuple[list[str], dict[str, Any] | None]:
        """tested-on.yaml for `course doctor`: its lines, and the same for --json."""
        from runner.present.doctor import tested_on_lines

        tested = self.tested_on()
        error = self.tested_on_error
        if tested is None and error is None:
            return [], None
        release = self.running_release(facts)
        ids = [lesson.id for lesson in self.course.lessons] or sorted(
            tested.lessons if tested else []
        )
        lines = tested_on_lines(tested, ids, release, error)
        data: dict[str, Any] = {"error": error}
        if tested is not None:
            data.update(tested.to_dict())
            data["warnings"] = {
                i: w for i in ids if (w := tested.outside_tested(i, release)) is not None
            }
        return lines, data

    @staticmethod
    def doctor_text(facts: dict[str, Any]) -> str:
        return _doctor_text(facts)


def vm_progress_lines(on_line: OnLine, on_event: OnEvent | None = None) -> OnProgress:
    """VM boot and job steps as lines of a "vm" step (the TUI's output)."""
    started = time.monotonic()

    def progress(message: str) -> None:
        on_line("vm", Line(time.monotonic() - started, "err", message))
        if on_event is not None:
            on_event("vm", message)

    return progress


def _vm_work(
    jobs: list[CaseJob],
) -> tuple[list[tuple[str, Lesson, Path, list[str] | None]], set[str]]:
    """validate's cases as Session.run_in_vm's jobs, and the keys that stop early."""
    work = [(job.key, job.lesson, job.case.probe, job.steps) for job in jobs]
    return work, {job.key for job in jobs if job.stop_early}
