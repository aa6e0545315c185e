"""The runner's side of a workload: start it paused, release it, collect facts.

The workload runs as `nobody` when the runner is root (it is the
unprivileged ground truth), in a fresh folder it owns, in its own process
group so that killing it leaves nothing behind. Its params are drawn here
(`{"random": [MIN, MAX]}` becomes an integer, fresh for each run) and sent
on its stdin, never in argv or the environment, where a probe could read
them from /proc before the go (protocol: `runner/workloads/__main__.py`).
"""

from __future__ import annotations

import atexit
import json
import os
import queue
import random
import shutil
import subprocess
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

import runner.workloads as workloads_package
from runner.live.privilege import kill_group
from runner.model import WorkloadSpec, WorkloadTruth
from runner.workloads import (
    RANDOM_KEY,
    WORKDIR_ENV,
    Identity,
    WorkloadError,
    all_workloads,
    get,
    is_random,
    random_range_problem,
)

NOBODY = 65534
# How long a workload may take to start and report who it is. An emulated VM
# guest (no KVM) is many times slower, so it may raise this through the env.
IDENTITY_TIMEOUT = float(os.environ.get("EBPF_COURSE_WORKLOAD_START_TIMEOUT", "30"))
_WORKLOADS_DIR = Path(workloads_package.__file__).resolve().parent
_CODE_ROOT = _WORKLOADS_DIR.parent.parent  # the folder holding the runner package
_RANDOM = random.SystemRandom()  # draws a probe cannot predict from anything it can read


def monotonic_ns() -> int:
    """CLOCK_MONOTONIC, the clock bpf_ktime_get_ns() reads."""
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def params_error(name: str, params: dict[str, Any]) -> str | None:
    """One sentence saying why `params` do not fit workload `name`, or None."""
    import jsonschema  # imported lazily: the workload child should start fast

    found = get(name)
    if found is None:
        known = ", ".join(all_workloads())
        return f"unknown workload kind {name!r}; known kinds are: {known}."
    try:
        jsonschema.validate(params, found.params)
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "params"
        return f"workload {name!r} has bad params at {where}: {exc.message}."
    empty = random_range_problem(params)
    if empty:
        return f"workload {name!r} has bad params at {empty[0]}: {empty[1]}."
    return None


def draw_params(params: dict[str, Any]) -> dict[str, Any]:
    """`params` with each `{"random": [MIN, MAX]}` replaced by a fresh draw
    (MIN <= value <= MAX); call `params_error` first."""
    return {
        key: _RANDOM.randint(*value[RANDOM_KEY]) if is_random(value) else value
        for key, value in params.items()
    }


class WorkloadProcess:
    """A started workload, paused until `go()`."""

    def __init__(self, spec: WorkloadSpec, proc: subprocess.Popen[bytes], folder: Path) -> None:
        self.spec = spec
        self.identity: Identity | None = None
        self.started_ns = 0
        self.ended_ns = 0
        self._proc = proc
        self._folder = folder
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stderr: deque[str] = deque(maxlen=20)
        self._done = threading.Event()
        self._result: dict[str, Any] | None = None
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    @property
    def process_pid(self) -> int:
        """The workload runner process (not the child doing the work)."""
        return self._proc.pid

    # ------------------------------------------------------------ protocol

    def _read_stdout(self) -> None:
        assert self._proc.stdout is not None
        for raw in self._proc.stdout:
            try:
                message = json.loads(raw)
            except ValueError:
                continue  # not a protocol line
            if isinstance(message, dict):
                if "facts" in message or "error" in message:
                    self.ended_ns = self.ended_ns or monotonic_ns()
                self._messages.put(message)
        self._messages.put(None)  # end of output

    def _read_stderr(self) -> None:
        assert self._proc.stderr is not None
        for raw in self._proc.stderr:
            text = raw.decode(errors="replace").strip()
            if text:
                self._stderr.append(text)

    def _next(self, timeout: float) -> dict[str, Any] | None:
        """The next protocol message; None when the workload's output ended."""
        try:
            return self._messages.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            raise WorkloadError(
                f"workload {self.spec.kind!r} did not answer within {timeout:g} s."
            ) from None

    def _failure(self, message: dict[str, Any] | None) -> WorkloadError:
        if message and "error" in message:
            return WorkloadError(f"workload {self.spec.kind!r}: {message['error']}")
        last = self._stderr[-1] if self._stderr else "no message"
        why = f"workload {self.spec.kind!r} ended unexpectedly ({last})"
        if _unprivileged():
            why += "; it runs as nobody, so the interpreter and the course must be world-readable"
        return WorkloadError(why + ".")

    def wait_identity(self, timeout: float) -> Identity:
        message = self._next(timeout)
        if not message or "identity" not in message:
            raise self._failure(message)
        raw = message["identity"]
        self.identity = Identity(pid=int(raw["pid"]), tid=int(raw["tid"]), comm=str(raw["comm"]))
        return self.identity

    # ------------------------------------------------------------ control

    def send_params(self, params: dict[str, Any]) -> None:
        """The first line on the workload's stdin: its params, already drawn."""
        assert self._proc.stdin is not None
        try:
            self._proc.stdin.write(json.dumps(params).encode() + b"\n")
            self._proc.stdin.flush()
        except BrokenPipeError:
            pass  # it died at start-up; wait_identity reports why

    def go(self) -> None:
        """Release the workload: it does its actions now."""
        assert self._proc.stdin is not None
        self.started_ns = monotonic_ns()
        try:
            self._proc.stdin.write(b"go\n")
            self._proc.stdin.close()
        except BrokenPipeError:
            pass  # it died; finish() reports why

    def is_finished(self) -> bool:
        """True once the workload reported its facts (or failed)."""
        if self._result is None and not self._messages.empty():
            self._result = self._messages.get_nowait() or {}
        return self._result is not None

    def finish(self, timeout: float) -> WorkloadTruth:
        """Wait up to `timeout` s for the facts; the ground truth of the step."""
        if self._result is None:
            self._result = self._next(timeout) or {}
        if "facts" not in self._result:
            raise self._failure(self._result)
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            # a starved machine, not a wrong probe: say so instead of a traceback
            raise WorkloadError(
                "the workload reported what it did but did not exit within 5 s; the "
                "machine may be overloaded, so check again when it is quieter"
            ) from None
        self._cleanup()
        return self.truth(self._result["facts"])

    def truth(self, facts: dict[str, Any] | None = None) -> WorkloadTruth:
        """What is known so far (identity, times); facts only once finished."""
        ident = self.identity or Identity(pid=0, tid=0, comm="")
        return WorkloadTruth(
            kind=self.spec.kind,
            pid=ident.pid,
            tid=ident.tid,
            comm=ident.comm,
            started_ns=self.started_ns,
            ended_ns=self.ended_ns if facts is not None else 0,
            facts=dict(facts or {}),
        )

    def kill(self) -> None:
        """Stop the workload and everything it started; safe to call twice."""
        kill_group(self._proc.pid)  # the forked child too, not just the leader
        if self._proc.poll() is None:
            self._proc.wait()
        self._cleanup()

    def _cleanup(self) -> None:
        for pipe in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
            if pipe and pipe is not self._proc.stdout:
                try:
                    pipe.close()
                except OSError:
                    pass
        shutil.rmtree(self._folder, ignore_errors=True)

    def __enter__(self) -> WorkloadProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill()


