"""runner.session, the one application layer under the CLI and the TUI:
the unsupported decision, sudo readiness, where a check runs, progress,
hints, the solution gate, validate, doctor. No root: the runner, the VM
and host detection are injected (or patched where the default is tested)."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from runner import session as app
from runner.course.load import load_course
from runner.live import host as live_host
from runner.live.privilege import GUARD
from runner.model import Line, Recording, Run, WorkloadTruth
from runner.session import Session, SessionError, Unsupported
from runner.workspace import Workspace

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "courses" / "cli"
PID = 4242
MARKER = "/tmp/ebpfc-wl-test/ebpfc-marker-0123abcd"

# Host facts recorded on this course's build machine (a cloud kernel built
# without kprobes), as runner.live.host.detect returned them; the kprobes
# reason is the host module's own sentence, so it follows its wording.
RECORDED_FACTS: dict[str, Any] = {
    "kernel_release": "6.18.44-fc-v1045",
    "arch": "x86_64",
    "cpus": 2,
    "root": True,
    "sudo": "root",
    "bcc_version": "0.26.0",
    "headers": "fallback",
    "headers_path": "/usr/src/linux-headers-6.1.0-57-amd64",
    "tracefs": True,
    "debugfs": True,
    "btf": True,
    "lockdown": None,
    "kvm": {
        "ok": False,
        "reason": "the CPU shows no vmx/svm flag, so a VM runs with software emulation (slower)",
    },
    "features": {
        "kprobes": {
            "ok": False,
            "reason": live_host.kprobes_missing_reason("# CONFIG_KPROBES is not set\n", False),
        },
        **{
            name: {"ok": True, "reason": ""}
            for name in ("uprobes", "tracepoints", "raw_tracepoints", "perf_event", "ringbuf")
        },
        "btf": {"ok": True, "reason": ""},
        "bpf": {"ok": True, "reason": ""},
    },
}
NO_ROOT = {
    "root": False,
    "sudo": "password",
    "features": {
        name: {"ok": False, "reason": "loading BPF needs root: run `sudo -v` once, then try again"}
        for name in ("bpf", "kprobes", "tracepoints")
    },
}


def facts(**changes: Any) -> dict[str, Any]:
    return {**json.loads(json.dumps(RECORDED_FACTS)), **changes}


def passing(lesson_id: str, probe: Path) -> Recording:
    """What the fixture's lesson 01 solution prints (three marker opens)."""
    out = ["Attached to syscalls:sys_enter_openat"]
    out += [f"open pid={PID} file={MARKER}"] * 3 + ["Detached after 3 events."]
    run = Run(
        "main",
        lines=[Line(i / 100, "out", text) for i, text in enumerate(out)],
        stdout_lines=len(out),
        exit_code=0,
        ready=True,
        stop_reason="stopped",
        workload=WorkloadTruth(
            "open-marker", PID, PID, "ebpfc-marker", 1, 2, {"path": MARKER, "opens": 3}
        ),
    )
    return Recording(lesson_id, str(probe), probe.read_text(), runs={"main": run})


class FakeRunner:
    """Stands in for runner.live.execute.run_lesson and runner.live.vm.run_in_vm."""

    def __init__(self, make=passing) -> None:
        self.make = make
        self.calls: list[dict[str, Any]] = []
        self.vm_jobs: list[Any] = []

    def run_lesson(
        self,
        lesson,
        probe,
        *,
        python,
        host,
        on_line=None,
        on_event=None,
        only=None,
        cancel=None,
        stop_after=None,
    ) -> Recording:
        self.calls.append(
            {
                "lesson": lesson.id,
                "probe": probe,
                "only": only,
                "cancel": cancel,
                "host": host,
                "stop_after": stop_after,
            }
        )
        recording = self.make(lesson.id, probe)
        for line in recording.runs["main"].lines:
            if on_line:
                on_line("main", line)
        return recording

    def run_in_vm(self, course_dir, jobs, *, python, on_progress=None) -> dict[str, Recording]:
        self.vm_jobs += list(jobs)
        if on_progress:
            on_progress("booting")
        found = {}
        for job in jobs:
            recording = self.make(job.lesson_id, Path(job.probe_path))
            recording.where = "vm:6.1.0-test"
            found[job.key] = recording
        return found


