"""Running the probe privileged, and making sure nothing it started survives.

Root runs the probe directly. Anyone else goes through `sudo -n` (never a
password prompt from a pipe; the caller tells the learner to run `sudo -v`).
Under sudo the runner cannot signal the root-owned probe itself, so sudo
starts this file as a small root guard: it runs the probe in its own process
group, relays INT/TERM to that group, kills the whole group once the probe
ends, and kills it at once if sudo dies (the runner's SIGKILL reaches only
sudo). Given `--evidence DIR`, it also holds BPF run statistics on for the
run and, on SIGUSR1 / SIGUSR2 (relayed by sudo), writes the probe's ready /
stop kernel-evidence snapshot into DIR (the runner cannot read a root
process's fdinfo).

This file is also run as a script by root, so it imports only the stdlib and
evidence.py / bpffs.py / bpfcalls.py from its own folder.

What the guard runs is narrow (see `command_problem`): the course's own
interpreter on a probe file, or the feature trials module; anything else
is refused in one sentence with exit status 2. The probe starts with SIGINT
and SIGTERM at their defaults whatever sudo inherited (a background job's
ignored SIGINT would otherwise reach it, and Ctrl+C would never stop it).
Given `--lifeline`, its stdin is a pipe from the runner: end-of-file means
the runner is gone (even by SIGKILL), and the guard ends the probe's group.
Given `--report DIR`, it writes what the probe left in the kernel
(`kernel.json`, see bpffs.py) after removing it. Given `--bpf-calls SECONDS`
too (the step's timeout), it records the probe's bpf() syscalls from its
first instruction in a private tracefs instance and writes them there
(`bpf_calls.json`, see bpfcalls.py), removing the instance however it ends.
"""

from __future__ import annotations

import contextlib
import ctypes
import grp
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

GUARD = str(Path(__file__).resolve())  # this file, run by sudo as the root guard
FEATURE_MODULE = "runner.live.feature_probe"  # the one module the guard runs with -m
KERNEL_REPORT = "kernel.json"  # what the probe left in the kernel, in the --report folder
_CODE_ROOT = Path(GUARD).parents[2]  # holds the runner package (a checkout or site-packages)
_SUDO_GROUPS = ("sudo", "wheel", "admin")
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36

# sudo's own words (sudo 1.8/1.9) when it will not run the command.
_NEEDS_PASSWORD = re.compile(r"^sudo: (a password is required|a terminal is required)")
_NOT_ALLOWED = re.compile(
    r"^(Sorry, user .* is not allowed|sudo: .*(not in the sudoers|may not run))"
)
_GUARD_REFUSED = re.compile(r"^privilege\.py: (?P<why>refused: .*)$")


def is_root() -> bool:
    return os.geteuid() == 0


def sudo_path() -> str | None:
    return shutil.which("sudo")


def privileged_argv(argv: list[str], python: str, guard_args: list[str] | None = None) -> list[str]:
    """The argv that runs `argv` as root: itself when root, else sudo + guard
    (with `guard_args`, e.g. `--evidence DIR`)."""
    if is_root():
        return list(argv)
    sudo = sudo_path() or "sudo"
    return [sudo, "-n", "--", python, GUARD, *(guard_args or []), "--", *argv]


_ENV_RESETS: bool | None = None  # does this env(1) know --default-signal (coreutils 8.31+)?


def default_signals(argv: list[str]) -> list[str]:
    """`argv` started with SIGINT, SIGTERM and SIGQUIT at their defaults.

    A program started from a background job (`course check ... &`) inherits
    an ignored SIGINT, and Python then installs no KeyboardInterrupt: the
    probe would never see Ctrl+C. Setting dispositions between fork and exec
    needs `preexec_fn`, which is not safe with the runner's threads (and
    signal.signal works only in the main thread), so env(1) resets them and
    execs the program in place (same pid, same argv after it)."""
    global _ENV_RESETS
    env = shutil.which("env")
    if env is None or not argv or "=" in argv[0]:  # env would read NAME=VALUE
        return list(argv)
    if _ENV_RESETS is None:
        try:
            done = subprocess.run(
                [env, "--default-signal=INT", "true"], capture_output=True, timeout=5
            )
            _ENV_RESETS = done.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _ENV_RESETS = False
    if not _ENV_RESETS:
        return list(argv)
    return [env, "--default-signal=INT,TERM,QUIT", *argv]


