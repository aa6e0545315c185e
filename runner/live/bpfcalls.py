"""The kernel's own record of a probe's bpf() syscalls, through ftrace.

A probe that only prints "BPF program: loaded" and exits leaves no BPF
object for the evidence snapshots to see; the kernel still saw every bpf()
call it made. For a run whose checks ask for it (a kind registered with
`records=("bpf_calls",)`), a private tracefs instance
(`instances/ebpfc-<expires>-<pid>-<random>`) records the syscall tracepoints
`syscalls/sys_enter_bpf` (its `cmd`) and `syscalls/sys_exit_bpf` (`ret`),
filtered to the probe's process tree (`set_event_pid` + `options/event-fork`).

Armed before the probe's first instruction: the instance is made with
tracing off; the process that will become the probe is this file run as a
script (`--arm DIR -- PROGRAM ARGS`), which writes its own pid into
`set_event_pid`, turns tracing on and execs the probe (same pid). As root
the runner makes the instance; through sudo the root guard does
(privilege.py `--bpf-calls`). The trace is read after the probe's processes
are gone, then the instance is removed, always; a runner killed with
SIGKILL leaves one whose name says when it expires, and the next run that
makes or sweeps instances removes every expired `ebpfc-*` instance.

No compiled BPF program is used (no compile cost, works under emulation in
the VM). Run as a script by root (and imported by the root guard from its
own folder), so it imports only the stdlib.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform
import re
import secrets
import sys
import time
from pathlib import Path
from typing import Any

TRACEFS_ROOTS = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
PREFIX = "ebpfc-"
NAME = re.compile(r"^ebpfc-(?P<expires>\d+)-(?P<pid>\d+)-[0-9a-f]+$")
EVENTS = ("syscalls/sys_enter_bpf", "syscalls/sys_exit_bpf")
BUFFER_KB = 512  # per CPU: about ten thousand bpf() calls on each
GRACE = 120.0  # seconds an instance may outlive its run's timeout (stop, workload, reads)
REPORT = "bpf_calls.json"  # the root guard's answer, in its --report folder
# The arming script's own bpf() call, with a command no kernel has (-EINVAL): the
# trace must hold it, or the filter missed the probe (a pid namespace, say) and an
# empty record would be a lie. It is dropped from the calls.
MARK = 0x7EBFC
_BPF_SYSCALL = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "armv7l": 386, "ppc64le": 361}

# enum bpf_cmd, include/uapi/linux/bpf.h
CMDS = (
    "BPF_MAP_CREATE",
    "BPF_MAP_LOOKUP_ELEM",
    "BPF_MAP_UPDATE_ELEM",
    "BPF_MAP_DELETE_ELEM",
    "BPF_MAP_GET_NEXT_KEY",
    "BPF_PROG_LOAD",
    "BPF_OBJ_PIN",
    "BPF_OBJ_GET",
    "BPF_PROG_ATTACH",
    "BPF_PROG_DETACH",
    "BPF_PROG_TEST_RUN",
    "BPF_PROG_GET_NEXT_ID",
    "BPF_MAP_GET_NEXT_ID",
    "BPF_PROG_GET_FD_BY_ID",
    "BPF_MAP_GET_FD_BY_ID",
    "BPF_OBJ_GET_INFO_BY_FD",
    "BPF_PROG_QUERY",
    "BPF_RAW_TRACEPOINT_OPEN",
    "BPF_BTF_LOAD",
    "BPF_BTF_GET_FD_BY_ID",
    "BPF_TASK_FD_QUERY",
    "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
    "BPF_MAP_FREEZE",
    "BPF_BTF_GET_NEXT_ID",
    "BPF_MAP_LOOKUP_BATCH",
    "BPF_MAP_LOOKUP_AND_DELETE_BATCH",
    "BPF_MAP_UPDATE_BATCH",
    "BPF_MAP_DELETE_BATCH",
    "BPF_LINK_CREATE",
    "BPF_LINK_UPDATE",
    "BPF_LINK_GET_FD_BY_ID",
    "BPF_LINK_GET_NEXT_ID",
    "BPF_ENABLE_STATS",
    "BPF_ITER_CREATE",
    "BPF_LINK_DETACH",
    "BPF_PROG_BIND_MAP",
    "BPF_TOKEN_CREATE",
)
NOT_RECORDED = "so the kernel's record of the probe's bpf() calls could not be taken"


def cmd_name(number: int) -> str:
    return CMDS[number] if 0 <= number < len(CMDS) else f"BPF_CMD_{number}"


# ================================================================ the trace's text

# `  python-719     (    718) [000] .....   399.652702: sys_bpf(cmd: 0, uattr: 0, size: 0)`
# The comm may hold spaces and dashes: the greedy `.*` leaves the last `-TID (TGID)`.
_LINE = re.compile(
    r"^\s*(?P<comm>.*)-(?P<tid>\d+)\s+\(\s*(?P<tgid>[\d-]+)\)\s+\[\d+\]\s+\S+\s+"
    r"[\d.]+:\s+(?P<event>.*)$"
)
_ENTER = re.compile(r"^sys_bpf\(cmd: (?P<cmd>(?:0x)?[0-9a-fA-F]+)[,)]")
_EXIT = re.compile(r"^sys_bpf -> (?P<ret>0x[0-9a-fA-F]+|-?\d+)$")


def _number(text: str) -> int:
    """A syscall argument as ftrace prints it: 0x-hex, or bare (old kernels
    print hex without 0x; new ones print values under 10 in decimal: the same)."""
    return int(text, 16)


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def parse_trace(text: str) -> list[dict[str, Any]]:
    """bpf() calls in the text of a tracefs `trace` file, in order:
    {pid (tgid), tid, cmd (BPF_PROG_LOAD ...), ret (None: it never returned)}.
    A thread makes one syscall at a time, so an exit belongs to the last
    enter of its thread."""
    calls: list[dict[str, Any]] = []
    open_call: dict[int, dict[str, Any]] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = _LINE.match(line)
        if not m:
            continue
        tid = int(m.group("tid"))
        tgid_text = m.group("tgid")
        pid = int(tgid_text) if tgid_text.isdigit() else tid
        event = m.group("event").strip()
        if enter := _ENTER.match(event):
            call = {
                "pid": pid,
                "tid": tid,
                "cmd": cmd_name(_number(enter.group("cmd"))),
                "ret": None,
            }
            calls.append(call)
            open_call[tid] = call
        elif leave := _EXIT.match(event):
            call = open_call.pop(tid, None)
            if call is not None:
                text_ret = leave.group("ret")
                ret = int(text_ret, 16) if text_ret.startswith("0x") else int(text_ret)
                call["ret"] = _signed(ret)
    return calls


def parse_lost(stats_texts: list[str]) -> int:
    """Events the ring buffers dropped or overwrote, from per_cpu/cpuN/stats."""
    lost = 0
    for text in stats_texts:
        for line in text.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("overrun", "dropped events"):
                with contextlib.suppress(ValueError):
                    lost += int(value.strip())
    return lost


# ================================================================ instances


def tracefs_root() -> Path | None:
    for root in TRACEFS_ROOTS:
        if os.path.isdir(os.path.join(root, "instances")):
            return Path(root)
    return None


def _alive(pid: int) -> bool:
    return os.path.exists(f"/proc/{pid}")


def sweep(root: Path | None = None, now: float | None = None) -> list[str]:
    """Remove the expired `ebpfc-*` instances (a runner or guard killed with
    SIGKILL); returns their names. Live runs' instances are left alone."""
    root = root or tracefs_root()
    if root is None:
        return []
    now = time.time() if now is None else now
    removed = []
    try:
        names = os.listdir(root / "instances")
    except OSError:
        return []
    for name in names:
        m = NAME.match(name)
        if not m or int(m.group("expires")) > now:
            continue
        with contextlib.suppress(OSError):
            os.rmdir(root / "instances" / name)
            removed.append(name)
    return removed


