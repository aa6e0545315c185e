"""Running the probe privileged, and making sure nothing it started survives.

Root runs the probe directly. Anyone else goes through `sudo -n` (never a
password prompt from a pipe; the caller tells the learner to run `sudo -v`).
Under sudo the runner cannot signal the root-owned probe itself, so sudo
starts this file as a small root guard: it runs the probe in its own process
group, relays INT/TERM to that group, kills the whole group once the probe
ends, and kills it at once if sudo dies (the runner's SIGKILL reaches only
sudo).

This file is also run as a script by root, so it imports only the stdlib.
"""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

GUARD = str(Path(__file__).resolve())  # this file, run by sudo as the root guard
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36

# sudo's own words (sudo 1.8/1.9) when it will not run the command.
_NEEDS_PASSWORD = re.compile(r"^sudo: (a password is required|a terminal is required)")
_NOT_ALLOWED = re.compile(
    r"^(Sorry, user .* is not allowed|sudo: .*(not in the sudoers|may not run))"
)


def is_root() -> bool:
    return os.geteuid() == 0


def sudo_path() -> str | None:
    return shutil.which("sudo")


def privileged_argv(argv: list[str], python: str) -> list[str]:
    """The argv that runs `argv` as root: itself when root, else sudo + guard."""
    if is_root():
        return list(argv)
    sudo = sudo_path() or "sudo"
    return [sudo, "-n", "--", python, GUARD, "--", *argv]


def sudoers_rule(user: str, python: str) -> str:
    """The one sudoers line the course needs: `python` running the guard, no password."""
    return f"{user} ALL=(root) NOPASSWD: {python} {GUARD} *\n"


def sudo_refusal(first_stderr_lines: list[str], python: str) -> str | None:
    """If sudo refused to start the probe, one sentence saying what to do."""
    for line in first_stderr_lines[:3]:
        if _NEEDS_PASSWORD.search(line):
            return (
                "sudo needs a password (or has no rule for you) before the probe can run "
                "as root: run `sudo -v` in this terminal, or add the sudoers rule from the "
                "README, then check again."
            )
        if _NOT_ALLOWED.search(line):
            return (
                f"sudo does not allow you to run {python} as root: add a sudoers rule for it "
                "(see the README's setup section) or run the course as root."
            )
    return None


# ------------------------------------------------------------ process groups


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # fields after "(comm)": state ppid pgrp ...
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] not in "ZX":
            members.append(int(entry.name))
    return members


def signal_group(pgid: int, sig: int) -> bool:
    """Send `sig` to the group; False when nothing in it could be signalled."""
    try:
        os.killpg(pgid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def wait_group_gone(pgid: int, timeout: float) -> bool:
    """Wait until no live process is left in the group; True if it is empty."""
    deadline = time.monotonic() + timeout
    while group_members(pgid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def kill_group(pgid: int, timeout: float = 5.0) -> bool:
    """SIGKILL every process of the group and wait until they are gone."""
    signal_group(pgid, signal.SIGKILL)
    return wait_group_gone(pgid, timeout)


# ------------------------------------------------------------ escaped descendants
#
# A probe's child can leave the process group (setsid) and outlive a group
# kill. As a "child subreaper", orphans of our descendants are re-parented
# to us instead of init, so after a run we can find and end them.


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux 3.4+); False when the kernel refuses."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def start_ticks(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot (field 22 of /proc/PID/stat)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[19])


def _adopted(since_ticks: int, exclude: set[int]) -> list[int]:
    """Our children in another session than ours that started at or after
    `since_ticks`: what a probe left behind (our own helpers share our session
    or started before the probe)."""
    me, my_session = os.getpid(), os.getsid(0)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in exclude:
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid, session, started = int(fields[1]), int(fields[3]), int(fields[19])
        if ppid == me and session != my_session and started >= since_ticks:
            found.append(int(entry.name))
    return found


def sweep_adopted(since_ticks: int, exclude: set[int] | None = None) -> list[int]:
    """SIGKILL and reap the adopted leftovers of a probe, generation by generation
    (killing one re-parents its own children to us). Returns the pids ended."""
    ended: list[int] = []
    skip = set(exclude or ())
    for _ in range(50):
        found = _adopted(since_ticks, skip)
        if not found:
            break
        killed = []
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
            except ProcessLookupError:
                killed.append(pid)  # already gone: still ours to reap
            except PermissionError:
                skip.add(pid)  # not ours to end; never wait on it
        for pid in killed:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        ended += killed
    return ended


# ------------------------------------------------------------ the root guard


def _guard(argv: list[str]) -> int:
    """Run `argv` in its own group as root; relay signals; leave nothing."""
    become_subreaper()
    probe = subprocess.Popen(argv, stdin=subprocess.DEVNULL, start_new_session=True)
    since = start_ticks(probe.pid) or 0

    def relay(sig: int, _frame: object) -> None:
        signal_group(probe.pid, sig)

    def parent_died(_sig: int, _frame: object) -> None:
        kill_group(probe.pid)
        sweep_adopted(since)
        os._exit(128 + signal.SIGKILL)

    signal.signal(signal.SIGINT, relay)
    signal.signal(signal.SIGTERM, relay)
    signal.signal(signal.SIGHUP, parent_died)
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGHUP, 0, 0, 0)
    if os.getppid() == 1:  # sudo already gone before the prctl
        parent_died(signal.SIGHUP, None)
    status = probe.wait()
    kill_group(probe.pid)  # children the probe left behind
    sweep_adopted(since)  # and those that left its group
    if status < 0:  # end the same way, so sudo and the runner see the signal
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    return status


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print("usage: privilege.py -- PROGRAM [ARGS...]", file=sys.stderr)
        sys.exit(2)
    sys.exit(_guard(args))