@pytest.fixture
def runner() -> FakeRunner:
    return FakeRunner()


@pytest.fixture
def make_session(tmp_path: Path, runner: FakeRunner):
    warnings: list[str] = []

    def make(host: dict[str, Any] | None = None, **options: Any) -> Session:
        found = facts() if host is None else host
        options.setdefault("detect", lambda **_: found)
        options.setdefault("ensure_tracefs", lambda: None)
        options.setdefault("needs_password", lambda: False)
        made = Session(
            load_course(FIXTURE),
            Workspace(tmp_path / "ws"),
            run_lesson=runner.run_lesson,
            run_in_vm=runner.run_in_vm,
            on_warning=warnings.append,
            **options,
        )
        made.warnings = warnings  # type: ignore[attr-defined]
        return made

    return make


# ---------------------------------------------------------------- the one decision


def test_unsupported_reason_is_the_hosts_sentence_without_advice(make_session) -> None:
    session = make_session()
    lesson = session.lesson("02")
    reason = app.unsupported_reason(lesson, session.host())
    assert reason == "this kernel was built without CONFIG_KPROBES (attach_kprobe: not traceable)"
    assert "--vm" not in reason and "VM" not in reason
    assert app.unsupported_reason(session.lesson("01"), session.host()) is None
    assert app.missing_feature(lesson, session.host()) == ("kprobes", reason)


def test_host_reasons_carry_no_vm_advice() -> None:
    for config, events in (("# CONFIG_KPROBES is not set", False), (None, False)):
        reason = live_host.kprobes_missing_reason(config, events)
        assert reason and "CONFIG_KPROBES" in reason and "--vm" not in reason


def test_facts_gathered_without_root_decide_nothing_about_the_kernel(make_session) -> None:
    session = make_session()
    lesson = session.lesson("02")
    assert app.lacked_privileges(NO_ROOT)
    assert app.missing_feature(lesson, NO_ROOT) is None
    assert not app.use_vm("auto", lesson, NO_ROOT)  # unknown is not a reason to boot a VM


def test_the_refusal_names_privileges_when_nothing_loads(make_session) -> None:
    session = make_session()
    no_bpf = {
        "features": {
            "bpf": {"ok": False, "reason": "bpf(2) says EPERM"},
            "tracepoints": {"ok": False, "reason": "bpf(2) says EPERM"},
        }
    }
    refusal = app.unsupported(session.lesson("01"), no_bpf)
    assert refusal is not None and refusal.no_bpf
    assert str(refusal) == "Cannot load BPF programs here: bpf(2) says EPERM."
    kernel = app.unsupported(session.lesson("02"), facts())
    assert kernel is not None and not kernel.no_bpf and kernel.need == "kprobes"
    assert "--vm" not in str(kernel)


def test_execute_marks_an_unsupported_step_with_the_same_decision(make_session) -> None:
    from runner.live.execute import _unsupported

    session = make_session()
    message = _unsupported(session.lesson("02"), facts())
    assert message is not None and "CONFIG_KPROBES" in message
    assert message.count("VM") + message.count("--vm") == 0  # the front end adds the way out
    assert _unsupported(session.lesson("02"), NO_ROOT) is None


# ---------------------------------------------------------------- sudo readiness