def _write(path: Path, text: str) -> None:
    with open(path, "w") as out:
        out.write(text)


class Trace:
    """One run's instance. `open` never raises: `reason` says why there is
    none. `finish` reads the calls and removes the instance; `close` only
    removes it (both idempotent: call `close` in a finally)."""

    def __init__(self, path: Path | None, reason: str | None, python: str) -> None:
        self.path = path
        self.reason = reason
        self.python = python

    @classmethod
    def open(cls, lifetime: float, python: str | None = None) -> Trace:
        python = python or sys.executable
        root = tracefs_root()
        if root is None:
            return cls(
                None,
                f"tracefs is not mounted (mount -t tracefs tracefs /sys/kernel/tracing), "
                f"{NOT_RECORDED}.",
                python,
            )
        sweep(root)
        expires = int(time.time() + lifetime + GRACE)
        path = root / "instances" / f"{PREFIX}{expires}-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.mkdir(path)
        except OSError as exc:
            return cls(
                None,
                f"no tracefs instance could be made in {root}/instances "
                f"({exc.strerror or exc}), {NOT_RECORDED}.",
                python,
            )
        trace = cls(path, None, python)
        missing = [e for e in EVENTS if not (path / "events" / e / "enable").exists()]
        if missing:
            trace.close()
            return cls(
                None,
                "this kernel has no syscall tracepoints for bpf() (CONFIG_FTRACE_SYSCALLS), "
                f"{NOT_RECORDED}.",
                python,
            )
        try:
            _write(path / "tracing_on", "0")
            clocks = (path / "trace_clock").read_text()
            # one clock for every CPU: a thread may move between its enter and exit
            for clock in ("mono", "global"):
                if re.search(rf"(^|[\s\[]){clock}([\s\]]|$)", clocks):
                    _write(path / "trace_clock", clock)
                    break
            _write(path / "buffer_size_kb", str(BUFFER_KB))
            _write(path / "options" / "overwrite", "0")  # keep the first calls when full
            _write(path / "options" / "event-fork", "1")  # children and threads too
            with contextlib.suppress(OSError):  # older kernels: the tgid is then the tid
                _write(path / "options" / "record-tgid", "1")
            for event in EVENTS:
                _write(path / "events" / event / "enable", "1")
        except OSError as exc:
            trace.close()
            return cls(
                None,
                f"the tracefs instance could not be set up ({exc.strerror or exc}), "
                f"{NOT_RECORDED}.",
                python,
            )
        return trace

    def arm_argv(self, argv: list[str]) -> list[str]:
        """`argv` started through the arming script: same pid, traced from its exec."""
        if self.path is None:
            return list(argv)
        script = str(Path(__file__).resolve())
        return [self.python, "-I", "-S", script, "--arm", str(self.path), "--", *argv]

    def finish(self) -> tuple[list[dict[str, Any]] | None, str | None, int]:
        """(calls, reason they are missing, events lost); removes the instance."""
        if self.path is None:
            return None, self.reason, 0
        try:
            if (self.path / "tracing_on").read_text().strip() != "1":
                return (
                    None,
                    "the probe's process could not be traced (it ended before tracing "
                    f"was armed, or the arming failed), {NOT_RECORDED}.",
                    0,
                )
            _write(self.path / "tracing_on", "0")
            text = (self.path / "trace").read_text(errors="replace")
            marked = _BPF_SYSCALL.get(platform.machine()) is not None
            stats = [p.read_text() for p in sorted((self.path / "per_cpu").glob("cpu*/stats"))]
        except OSError as exc:
            return None, f"the trace could not be read ({exc.strerror or exc}), {NOT_RECORDED}.", 0
        finally:
            self.close()
        calls = parse_trace(text)
        lost = parse_lost(stats)
        mark = cmd_name(MARK)
        if marked and not lost and not any(c["cmd"] == mark for c in calls):
            return (
                None,
                "the trace did not hold the probe's own process (the runner may be in another "
                f"pid namespace than the kernel's tracing), {NOT_RECORDED}.",
                0,
            )
        return [c for c in calls if c["cmd"] != mark], None, lost

    def close(self) -> None:
        if self.path is None:
            return
        path, self.path = self.path, None
        for _ in range(50):
            try:
                os.rmdir(path)
                return
            except FileNotFoundError:
                return
            except OSError as exc:
                if exc.errno != errno.EBUSY:
                    return  # not a tracefs instance (a test's folder): nothing more to do
                time.sleep(0.02)  # busy while a reader still has a file open