def sudoers_rule(user: str, python: str) -> str:
    """The one sudoers line the course needs: `python` running the guard, no password."""
    return f"{user} ALL=(root) NOPASSWD: {python} {GUARD} *\n"


NO_SUDO_RIGHTS = (
    "you have no sudo rights: run the course as root or ask an administrator for the "
    "rule in the README."
)


def in_sudo_group() -> bool:
    """Is this user in a group that usually has sudo rights? sudo -n answers
    "a password is required" both to a user who has rights and to one who has
    none, so group membership is what tells `sudo -v` advice from no hope."""
    names = set()
    for gid in os.getgroups():
        with contextlib.suppress(KeyError):
            names.add(grp.getgrgid(gid).gr_name)
    return bool(names & set(_SUDO_GROUPS))


def sudo_refusal(
    first_stderr_lines: list[str], python: str, has_rights: bool | None = None
) -> str | None:
    """If sudo (or the root guard) refused to start the probe, one sentence
    saying what to do. `has_rights`: is the user in a sudo group (default: ask)."""
    for line in first_stderr_lines[:3]:
        if _NEEDS_PASSWORD.search(line):
            rights = in_sudo_group() if has_rights is None else has_rights
            if not rights:
                return NO_SUDO_RIGHTS[0].upper() + NO_SUDO_RIGHTS[1:]
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
        if found := _GUARD_REFUSED.match(line):
            return "The root guard " + found.group("why")
    return None


# ------------------------------------------------------------ what the guard may run


def _course_root() -> Path:
    """The course the guard belongs to: the checkout, or the embedded copy."""
    if (_CODE_ROOT / "course.yaml").is_file():
        return _CODE_ROOT
    return Path(GUARD).parents[1] / "_course"


def _same_interpreter(program: str) -> bool:
    if program == sys.executable:
        return True
    return os.path.isabs(program) and os.path.realpath(program) == os.path.realpath(sys.executable)


def probe_file_problem(path: str, uid: int | None) -> str | None:
    """Why the guard must not run `path` as a probe, or None: a regular file
    (no symlink anywhere in its path) owned by the user sudo ran us for, or
    one of the course's own files."""
    if not os.path.isabs(path) or os.path.realpath(path) != os.path.normpath(path):
        return f"the probe path {path} is not a plain absolute path (it has a symlink or ..)"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        return f"the probe file {path} cannot be opened ({exc.strerror})"
    try:
        st = os.fstat(fd)
    finally:
        os.close(fd)
    if not stat.S_ISREG(st.st_mode):
        return f"the probe {path} is not a regular file"
    course = str(_course_root().resolve())
    in_course = path.startswith(course + os.sep)
    if st.st_uid == uid or (in_course and st.st_uid == 0):
        return None
    return f"the probe file {path} belongs to another user (uid {st.st_uid})"


def command_problem(argv: list[str], uid: int | None) -> str | None:
    """Why the guard refuses to run `argv`, or None. It runs exactly two
    shapes: `PYTHON -u PROBE [ARGS...]` and `PYTHON -m runner.live.feature_probe
    [FEATURE...]`,
    PYTHON being the interpreter sudo started the guard with."""
    if not argv or not _same_interpreter(argv[0]):
        shown = argv[0] if argv else "nothing"
        return f"it runs only the course interpreter {sys.executable}, not {shown}"
    if argv[1:3] == ["-m", FEATURE_MODULE] and all(
        re.fullmatch(r"[a-z_]+", name) for name in argv[3:]
    ):  # the trials, or only those named (feature_probe ignores other names)
        return None
    if len(argv) >= 3 and argv[1] == "-u" and not argv[2].startswith("-"):
        return probe_file_problem(argv[2], uid)
    return "it runs the course interpreter only on a probe file (`-u PROBE`) or the feature trials"


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


