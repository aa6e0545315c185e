"""A forked child that does exactly the counted actions and nothing else.

An interpreter makes dozens of system calls of its own, so the counted work
runs in a child forked after every import and setup is done. The child names
itself and starts a worker thread with the same comm (unless told another),
so the work's tid differs from the pid (tgid) a probe must print. The worker
waits for SIGUSR1 in `sigwait` (a system call that is neither a read, a
write nor an open, and is entered before the go), runs `actions`, writes the
facts it measured (only if there are any) and ends the process itself with
`os._exit`: one exit_group, no clean-up calls. The main thread is parked in
a join since before the go and never runs again, so after the go the whole
process makes the counted calls, then exit_group, and nothing else.

With `cpus`, one worker per CPU, each pinned to its CPU: the first takes the
signal and releases the others; the main thread collects their facts.

`fork_noise` forks a second gated child (comm `ebpfc-noise`) that repeats a
step while the counted child works: activity a probe's filter must drop.
"""

from __future__ import annotations

import ctypes
import json
import mmap
import os
import signal
import struct
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NoReturn

from runner.workloads import WorkloadError, set_comm

_PR_SET_PDEATHSIG = 1
_GO = signal.SIGUSR1
NOISE_COMM = "ebpfc-noise"
NOISE_START_TIMEOUT = 10.0
NOISE_PACE = 0.005  # seconds between noise steps once its burst is done

Actions = Callable[[], dict[str, Any] | None]


@dataclass
class Child:
    pid: int  # the child's tgid
    tid: int  # the (first) worker thread, the one that runs the actions
    _results: int  # read end of the pipe the child writes its own facts to
    tids: list[int] = field(default_factory=list)  # every worker thread, in order

    def release(self) -> None:
        """Let the child do its actions."""
        os.kill(self.pid, _GO)

    def wait(self) -> dict[str, Any]:
        """Wait for the child to end; return the facts it measured itself."""
        _, status = os.waitpid(self.pid, 0)
        with os.fdopen(self._results, "rb") as pipe:
            raw = pipe.read()
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise WorkloadError(f"the workload's child process failed (exit status {code}).")
        return json.loads(raw) if raw else {}


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _report_failure() -> None:
    """Only on failure: the traceback goes to stderr, which the runner keeps."""
    traceback.print_exc()
    sys.stderr.flush()


def _one_worker(actions: Actions, name: str, results_w: int, tid_w: int) -> NoReturn:
    def worker() -> None:
        code = 1
        try:
            set_comm(name)
            os.write(tid_w, f"{threading.get_native_id()}\n".encode())
            os.close(tid_w)
            signal.sigwait({_GO})
            facts = actions()
            if facts is not None:
                os.write(results_w, json.dumps(facts).encode())
            code = 0
        except BaseException:
            _report_failure()
        finally:
            os._exit(code)  # from the worker: the main thread never runs again

    threading.Thread(target=worker, daemon=True).start()
    threading.Event().wait()  # parked before the go; exit_group ends it
    os._exit(1)


def _pinned_workers(
    actions: Actions, name: str, cpus: list[int], results_w: int, tid_w: int
) -> NoReturn:
    count = len(cpus)
    set_up = threading.Barrier(count + 1)
    go = threading.Event()
    tids = [0] * count
    results: list[dict[str, Any]] = [{} for _ in cpus]
    failed: list[bool] = []

    def worker(i: int) -> None:
        try:
            set_comm(name)
            tids[i] = threading.get_native_id()
            os.sched_setaffinity(tids[i], {cpus[i]})
        except BaseException:
            _report_failure()
            failed.append(True)
        set_up.wait()
        if failed:
            return
        try:
            if i == 0:
                signal.sigwait({_GO})
                go.set()
            else:
                go.wait()
            results[i] = {"tid": tids[i], "cpu": cpus[i], **(actions() or {})}
        except BaseException:
            _report_failure()
            failed.append(True)

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    set_up.wait()
    if failed:
        os._exit(1)
    os.write(tid_w, "".join(f"{tid}\n" for tid in tids).encode())
    os.close(tid_w)
    for thread in threads:
        thread.join()
    if failed:
        os._exit(1)
    os.write(results_w, json.dumps({"threads": results}).encode())
    os._exit(0)


