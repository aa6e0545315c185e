"""A forked child that does exactly the counted actions and nothing else.

An interpreter makes dozens of system calls of its own, so the counted work
runs in a child forked after every import and setup is done. The child names
itself, then waits for SIGUSR1 in `sigwait` (a system call that is neither a
read, a write nor an open, and is entered before the go), runs `actions`,
and leaves with `os._exit` (one exit_group, no clean-up calls).
"""

from __future__ import annotations

import ctypes
import json
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runner.workloads import WorkloadError, set_comm

_PR_SET_PDEATHSIG = 1
_GO = signal.SIGUSR1

Actions = Callable[[], dict[str, Any] | None]


@dataclass
class Child:
    pid: int  # the child's tgid
    tid: int  # the thread that runs the actions
    _results: int  # read end of the pipe the child writes its own facts to

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


def _run_gated(actions: Actions, results: int) -> None:
    signal.sigwait({_GO})
    facts = actions()
    if facts is not None:
        os.write(results, json.dumps(facts).encode())


def fork_gated(actions: Actions, comm: str, *, thread_comm: str | None = None) -> Child:
    """Fork a child named `comm` that runs `actions` once released.

    With `thread_comm`, the actions run in a second thread of the child with
    that name, so the work has a tid different from the pid.
    """
    results_r, results_w = os.pipe()
    tid_r, tid_w = os.pipe()
    # Block the go signal before forking so it stays pending until sigwait.
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {_GO})
    pid = os.fork()
    if pid == 0:  # the child: no return from here
        code = 1
        try:
            os.close(results_r)
            os.close(tid_r)
            _die_with_parent()
            set_comm(comm)
            if thread_comm is None:
                os.write(tid_w, str(os.getpid()).encode())
                os.close(tid_w)
                _run_gated(actions, results_w)
            else:
                failed: list[BaseException] = []

                def worker() -> None:
                    try:
                        set_comm(thread_comm)
                        os.write(tid_w, str(threading.get_native_id()).encode())
                        os.close(tid_w)
                        _run_gated(actions, results_w)
                    except BaseException as exc:  # reported through the exit status
                        failed.append(exc)

                thread = threading.Thread(target=worker)
                thread.start()
                thread.join()
                if failed:
                    raise failed[0]
            code = 0
        finally:
            os._exit(code)
    signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    os.close(results_w)
    os.close(tid_w)
    with os.fdopen(tid_r, "rb") as pipe:
        raw_tid = pipe.read()
    if not raw_tid:
        os.waitpid(pid, 0)
        raise WorkloadError("the workload's child process died before it was ready.")
    return Child(pid=pid, tid=int(raw_tid), _results=results_r)