def _sibling(name: str) -> Any:
    """evidence.py / bpffs.py: from this file's folder when run as a script
    (sys.path[0]), from the package when imported."""
    import importlib

    return importlib.import_module(f"runner.live.{name}" if __package__ else name)


def _guard(
    argv: list[str],
    evidence_dir: str | None = None,
    *,
    report_dir: str | None = None,
    lifeline: bool = False,
    cwd: str | None = None,
    bpf_calls: float | None = None,
) -> int:
    """Run `argv` in its own group as root; relay signals; leave nothing;
    write evidence snapshots into `evidence_dir` when asked; with `lifeline`,
    end everything when stdin reaches end-of-file (the runner is gone)."""
    become_subreaper()
    started: list[int] = []  # the probe's pid, once it exists
    if evidence_dir is not None:  # answer before the runner can ask
        _answer_snapshots(evidence_dir, started)
    bpffs = _sibling("bpffs") if report_dir is not None else None
    baseline = bpffs.Baseline.take() if bpffs else None
    # the probe's bpf() calls, traced from its exec (its lifetime: the step's timeout)
    trace = None
    if bpf_calls is not None and report_dir is not None:
        trace = _sibling("bpfcalls").Trace.open(bpf_calls, sys.executable)
    calls_lock = threading.Lock()
    since = 0
    pending: list[int] = []  # a signal that came before the probe existed

    def relay(sig: int, _frame: object) -> None:
        if started:
            signal_group(started[0], sig)
        else:
            pending.append(sig)

    def settle() -> None:
        """The probe's group and escapees gone, then what it left in the kernel."""
        if started:
            kill_group(started[0])
        sweep_adopted(since)
        if trace is not None and report_dir is not None:
            with calls_lock:  # once: the lifeline's thread may settle too
                if trace.path is not None or trace.reason is not None:
                    data = _sibling("bpfcalls").as_report(trace)
                    trace.reason = None
                    with contextlib.suppress(OSError):
                        _sibling("evidence")._write_file(
                            report_dir, _sibling("bpfcalls").REPORT, json.dumps(data).encode()
                        )
        if bpffs and baseline is not None and report_dir is not None:
            found = bpffs.settle(baseline)
            data = {"leftovers": found.to_list(), "sentence": found.sentence()}
            with contextlib.suppress(OSError):
                _sibling("evidence")._write_file(
                    report_dir, KERNEL_REPORT, json.dumps(data).encode()
                )

    def parent_died(_sig: int, _frame: object) -> None:
        settle()
        os._exit(128 + signal.SIGKILL)

    # Handlers, not SIG_IGN, for INT and TERM before the probe starts: exec
    # resets caught signals to their defaults, so the probe gets a working
    # Ctrl+C even when sudo handed us an ignored SIGINT (a background job).
    signal.signal(signal.SIGINT, relay)
    signal.signal(signal.SIGTERM, relay)
    signal.signal(signal.SIGQUIT, relay)
    signal.signal(signal.SIGHUP, parent_died)
    ctypes.CDLL(None).prctl(_PR_SET_PDEATHSIG, signal.SIGHUP, 0, 0, 0)
    if os.getppid() == 1:  # sudo already gone before the prctl
        parent_died(signal.SIGHUP, None)
    try:
        probe = subprocess.Popen(
            trace.arm_argv(argv) if trace else argv,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=cwd,
        )
    except BaseException:
        if trace is not None:
            trace.close()
        raise
    started.append(probe.pid)
    since = start_ticks(probe.pid) or 0
    for sig in pending:
        signal_group(probe.pid, sig)
    if lifeline:
        # sudo's SIGKILL never comes when the runner dies (sudo outlives it):
        # the pipe's end-of-file does, however the runner ended.
        def watch() -> None:
            with contextlib.suppress(OSError):
                while os.read(0, 4096):
                    pass
            parent_died(signal.SIGHUP, None)

        threading.Thread(target=watch, daemon=True).start()
    status = probe.wait()
    settle()  # children the probe left behind, those that left its group, pins
    if status < 0:  # end the same way, so sudo and the runner see the signal
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    return status