def fork_gated(
    actions: Actions,
    comm: str,
    *,
    thread_comm: str | None = None,
    cpus: list[int] | None = None,
) -> Child:
    """Fork a child named `comm` whose worker thread runs `actions` once released.

    The worker is named `thread_comm` (default: `comm`). With `cpus`, one
    worker per CPU, pinned to it, each running `actions`; the child's facts
    are then `{"threads": [{tid, cpu, **facts}, ...]}`.
    """
    if cpus is not None and not cpus:
        raise WorkloadError("there is no CPU to run the workload on.")
    results_r, results_w = os.pipe()
    tid_r, tid_w = os.pipe()
    # Block the go signal before forking so it stays pending until sigwait
    # (threads inherit the mask, so only the sigwait takes it).
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {_GO})
    pid = os.fork()
    if pid == 0:  # the child: no return from here
        try:
            os.close(results_r)
            os.close(tid_r)
            _die_with_parent()
            set_comm(comm)
            name = thread_comm or comm
            if cpus is None:
                _one_worker(actions, name, results_w, tid_w)
            else:
                _pinned_workers(actions, name, cpus, results_w, tid_w)
        except BaseException:
            _report_failure()
        finally:
            os._exit(1)
    signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    os.close(results_w)
    os.close(tid_w)
    with os.fdopen(tid_r, "rb") as pipe:
        raw_tids = pipe.read().split()
    if not raw_tids:
        os.waitpid(pid, 0)
        os.close(results_r)
        raise WorkloadError("the workload's child process died before it was ready.")
    tids = [int(t) for t in raw_tids]
    return Child(pid=pid, tid=tids[0], _results=results_r, tids=tids)


class _Shared:
    """A few bytes shared across fork, read and written without a system call:
    the noise says it runs and how many steps it made; the parent says stop."""

    _RUNNING, _STOP, _STEPS = 0, 1, 8

    def __init__(self) -> None:
        self._mem = mmap.mmap(-1, 16)

    def set_running(self) -> None:
        self._mem[self._RUNNING] = 1

    def running(self) -> bool:
        return self._mem[self._RUNNING] == 1

    def set_stop(self) -> None:
        self._mem[self._STOP] = 1

    def stopped(self) -> bool:
        return self._mem[self._STOP] == 1

    def set_steps(self, n: int) -> None:
        struct.pack_into("q", self._mem, self._STEPS, n)

    def steps(self) -> int:
        return int(struct.unpack_from("q", self._mem, self._STEPS)[0])


@dataclass
class Noise:
    """A second process doing the same kinds of calls as the counted child."""

    child: Child
    _shared: _Shared

    def start(self) -> None:
        """Release the noise and return once it is making its calls."""
        self.child.release()
        deadline = time.monotonic() + NOISE_START_TIMEOUT
        while not self._shared.running():
            done, _ = os.waitpid(self.child.pid, os.WNOHANG)
            if done or time.monotonic() > deadline:
                raise WorkloadError("the workload's noise process did not start.")
            time.sleep(0.001)

    def stop(self) -> None:
        self._shared.set_stop()

    def wait(self) -> dict[str, Any]:
        """Wait for the noise to end: who it was and how many steps it made."""
        self.child.wait()
        return {
            "pid": self.child.pid,
            "tid": self.child.tid,
            "comm": NOISE_COMM,
            "steps": self._shared.steps(),
        }


def fork_noise(step: Callable[[], None], minimum: int) -> Noise:
    """A gated child `ebpfc-noise` that repeats `step` `minimum` times at full
    speed (released just before the counted child, so the two overlap), then
    every NOISE_PACE seconds until stopped: activity all through the counted
    work without flooding a probe that prints every event. It counts in shared
    memory, so after the go it makes only its steps' system calls, the
    clock_nanosleep of its pauses, and one exit_group."""
    shared = _Shared()

    def actions() -> None:
        shared.set_running()
        n = 0
        while n < minimum or not shared.stopped():
            if n >= minimum:
                time.sleep(NOISE_PACE)
            step()
            n += 1
            shared.set_steps(n)

    return Noise(fork_gated(actions, NOISE_COMM), shared)


def run_released(child: Child, noise: Noise | None) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Release the counted child (once the noise runs, if any) and wait for both:
    the child's own facts and the noise's (None without noise)."""
    if noise is None:
        child.release()
        return child.wait(), None
    noise.start()
    try:
        child.release()
        facts = child.wait()
    finally:
        noise.stop()
    return facts, noise.wait()