def as_report(trace: Trace) -> dict[str, Any]:
    """What the root guard writes for the runner (REPORT)."""
    calls, reason, lost = trace.finish()
    return {"calls": calls, "reason": reason, "lost": lost}


# ================================================================ arming


def _arm(folder: str, argv: list[str]) -> int:
    """Trace this process from here on, then become the probe."""
    path = Path(folder)
    try:
        _write(path / "set_event_pid", str(os.getpid()))
        _write(path / "tracing_on", "1")
    except OSError:
        pass  # not armed: the reader finds tracing off and says so
    else:
        number = _BPF_SYSCALL.get(platform.machine())
        if number is not None:  # the mark the reader looks for (refused: no such command)
            with contextlib.suppress(OSError, AttributeError):
                ctypes.CDLL(None).syscall(number, MARK, None, 0)
    try:
        os.execv(argv[0], argv)
    except OSError as exc:
        print(f"bpfcalls.py: cannot run {argv[0]} ({exc.strerror or exc})", file=sys.stderr)
    return 127


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) >= 4 and args[0] == "--arm" and args[2] == "--":
        sys.exit(_arm(args[1], args[3:]))
    print("usage: bpfcalls.py --arm INSTANCE -- PROGRAM [ARGS...]", file=sys.stderr)
    sys.exit(2)