def _evidence() -> Any:
    return _sibling("evidence")


def _answer_snapshots(folder: str, started: list[int]) -> None:
    """Hold run statistics on for the run (an fd the kernel drops when we
    exit), and on SIGUSR1 / SIGUSR2 write the ready / stop snapshot of the
    probe (`started[0]`) into `folder`."""
    evidence = _evidence()
    stats_fd = evidence.enable_stats()
    stats = stats_fd is not None or evidence.stats_enabled_by_sysctl()

    def answer(sig: int, _frame: object) -> None:
        if not started:
            return
        at = "ready" if sig == signal.SIGUSR1 else "stop"
        try:
            evidence.guard_write(folder, at, started[0], stats)
        except OSError:
            pass  # the runner times out waiting and records that in the snapshot

    signal.signal(signal.SIGUSR1, answer)
    signal.signal(signal.SIGUSR2, answer)
    try:
        evidence.guard_listening(folder)
    except OSError:
        pass  # the runner then records that the guard never answered


def _main(args: list[str]) -> int:
    evidence_dir = report_dir = None
    lifeline = False
    bpf_calls: float | None = None
    while args[:1] in (["--evidence"], ["--report"], ["--lifeline"], ["--bpf-calls"]):
        if args[0] == "--lifeline":
            lifeline, args = True, args[1:]
        elif len(args) >= 2:
            if args[0] == "--evidence":
                evidence_dir = args[1]
            elif args[0] == "--report":
                report_dir = args[1]
            else:
                try:
                    bpf_calls = min(max(float(args[1]), 1.0), 86400.0)
                except ValueError:
                    print(
                        f"privilege.py: --bpf-calls takes seconds, not {args[1]!r}.",
                        file=sys.stderr,
                    )
                    return 2
            args = args[2:]
        else:
            break
    if args[:1] == ["--"]:
        args = args[1:]
    if not args:
        print(
            "usage: privilege.py [--evidence DIR] [--report DIR [--bpf-calls SECONDS]] "
            "[--lifeline] -- PROGRAM [ARGS...]",
            file=sys.stderr,
        )
        return 2
    uid_text = os.environ.get("SUDO_UID")
    uid = int(uid_text) if uid_text and uid_text.isdigit() else os.getuid()
    problem = command_problem(args, uid)
    if problem:
        print(f"privilege.py: refused: {problem}.", file=sys.stderr)
        return 2
    feature_trials = args[1:] == ["-m", FEATURE_MODULE]
    for name, folder in (("evidence", evidence_dir), ("report", report_dir)):
        if folder is None:
            continue
        problem = _sibling("evidence").check_folder(folder, uid if uid_text else None)
        if problem:
            print(f"privilege.py: {problem}; no {name} is written.", file=sys.stderr)
            if name == "evidence":
                evidence_dir = None
            else:
                report_dir = None
    # the trials module is the course's own, whatever folder sudo was run from
    cwd = str(_CODE_ROOT) if feature_trials else None
    if feature_trials:
        bpf_calls = None  # only a probe's calls are recorded
    return _guard(
        args,
        evidence_dir,
        report_dir=report_dir,
        lifeline=lifeline,
        cwd=cwd,
        bpf_calls=bpf_calls,
    )


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