def _unprivileged() -> dict[str, Any]:
    """Popen arguments that drop root to nobody; nothing when not root."""
    if os.geteuid() != 0:
        return {}
    return {"user": NOBODY, "group": NOBODY, "extra_groups": []}


_staged: Path | None = None


def _code_for_nobody() -> Path:
    """A world-readable copy of the few stdlib-only modules a workload runs.
    The course may live where nobody cannot read (root's 0700 home, a private
    temp dir); the workload must still start there, unprivileged."""
    global _staged
    if _staged is not None and _staged.is_dir():
        return _staged
    root = Path(tempfile.mkdtemp(prefix="ebpfc-code-"))
    package = root / "runner"
    package.mkdir()
    (package / "__init__.py").write_text("")
    # the workloads package is stdlib-only and self-contained: copy it whole
    shutil.copytree(
        _WORKLOADS_DIR, package / "workloads", ignore=shutil.ignore_patterns("__pycache__")
    )
    for path in (root, *root.rglob("*")):
        path.chmod(0o755 if path.is_dir() else 0o644)
    atexit.register(shutil.rmtree, root, True)
    _staged = root
    return root


def start_workload(
    spec: WorkloadSpec, python: str, *, timeout: float = IDENTITY_TIMEOUT
) -> WorkloadProcess:
    """Start `spec` paused and wait until it says who does the work."""
    problem = params_error(spec.kind, spec.params)
    params: dict[str, Any] = {}
    if not problem:
        params = draw_params(spec.params)
        problem = params_error(spec.kind, params)
    if problem:
        raise WorkloadError(problem[0].upper() + problem[1:])
    folder = Path(tempfile.mkdtemp(prefix="ebpfc-wl-"))
    drop = _unprivileged()
    if drop:
        os.chown(folder, NOBODY, NOBODY)
    env = dict(os.environ)
    env[WORKDIR_ENV] = str(folder)
    env["HOME"] = str(folder)
    code = _CODE_ROOT
    if drop:
        # nobody may not reach the course or its virtualenv: run the staged copy
        # with the real interpreter behind the venv (workloads need only stdlib)
        code, python = _code_for_nobody(), os.path.realpath(python)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(code), env.get("PYTHONPATH", "")) if p)
    env.pop("PYTHONSTARTUP", None)
    argv = [python, "-m", "runner.workloads", spec.kind]  # the params go on stdin
    try:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=folder,
            env=env,
            start_new_session=True,
            **drop,
        )
    except OSError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        as_nobody = " as nobody" if drop else ""
        raise WorkloadError(
            f"could not start workload {spec.kind!r} with {python}{as_nobody} "
            f"({exc.strerror or exc})."
        ) from None
    handle = WorkloadProcess(spec, proc, folder)
    try:
        handle.send_params(params)
        handle.wait_identity(timeout)
    except WorkloadError:
        handle.kill()
        raise
    return handle