@pytest.mark.parametrize(
    ("returncode", "stderr", "needs"),
    [
        (0, "", False),  # the README's narrow rule allows exactly this command
        (1, "sudo: a password is required\n", True),
        (1, "learner is not in the sudoers file.\n", False),  # no prompt would help
    ],
)
def test_sudo_readiness_asks_for_the_root_guard(monkeypatch, returncode, stderr, needs) -> None:
    asked: list[list[str]] = []

    def fake_run(argv, **_kwargs):
        asked.append(list(argv))
        return subprocess.CompletedProcess(argv, returncode, "", stderr)

    monkeypatch.setattr(live_host.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(live_host.subprocess, "run", fake_run)
    assert app.needs_password() is needs
    (argv,) = asked
    assert argv[:3] == ["sudo", "-n", "-l"] and GUARD in argv  # not `sudo -n true`


def test_the_session_uses_the_real_sudo_readiness_by_default(tmp_path) -> None:
    session = Session(load_course(FIXTURE), Workspace(tmp_path / "ws"))
    assert session.needs_password is app.needs_password


def test_facts_without_root_are_detected_again_once_sudo_is_ready(make_session) -> None:
    answers = [NO_ROOT, facts()]
    ready = {"now": False}
    session = make_session(
        detect=lambda **_: answers.pop(0), needs_password=lambda: not ready["now"]
    )
    assert session.host() is not None and app.lacked_privileges(session.host())
    ready["now"] = True
    assert not app.lacked_privileges(session.host())
    assert session.host() == facts()  # detected twice, then kept


# ---------------------------------------------------------------- check


def test_check_runs_here_grades_and_records_progress(make_session, runner, tmp_path) -> None:
    session = make_session()
    lines: list[str] = []
    outcome = session.check(
        session.lesson("01"), on_line=lambda step, line: lines.append(line.text)
    )
    assert outcome.report is not None and outcome.report.status == "pass"
    assert outcome.notes == [] and outcome.env_error is None
    (call,) = runner.calls
    assert call["probe"] == tmp_path / "ws" / "01-opens" / "probe.py"  # the workspace copy
    assert isinstance(call["cancel"], threading.Event)
    assert lines[0].startswith("Attached")
    state = session.progress.state("01-opens")
    assert (state.status, state.attempts) == ("passed", 1)
    saved = json.loads((tmp_path / "ws" / ".course" / "progress.json").read_text())
    assert saved["lessons"]["01-opens"]["status"] == "passed"


def test_a_run_that_wipes_the_progress_file_loses_no_progress(make_session, runner, tmp_path):
    """A root probe removed progress.json while it ran: the session puts the
    copy from before the run back (and says so) before it records the result."""
    session = make_session()
    lesson = session.lesson("01")
    session.check(lesson)  # one passed attempt on disk
    saved = tmp_path / "ws" / ".course" / "progress.json"
    made = runner.make

    def wiping(lesson_id: str, probe: Path) -> Recording:
        saved.unlink()
        return made(lesson_id, probe)

    runner.make = wiping
    session.check(lesson)
    assert any("removed your progress file" in w for w in session.warnings)
    state = json.loads(saved.read_text())["lessons"]["01-opens"]
    assert (state["status"], state["attempts"]) == ("passed", 2)


def test_check_without_saving_and_run_without_scoring(make_session) -> None:
    session = make_session()
    lesson = session.lesson("01")
    session.check(lesson, save_progress=False)
    assert session.progress.state("01-opens").attempts == 0
    outcome = session.run(lesson)
    assert outcome.report is None and outcome.notes == []
    assert session.progress.state("01-opens").attempts == 0


def test_check_refuses_what_this_kernel_cannot_run(make_session, runner) -> None:
    session = make_session()
    with pytest.raises(Unsupported) as refused:
        session.check(session.lesson("02"))
    assert runner.calls == [] and "CONFIG_KPROBES" in str(refused.value)
    # the TUI's r runs it anyway and shows what the runner marks unsupported
    session.check(session.lesson("02"), refuse_unsupported=False)
    assert len(runner.calls) == 1


def test_vm_auto_sends_only_what_this_kernel_cannot_run(make_session, runner) -> None:
    session = make_session()
    said: list[str] = []
    outcome = session.check(session.lesson("02"), vm="auto", on_progress=said.append)
    assert [job.lesson_id for job in runner.vm_jobs] == ["02-kprobe"] and said == ["booting"]
    assert outcome.recording.where == "vm:6.1.0-test" and runner.calls == []
    session.check(session.lesson("01"), vm="auto")
    assert len(runner.vm_jobs) == 1 and len(runner.calls) == 1


def test_without_a_vm_the_error_is_one_sentence(make_session, monkeypatch) -> None:
    monkeypatch.setattr("runner.live.vm.vm_available", lambda *_: (False, "QEMU is missing."))
    session = make_session()
    session._run_in_vm = None  # the real VM path, whose availability is patched
    with pytest.raises(SessionError, match="^Cannot use the VM: QEMU is missing.$"):
        session.check(session.lesson("02"), vm="on")


def test_tracefs_advice_is_told_once_per_run(make_session) -> None:
    session = make_session(ensure_tracefs=lambda: "tracefs is not mounted: run `sudo mount ...`")
    session.check(session.lesson("01"))
    assert session.warnings == ["tracefs is not mounted: run `sudo mount ...`"]


def test_cancel_sets_the_event_the_run_was_given(make_session, runner) -> None:
    session = make_session()
    session.check(session.lesson("01"))
    session.cancel()
    assert runner.calls[0]["cancel"].is_set()
    session.check(session.lesson("01"))  # a new run starts uncancelled
    assert not runner.calls[1]["cancel"].is_set()


def test_a_failing_run_gets_the_notes_of_runner_present_notes(make_session) -> None:
    from runner.present.notes import notes_for

    def crashed(lesson_id: str, probe: Path) -> Recording:
        recording = passing(lesson_id, probe)
        run = recording.runs["main"]
        run.lines = [
            Line(0.1, "err", "Traceback (most recent call last):"),
            Line(0.1, "err", f'  File "{probe}", line 3, in <module>'),
            Line(0.1, "err", "NameError: name 'bpf' is not defined"),
        ]
        run.exit_code, run.ready, run.stop_reason = 1, False, "exited"
        return recording

    session = make_session()
    session._run_lesson = FakeRunner(crashed).run_lesson
    outcome = session.check(session.lesson("01"))
    assert outcome.report is not None and outcome.report.status != "pass"
    assert outcome.notes == notes_for(outcome.recording)
    assert any("NameError" in note["cause"] for note in outcome.notes)


# ---------------------------------------------------------------- learner state


def test_lesson_rows_have_status_and_reason(make_session) -> None:
    session = make_session()
    rows = {row.id: row for row in session.lessons(session.host())}
    assert rows["01-opens"].status == "not-started" and rows["01-opens"].unsupported_reason is None
    assert rows["02-kprobe"].status == "unsupported"
    assert "CONFIG_KPROBES" in rows["02-kprobe"].unsupported_reason
    assert set(rows["01-opens"].to_dict()) == {
        "id",
        "title",
        "status",
        "requires",
        "unsupported_reason",
        "score",
        "max_score",
        "outdated",
        "passed_where",
        "minutes",
        "difficulty",
        "concepts",
        "prerequisites",
        "tested_on",
        "tested_warning",
    }
    session.check(session.lesson("01"))
    assert {r.id: r for r in session.lessons(session.host())}["01-opens"].status == "passed"


def test_hints_are_revealed_in_order_and_saved(make_session, tmp_path) -> None:
    session = make_session()
    lesson = session.lesson("01")
    assert session.hints(lesson).shown == []
    first = session.hint(lesson)
    assert first.revealed and first.shown == lesson.hints[:1] and not first.all_shown
    second = session.hint(lesson)
    assert second.shown == lesson.hints and second.all_shown
    again = session.hint(lesson)
    assert not again.revealed and again.shown == lesson.hints
    saved = json.loads((tmp_path / "ws" / ".course" / "progress.json").read_text())
    assert saved["lessons"]["01-opens"]["hints_revealed"] == 2
    assert session.hint(session.lesson("02")).total == 0


def test_the_solution_unlocks_only_after_passing(make_session) -> None:
    session = make_session()
    lesson = session.lesson("01")
    locked = session.solution(lesson)
    assert (locked.text, locked.refusal) == (None, "locked") and lesson.id in locked.reason
    assert session.solution(lesson, force=True).text == lesson.solution.read_text()
    session.check(lesson)
    assert session.solution(lesson).text == lesson.solution.read_text()


def test_reset_keeps_the_learners_file(make_session, tmp_path) -> None:
    session = make_session()
    lesson = session.lesson("01")
    probe = session.workspace.ensure(lesson)
    probe.write_text("# mine\n")
    backup = session.reset(lesson)
    assert backup is not None and backup.read_text() == "# mine\n"
    assert probe.read_text() == lesson.starter.read_text()


def test_doctor_mounts_tracefs_first_and_formats_the_facts(make_session) -> None:
    order: list[str] = []

    def ensure() -> str | None:
        order.append("tracefs")
        return None

    def detect(**_: Any) -> dict[str, Any]:
        order.append("detect")
        return facts()

    doctor = make_session(ensure_tracefs=ensure, detect=detect).doctor()
    assert order == ["tracefs", "detect"] and doctor.tracefs_advice is None
    assert "CONFIG_KPROBES" in doctor.text and "6.18.44-fc-v1045" in doctor.text


# ---------------------------------------------------------------- validate


def test_validate_runs_here_and_batches_the_vm(make_session, runner) -> None:
    session = make_session()
    started: list[str] = []
    outcomes = session.validate(
        [session.lesson("01"), session.lesson("02")], vm="auto", on_case=started.append
    )
    assert [o.case for o in outcomes["01-opens"]] == [c.case for c in outcomes["01-opens"]]
    assert started and all(key.startswith("01-opens:") for key in started)
    assert {job.lesson_id for job in runner.vm_jobs} == {"02-kprobe"}
    keys = [job.key for job in runner.vm_jobs]
    assert len(set(keys)) == len(keys) and all(k.replace("-", "").isalnum() for k in keys)
    assert [o.case for o in outcomes["02-kprobe"]] == ["solution", "starter"]


def test_only_the_starter_stops_at_its_first_failing_step(make_session, runner) -> None:
    """The starter only has to fail once; the solution and wrong variants run
    what they need whole, here and in the VM."""
    session = make_session()
    here, there = session.lesson("01"), session.lesson("02")
    session.validate([here, there], vm="auto")
    stopped_here = {c["probe"] for c in runner.calls if c["stop_after"] is not None}
    assert stopped_here == {here.starter}
    stopped_there = {job.probe_path for job in runner.vm_jobs if job.stop_early}
    assert stopped_there == {there.starter}
    assert len(runner.vm_jobs) > 1  # the solution ran too, whole


def _plant_one_mutant(monkeypatch) -> None:
    """Every solution gets one mutant that no static check or host step kills,
    so it goes to the VM (the fixture's solutions are too small for the real
    operators)."""
    from runner import mutation

    def planted(text: str, operators: Any = None) -> tuple[list[Any], int]:
        return [mutation.Mutant("drop-submit", 3, "a planted mistake", text + "# m\n")], 0

    monkeypatch.setattr(mutation, "mutants", planted)


def test_validate_with_mutants_boots_the_vm_once_for_cases_and_mutants(
    make_session, runner, monkeypatch
) -> None:
    _plant_one_mutant(monkeypatch)
    boots: list[list[str]] = []
    fake = runner.run_in_vm

    def counted(course_dir, jobs, **options):
        boots.append([job.lesson_id for job in jobs])
        return fake(course_dir, jobs, **options)

    runner.run_in_vm = counted
    session = make_session()
    outcomes, gate = session.validate_with_mutants([session.lesson("02")], vm="auto")
    # solution and starter of validate, and the mutant; no baseline run of the
    # solution for the gate: validate's solution case in the same boot is it
    assert boots == [["02-kprobe"] * 3]
    assert [o.status for o in outcomes["02-kprobe"]] == ["pass", "fail"]
    (lm,) = gate.lessons
    assert lm.where == "vm" and [r.status for r in lm.results] == ["survived"]
    assert lm.errors == []


def test_a_solution_failing_in_the_shared_boot_leaves_its_mutants_unjudged(
    make_session, monkeypatch
) -> None:
    _plant_one_mutant(monkeypatch)

    def silent(lesson_id: str, probe: Path) -> Recording:
        recording = passing(lesson_id, probe)
        recording.runs["main"].lines = []
        return recording

    runner = FakeRunner(silent)
    session = make_session()
    session._run_in_vm = runner.run_in_vm
    outcomes, gate = session.validate_with_mutants([session.lesson("02")], vm="auto")
    assert outcomes["02-kprobe"][0].status == "fail"
    (lm,) = gate.lessons
    assert lm.results == []
    assert lm.errors and "so its mutants were not judged" in lm.errors[0]
    assert "reference solution does not pass 'attached'" in lm.errors[0]


def test_a_vm_that_cannot_run_under_mutants_is_one_sentence(make_session, monkeypatch) -> None:
    """As for plain validate: not an error per case and per lesson."""
    _plant_one_mutant(monkeypatch)
    monkeypatch.setattr("runner.live.vm.vm_available", lambda *_: (False, "QEMU is missing."))
    session = make_session()
    session._run_in_vm = None  # the real VM path, whose availability is patched
    with pytest.raises(SessionError, match="^Cannot use the VM: QEMU is missing.$"):
        session.validate_with_mutants([session.lesson("02")], vm="auto")


def test_validate_with_mutants_still_boots_for_cases_when_no_mutant_needs_the_vm(
    make_session, runner, monkeypatch
) -> None:
    from runner import mutation

    monkeypatch.setattr(mutation, "mutants", lambda text, operators=None: ([], 0))
    session = make_session()
    outcomes, gate = session.validate_with_mutants([session.lesson("02")], vm="auto")
    assert len(runner.vm_jobs) == 2  # solution and starter
    assert [o.status for o in outcomes["02-kprobe"]] == ["pass", "fail"]
    assert gate.lessons[0].results == []


def test_validate_off_marks_unsupported_cases_and_runs_no_vm(make_session, runner) -> None:
    from runner.live.execute import _unsupported

    def marked(lesson_id: str, probe: Path) -> Recording:
        recording = passing(lesson_id, probe)
        lesson = load_course(FIXTURE).lesson(lesson_id)
        reason = _unsupported(lesson, facts())
        for run in recording.runs.values():
            run.unsupported = reason
        return recording

    session = make_session()
    session._run_lesson = FakeRunner(marked).run_lesson
    outcomes = session.validate([session.lesson("02")])
    assert runner.vm_jobs == []
    assert {o.status for o in outcomes["02-kprobe"]} == {"unsupported"}


def test_a_lesson_passed_in_the_vm_is_listed_with_its_kernel(make_session) -> None:
    """This kernel cannot run 02: its pass happened in the VM, and the list
    (CLI and TUI) says so instead of a bare "passed"."""
    session = make_session()
    session.check(session.lesson("02"), vm="auto")
    row = {r.id: r for r in session.lessons(session.host())}["02-kprobe"]
    assert row.status == "passed" and row.passed_where == "vm:6.1.0-test"
    assert row.shown_status == "passed in the VM (6.1.0-test)"


def test_a_run_that_forges_progress_unlocks_no_solution(make_session, runner, tmp_path):
    """A root probe rewrote progress.json to say every lesson passed: the
    session puts back the progress from before the run, so 02 stays locked."""
    session = make_session()
    saved = tmp_path / "ws" / ".course" / "progress.json"
    made = runner.make

    def forging(lesson_id: str, probe: Path) -> Recording:
        forged = {lid: {"status": "passed"} for lid in ("01-opens", "02-kprobe")}
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(json.dumps({"version": 1, "lessons": forged}))
        return made(lesson_id, probe)

    runner.make = forging
    session.check(session.lesson("01"))
    assert any("changed your progress file" in w for w in session.warnings)
    lessons = json.loads(saved.read_text())["lessons"]
    assert "02-kprobe" not in lessons or lessons["02-kprobe"]["status"] != "passed"
    assert lessons["01-opens"]["status"] == "passed"  # what the run itself scored
    assert session.solution(session.lesson("02")).refusal == "locked"
