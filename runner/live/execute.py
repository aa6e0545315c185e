"""Run a lesson's live steps: start the workload paused, start the probe
privileged in its own process group, wait until it is attached, release the
workload, stop the probe, and record everything as a Run.

This is the only module that touches the kernel through a learner's probe;
everything after it (grading, rendering) is a pure function of the Run.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import checks
from checks.api import PatternError
from runner import templates
from runner.live import bpfcalls, bpffs, evidence, ksyms, workload_process
from runner.live.capture import DEFAULT_LINE_CAP, ready_pattern
from runner.live.capture import Capture as _Capture
from runner.live.leftovers import StepGuard
from runner.live.privilege import (
    KERNEL_REPORT,
    become_subreaper,
    default_signals,
    is_root,
    privileged_argv,
    signal_group,
    start_ticks,
    sudo_path,
    sudo_refusal,
    sweep_adopted,
    wait_group_gone,
)
from runner.live.workload_process import WorkloadProcess, monotonic_ns, start_workload
from runner.model import Lesson, Line, Recording, Run, RunSpec, WorkloadTruth
from runner.workloads import WorkloadError

INT_GRACE = 3.0  # SIGINT, then SIGTERM after this many seconds
TERM_GRACE = 2.0  # then SIGKILL after this many more
WORKLOAD_GRACE = 10.0  # how long a released workload may take after the probe ended
_TICK = 0.05

OnLine = Callable[[str, Line], None]
OnEvent = Callable[[str, str], None]  # (step id, "started"|"ready"|"go"|"stopping"|"done")
ShouldStop = Callable[[Run], bool]


class StepError(Exception):
    """The runner cannot do this step; the message is one sentence."""


# ---------------------------------------------------------------- the step


def _unsupported(lesson: Lesson, host: dict[str, Any]) -> str | None:
    # The one decision lives in runner.session; the way out (a VM) is added
    # by the front end that shows this message, so it is said once.
    from runner.session import missing_feature

    found = missing_feature(lesson, host)
    if found is None:
        return None
    name, why = found
    return f"This step needs {name}, and {why}, so it was not run."


def _interpreter(python: str) -> str:
    found = python if os.path.isabs(python) else shutil.which(python)
    if not found or not os.access(found, os.X_OK):
        raise StepError(f"the course interpreter {python!r} was not found; pass an absolute path.")
    return found


def _int_grace() -> float:
    """INT_GRACE, or longer where everything is slower (the VM under software
    emulation sets EBPF_COURSE_STOP_GRACE): a probe draining a full buffer
    there needs tens of seconds to print its summary."""
    try:
        return max(INT_GRACE, float(os.environ.get("EBPF_COURSE_STOP_GRACE", INT_GRACE)))
    except ValueError:
        return INT_GRACE


def _stop_group(proc: subprocess.Popen[bytes]) -> list[str]:
    """SIGINT (so the probe prints its summary), then TERM, then KILL, to the
    group; returns the signals it had to send ("INT", "TERM", "KILL")."""
    sent: list[str] = []
    for sig, grace in ((signal.SIGINT, _int_grace()), (signal.SIGTERM, TERM_GRACE)):
        if proc.poll() is not None:
            return sent
        signal_group(proc.pid, sig)
        sent.append(sig.name.removeprefix("SIG"))
        try:
            proc.wait(timeout=grace)
            return sent
        except subprocess.TimeoutExpired:
            pass
    signal_group(proc.pid, signal.SIGKILL)
    proc.wait()
    return [*sent, "KILL"]


def _snapshot(run: Run, capture: _Capture, t0: float) -> Run:
    """The run as it stands, for a caller's should_stop."""
    return Run(
        id=run.id,
        argv=run.argv,
        lines=capture.lines(),
        stdout_lines=capture.counts["out"],
        stderr_lines=capture.counts["err"],
        ready=run.ready,
        ready_at=run.ready_at,
        duration=round(time.monotonic() - t0, 6),
        started_ns=run.started_ns,
        workload=run.workload,
    )


