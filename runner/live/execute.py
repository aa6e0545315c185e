"""Run a lesson's live steps: start the workload paused, start the probe
privileged in its own process group, wait until it is attached, release the
workload, stop the probe, and record everything as a Run.

This is the only module that touches the kernel through a learner's probe;
everything after it (grading, rendering) is a pure function of the Run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from runner.live.privilege import (
    become_subreaper,
    is_root,
    privileged_argv,
    signal_group,
    start_ticks,
    sudo_path,
    sudo_refusal,
    sweep_adopted,
    wait_group_gone,
)
from runner.live.textclean import decode_line
from runner.live.workload_process import WorkloadProcess, monotonic_ns, start_workload
from runner.model import Lesson, Line, Recording, Run, RunSpec, WorkloadTruth
from runner.workloads import WorkloadError

DEFAULT_LINE_CAP = 20_000
MAX_LINE_BYTES = 64 * 1024  # longer lines are cut (and still count as one line)
INT_GRACE = 3.0  # SIGINT, then SIGTERM after this many seconds
TERM_GRACE = 2.0  # then SIGKILL after this many more
WORKLOAD_GRACE = 10.0  # how long a released workload may take after the probe ended
_TICK = 0.05

OnLine = Callable[[str, Line], None]
OnEvent = Callable[[str, str], None]  # (step id, "started"|"ready"|"go"|"stopping"|"done")
ShouldStop = Callable[[Run], bool]

_PLACEHOLDER = re.compile(r"\{([a-zA-Z_][\w.]*)\}")


class StepError(Exception):
    """The runner cannot do this step; the message is one sentence."""


# ---------------------------------------------------------------- templates


class _Templates:
    """`{python}`, `{probe}`, `{dir}`, `{workload.*}`, `{host.*}`, `{runs.<id>.*}`."""

    def __init__(self, roots: dict[str, Any]) -> None:
        self.roots = roots

    def lookup(self, dotted: str) -> Any:
        head, *rest = dotted.split(".")
        if head not in self.roots or self.roots[head] is None:
            raise StepError(f"the template {{{dotted}}} names nothing this step has.")
        value = self.roots[head]
        for part in rest:
            if isinstance(value, dict) and part in value:
                value = value[part]
            elif not isinstance(value, dict) and hasattr(value, part):
                value = getattr(value, part)
            else:
                raise StepError(f"the template {{{dotted}}} names nothing this step has.")
        return value

    def expand(self, value: str) -> str:
        whole = _PLACEHOLDER.fullmatch(value)
        if whole:
            return str(self.lookup(whole.group(1)))
        return _PLACEHOLDER.sub(lambda m: str(self.lookup(m.group(1))), value)


# ---------------------------------------------------------------- capture


class _Capture:
    """Both output streams of one process, read in threads: cleaned,
    timestamped, counted exactly, kept up to a cap (the head and the tail,
    so a final summary survives a flood)."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        t0: float,
        cap: int,
        ready: re.Pattern[str] | None,
        emit: Callable[[Line], None] | None,
    ) -> None:
        self._t0 = t0
        self._ready = ready
        self._emit = emit
        self._lock = threading.Lock()
        self._head: list[Line] = []
        self._head_cap = cap - cap // 4
        self._tail: deque[Line] = deque(maxlen=cap // 4)
        self.counts = {"out": 0, "err": 0}
        self.ready_at: float | None = None
        self._threads = [
            threading.Thread(target=self._read, args=(proc.stdout, "out"), daemon=True),
            threading.Thread(target=self._read, args=(proc.stderr, "err"), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read(self, pipe: IO[bytes], stream: str) -> None:
        while True:
            raw = pipe.readline(MAX_LINE_BYTES)
            if not raw:
                break
            if not raw.endswith(b"\n") and len(raw) >= MAX_LINE_BYTES:
                while (rest := pipe.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass  # drop the rest of an overlong line
            t = round(time.monotonic() - self._t0, 6)
            self._add(Line(t=t, stream=stream, text=decode_line(raw)))  # type: ignore[arg-type]
        pipe.close()

    def _add(self, line: Line) -> None:
        with self._lock:
            self.counts[line.stream] += 1
            if len(self._head) < self._head_cap:
                self._head.append(line)
            else:
                self._tail.append(line)
            if self.ready_at is None and self._ready and self._ready.search(line.text):
                self.ready_at = line.t
        if self._emit:
            self._emit(line)

    @property
    def total(self) -> int:
        return self.counts["out"] + self.counts["err"]

    def lines(self) -> list[Line]:
        with self._lock:
            return self._head + list(self._tail)

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))


# ---------------------------------------------------------------- the step


def _unsupported(lesson: Lesson, host: dict[str, Any]) -> str | None:
    features = host.get("features") or {}
    for name in lesson.requires:
        fact = features.get(name)
        if fact is not None and not fact.get("ok", False):
            why = fact.get("reason") or "not available"
            return (
                f"This kernel cannot do {name} ({why}), so this step was not run; "
                "`course check --vm` runs it in a VM with a stock kernel."
            )
    return None


def _interpreter(python: str) -> str:
    found = python if os.path.isabs(python) else shutil.which(python)
    if not found or not os.access(found, os.X_OK):
        raise StepError(f"the course interpreter {python!r} was not found; pass an absolute path.")
    return found


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """SIGINT (so the probe prints its summary), then TERM, then KILL, to the group."""
    for sig, grace in ((signal.SIGINT, INT_GRACE), (signal.SIGTERM, TERM_GRACE)):
        if proc.poll() is not None:
            return
        signal_group(proc.pid, sig)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            pass
    signal_group(proc.pid, signal.SIGKILL)
    proc.wait()


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
) -> None:
    def event(what: str) -> None:
        if on_event:
            on_event(step.id, what)

    ready_re = re.compile(step.ready) if step.ready else None
    emit = (lambda line: on_line(step.id, line)) if on_line else None
    t0 = time.monotonic()
    run.started_ns = monotonic_ns()
    # As root the probe is our child, so its escaped descendants come back to
    # us; through sudo the root guard does this part (we could not kill them).
    sweeping = is_root() and become_subreaper()
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        raise StepError(f"could not start {argv[0]} ({exc.strerror or exc}).") from None
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
            event("stopping")
            _stop_group(proc)
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
    run.ended_ns = monotonic_ns()
    run.duration = round(time.monotonic() - t0, 6)
    code = proc.returncode
    run.exit_code, run.signal = (code, None) if code >= 0 else (None, -code)
    if not run.ready and ready_re and capture.ready_at is not None:
        run.ready, run.ready_at = True, capture.ready_at  # printed it, then ended at once
    run.lines = capture.lines()
    run.stdout_lines, run.stderr_lines = capture.counts["out"], capture.counts["err"]
    run.dropped = capture.total - len(run.lines)
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
        if step.workload:
            workload = start_workload(step.workload, python)
        templates = _Templates(
            {
                "python": python,
                "probe": str(probe),
                "dir": str(probe.parent),
                "workload": workload.truth() if workload else None,
                "host": host,
                "runs": recording.runs if recording else {},
            }
        )
        if step.command is not None:
            argv = [templates.expand(part) for part in step.command]
        else:
            probe_argv = [python, str(probe), *(templates.expand(a) for a in step.args)]
            argv = privileged_argv(probe_argv, python)
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
        )
        if step.command is None and not is_root() and not run.ready:
            refusal = sudo_refusal(run.err(), python)
            if refusal:
                run.error, run.stop_reason = refusal, "error"
        if workload and run.workload is None:
            run.workload = _ground_truth(workload, run)
    except (StepError, WorkloadError) as exc:
        message = str(exc)
        run.error = message[0].upper() + message[1:]
        run.stop_reason = "error"
        if workload and run.workload is None:
            run.workload = workload.truth()
    except re.error as exc:
        run.error, run.stop_reason = (
            f"The step's ready pattern is not a valid regex ({exc}).",
            "error",
        )
    finally:
        if workload:
            workload.kill()
    return run


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
) -> Recording:
    """Run the lesson's steps in order (or those named in `only`); setting
    `cancel` stops the running probe and skips the steps after it."""
    try:
        source = probe.read_text(encoding="utf-8", errors="replace")
    except OSError:
        source = ""
    recording = Recording(
        lesson=lesson.id, probe_path=str(probe), probe_source=source, host=dict(host)
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
            host=host,
            on_line=on_line,
            on_event=on_event,
            should_stop=should_stop,
            recording=recording,
            line_cap=line_cap,
            cancel=cancel,
        )
    return recording