def _supervise(
    run: Run,
    step: RunSpec,
    argv: list[str],
    cwd: Path,
    workload: WorkloadProcess | None,
    *,
    line_cap: int,
    on_line: OnLine | None,
    on_event: OnEvent | None,
    should_stop: ShouldStop | None,
    cancel: threading.Event | None = None,
    recorder: evidence.Recorder | None = None,
    guard: StepGuard | None = None,
    trace: bpfcalls.Trace | None = None,
) -> None:
    def event(what: str) -> None:
        if on_event:
            on_event(step.id, what)

    ready_re = ready_pattern(step.ready)
    emit = (lambda line: on_line(step.id, line)) if on_line else None
    t0 = time.monotonic()
    run.started_ns = monotonic_ns()
    run.wall_started = time.time()
    run.utc_offset = int(time.localtime(run.wall_started).tm_gmtoff)
    # As root the probe is our child, so its escaped descendants come back to
    # us; through sudo the root guard does this part (we could not kill them).
    sweeping = is_root() and become_subreaper()
    probe_step = step.command is None
    # What the probe leaves in the kernel (pins): as root we look ourselves,
    # through sudo the root guard does (--report) and we read its answer.
    baseline = bpffs.Baseline.take() if probe_step and is_root() else None
    # Through sudo, the guard's stdin is its lifeline (leftovers.py says why).
    stdin: int = guard.lifeline() if guard and probe_step and not is_root() else subprocess.DEVNULL
    if recorder:
        recorder.begin()  # run counts on from before the probe starts
    # as root, the kernel's record of the probe's bpf() calls starts at its exec
    started_argv = trace.arm_argv(argv) if trace else argv
    try:
        proc = subprocess.Popen(
            default_signals(started_argv),  # SIGINT works even if ours is ignored
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        raise StepError(f"could not start {argv[0]} ({exc.strerror or exc}).") from None
    finally:
        if stdin != subprocess.DEVNULL:
            os.close(stdin)  # the child holds the read end now
    if guard:
        guard.started(proc.pid, "probe" if probe_step and is_root() else argv[0])
    event("started")
    since = start_ticks(proc.pid) or 0
    capture = _Capture(proc, t0, line_cap, ready_re, emit)
    deadline = t0 + step.timeout
    workload_done_at: float | None = None
    seen_lines = -1
    try:
        while True:
            now = time.monotonic()
            if proc.poll() is not None:
                run.stop_reason = "exited"
                break
            if cancel is not None and cancel.is_set():
                run.stop_reason = "cancelled"
                break
            if now >= deadline:
                run.stop_reason = "timeout"
                break
            if not run.ready:
                if ready_re is None or capture.ready_at is not None:
                    run.ready = True
                    run.ready_at = capture.ready_at if ready_re else 0.0
                    event("ready")
                    # the kernel's view before the workload acts, so run-count
                    # deltas to the stop snapshot cover the workload's window
                    # (no ready line, no ready snapshot: nothing was attached yet)
                    if recorder and ready_re:
                        snap = recorder.take("ready", proc.pid, now - t0)
                        run.evidence.extend([snap] if snap else [])
                    if workload:
                        workload.go()
                        event("go")
                elif now - t0 >= step.ready_timeout:
                    run.stop_reason = "not-ready"
                    break
                else:
                    time.sleep(_TICK)
                    continue
            if workload and workload_done_at is None and workload.is_finished():
                workload_done_at = now
                run.workload = _ground_truth(workload, run)  # early, for should_stop
            settled_from = workload_done_at if workload else t0 + (run.ready_at or 0.0)
            if step.stop == "after-workload" and settled_from is not None:
                if now - settled_from >= step.settle:
                    run.stop_reason = "stopped"
                    break
            if should_stop and (workload is None or workload_done_at is not None):
                if capture.total != seen_lines:
                    seen_lines = capture.total
                    if should_stop(_snapshot(run, capture, t0)):
                        run.stop_reason = "stopped"
                        break
            time.sleep(_TICK)
        if proc.poll() is None:
            if recorder and run.ready and run.stop_reason != "cancelled":
                snap = recorder.take("stop", proc.pid, time.monotonic() - t0)
                if snap:
                    run.evidence.append(snap)
            event("stopping")
            run.signals_sent = _stop_group(proc)
    finally:
        if proc.poll() is None:  # the runner itself was interrupted
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait()
        # anything the probe left behind in its group goes too
        signal_group(proc.pid, signal.SIGKILL)
        wait_group_gone(proc.pid, 5.0)
        # and those that left its group (setsid), before they hold our pipes open
        if sweeping:
            sweep_adopted(since, exclude={workload.process_pid} if workload else set())
        capture.join(5.0)
    if trace is not None:  # every process of the probe is gone: its calls are all in
        run.bpf_calls, run.bpf_calls_missing, run.bpf_calls_lost = trace.finish()
    if baseline is not None:  # every process of the probe is gone: what is left is pinned
        found = bpffs.settle(baseline)
        _kernel_leftovers(run, found.to_list(), found.sentence())
    run.ended_ns = monotonic_ns()
    run.duration = round(time.monotonic() - t0, 6)
    code = proc.returncode
    run.exit_code, run.signal = (code, None) if code >= 0 else (None, -code)
    if not run.ready and ready_re and capture.ready_at is not None:
        run.ready, run.ready_at = True, capture.ready_at  # printed it, then ended at once
    run.lines = capture.lines()
    run.stdout_lines, run.stderr_lines = capture.counts["out"], capture.counts["err"]
    run.dropped = capture.total - len(run.lines)
    run.probe_pids = evidence.probe_pids(run.evidence) or ([proc.pid] if is_root() else [])
    event("done")


def run_one(
    lesson: Lesson,
    step: RunSpec,
    probe: Path,
    *,
    python: str,
    host: dict[str, Any],
    on_line: OnLine | None = None,
    on_event: OnEvent | None = None,
    should_stop: ShouldStop | None = None,
    recording: Recording | None = None,
    line_cap: int = DEFAULT_LINE_CAP,
    cancel: threading.Event | None = None,
) -> Run:
    """Run one live step of `lesson` with the learner's `probe`; never raises
    for the probe's or the environment's faults (they go into the Run)."""
    run = Run(id=step.id)
    run.unsupported = _unsupported(lesson, host)
    if run.unsupported:
        return run
    workload: WorkloadProcess | None = None
    recorder: evidence.Recorder | None = None
    guard: StepGuard | None = None
    report_dir: str | None = None  # where the root guard says what the probe left
    trace: bpfcalls.Trace | None = None  # as root: the probe's bpf() calls (bpfcalls.py)
    wants_calls = step.command is None and "bpf_calls" in checks.records_for(lesson.checks, step.id)
    try:
        python = _interpreter(python)
        probe = probe.resolve()
        if step.command is None and not probe.is_file():
            raise StepError(f"the probe file {probe} does not exist; check the path.")
        if step.command is None and not is_root() and sudo_path() is None:
            raise StepError(
                "the probe must run as root but sudo is not installed: "
                "install sudo or run the course as root."
            )
        # a keeper and a run record: nothing of this step outlives a killed runner
        guard = StepGuard(step.id, python)
        if step.workload:
            workload = start_workload(step.workload, python)
            guard.started(workload.process_pid, "workload")
            guard.folder(getattr(workload, "_folder", None))
        guard.folder(workload_process._staged)
        # The roots runner.templates allows in a run's args and command.
        values = {
            "python": python,
            "probe": str(probe),
            "dir": str(probe.parent),
            "workload": workload.truth() if workload else None,
            "host": host,
            "runs": recording.runs if recording else {},
        }
        if step.command is not None:
            argv = [templates.expand_text(part, values) for part in step.command]
        else:
            args = [templates.expand_text(a, values) for a in step.args]
            # -u: a probe's ready line arrives even when it forgets flush=True
            probe_argv = [python, "-u", str(probe), *args]
            recorder = evidence.Recorder(via_guard=not is_root())
            guard_args = recorder.guard_args()
            if not is_root():
                report_dir = recorder.dir or tempfile.mkdtemp(prefix="ebpfc-report-")
                guard_args += ["--lifeline", "--report", report_dir]
                if wants_calls:  # the guard is root: it traces, reads and reports
                    guard_args += ["--bpf-calls", f"{step.timeout:g}"]
            else:
                bpfcalls.sweep()  # instances a killed runner left, once they expired
                if wants_calls:
                    trace = bpfcalls.Trace.open(step.timeout, python)
            guard.folder(recorder.dir)
            guard.folder(report_dir)
            argv = privileged_argv(probe_argv, python, guard_args)
        run.argv = argv
        _supervise(
            run,
            step,
            argv,
            probe.parent,
            workload,
            line_cap=line_cap,
            on_line=on_line,
            on_event=on_event,
            should_stop=should_stop,
            cancel=cancel,
            recorder=recorder,
            guard=guard,
            trace=trace,
        )
        if report_dir is not None:
            _guard_report(run, Path(report_dir), calls=wants_calls)
        if step.command is None and not is_root() and not run.ready:
            refusal = sudo_refusal(run.err(), python)
            if refusal:
                run.error, run.stop_reason = refusal, "error"
        if workload and run.workload is None:
            run.workload = _ground_truth(workload, run)
    except (StepError, WorkloadError, templates.TemplateError) as exc:
        message = str(exc)
        run.error = message[0].upper() + message[1:]
        run.stop_reason = "error"
        if workload and run.workload is None:
            run.workload = workload.truth()
    except PatternError as exc:
        run.error, run.stop_reason = (
            f"The step's ready pattern is not a valid regex ({exc}).",
            "error",
        )
    finally:
        if workload:
            workload.kill()
        if recorder:
            recorder.close()
        if trace:
            trace.close()  # the instance never outlives its step
        if report_dir is not None and (recorder is None or report_dir != recorder.dir):
            shutil.rmtree(report_dir, ignore_errors=True)
        if guard:
            guard.close()  # after the kills: the step left nothing to clean
    return run


def _kernel_leftovers(run: Run, found: list[str], sentence: str | None) -> None:
    """What the probe left in the kernel fails the run, in one sentence."""
    run.kernel_leftovers = list(found)
    if sentence:
        run.error = run.error or sentence


def _guard_report(run: Run, folder: Path, *, calls: bool = False) -> None:
    """The root guard's word on what the probe left in the kernel, and (when
    asked) the kernel's record of its bpf() calls."""
    with contextlib.suppress(OSError, ValueError, TypeError):
        data = json.loads((folder / KERNEL_REPORT).read_text())
        found = [str(item) for item in data.get("leftovers", [])]
        sentence = data.get("sentence")
        _kernel_leftovers(run, found, sentence if isinstance(sentence, str) else None)
    if calls:
        _guard_calls(run, folder)


def _guard_calls(run: Run, folder: Path) -> None:
    """The root guard's record of the probe's bpf() calls (bpfcalls.REPORT)."""
    try:
        data = json.loads((folder / bpfcalls.REPORT).read_text())
        found, reason, lost = data["calls"], data.get("reason"), data.get("lost", 0)
        if found is not None:
            run.bpf_calls = [
                {"pid": int(c["pid"]), "tid": int(c["tid"]), "cmd": str(c["cmd"]), "ret": c["ret"]}
                for c in found
                if c.get("ret") is None or isinstance(c.get("ret"), int)
            ]
            run.bpf_calls_lost = int(lost)
        else:
            run.bpf_calls_missing = str(reason or "the root guard recorded no bpf() calls.")
    except (OSError, ValueError, TypeError, KeyError, AttributeError):
        run.bpf_calls, run.bpf_calls_missing = (
            None,
            "The root guard wrote no readable record of the probe's bpf() calls (it did not "
            "finish, or it is an older course's), so they could not be checked.",
        )


def _ground_truth(workload: WorkloadProcess, run: Run) -> WorkloadTruth:
    """The workload's facts if it was released, else only who it was."""
    if not workload.started_ns:
        return workload.truth()
    try:
        return workload.finish(timeout=WORKLOAD_GRACE)
    except WorkloadError as exc:
        message = str(exc)
        run.error = run.error or message[0].upper() + message[1:]
        return workload.truth()


def run_lesson(
    lesson: Lesson,
    probe: Path,
    *,
    python: str,
    host: dict[str, Any],
    on_line: OnLine | None = None,
    on_event: OnEvent | None = None,
    only: list[str] | None = None,
    should_stop: ShouldStop | None = None,
    line_cap: int = DEFAULT_LINE_CAP,
    cancel: threading.Event | None = None,
    stop_after: Callable[[Recording, RunSpec], bool] | None = None,
) -> Recording:
    """Run the lesson's steps in order (or those named in `only`); setting
    `cancel` stops the running probe and skips the steps after it, and so
    does `stop_after(recording, step)` returning True after a step (the
    mutation gate: a mutant is killed once one step's checks fail)."""
    try:
        source = probe.read_text(encoding="utf-8", errors="replace")
    except OSError:
        source = ""
    recording = Recording(
        lesson=lesson.id, probe_path=str(probe), probe_source=source, host=dict(host)
    )
    if lesson.kernel_functions:  # kernel drift: the names this kernel has, recorded
        recording.host["kernel_functions"] = ksyms.choose(
            lesson.kernel_functions, ksyms.text_symbols()
        )
    for step in lesson.runs:
        if only is not None and step.id not in only:
            continue
        if cancel is not None and cancel.is_set():
            break
        recording.runs[step.id] = run_one(
            lesson,
            step,
            probe,
            python=python,
            host=recording.host,
            on_line=on_line,
            on_event=on_event,
            should_stop=should_stop,
            recording=recording,
            line_cap=line_cap,
            cancel=cancel,
        )
        if stop_after is not None and stop_after(recording, step):
            break
    return recording
