"""Nothing a run started outlives it, even when `course` itself is killed.

Two layers:

- A *keeper*: a tiny stdlib process (this file run as a script) that the
  runner starts for each live step, in its own session. It reads lines
  `group PGID TICKS` from a pipe whose only write end the runner holds; the
  runner names every process group it starts (the probe or sudo, the
  workload). When the pipe reaches end-of-file without a `done` line (the
  runner died, even by SIGKILL: the kernel closes its end), the keeper
  SIGKILLs those groups. The probe's BPF programs go with its last fd.

  Why a pipe and not PR_SET_PDEATHSIG in the probe: setting it needs code
  between fork and exec (`preexec_fn`, not safe with the runner's threads),
  and PDEATHSIG fires when the *thread* that forked exits, which the TUI's
  worker threads do after every check. End-of-file on a pipe fires exactly
  when the last holder of the write end is gone, whatever thread made it.
  Under sudo the root guard reads its own such pipe (its stdin, which sudo
  passes through), because the runner may not signal root processes.

- A *run record*: a small JSON file per step (who started it, the groups,
  the temporary folders), removed when the step ends. A record whose runner
  is gone is a killed run: the next `course` command (Session) ends what is
  still alive of it, removes its folders and says so in one sentence.

Run as a script (`python leftovers.py --keep`), so it imports only the stdlib.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

KEEPER = str(Path(__file__).resolve())
RECORDS_ENV = "EBPFC_RUN_RECORDS"  # tests point this at a private folder
FOLDER_PREFIX = "ebpfc-"  # only temporary folders of ours are ever removed
_BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


# ---------------------------------------------------------------- /proc facts


def start_ticks(pid: int) -> int | None:
    """When `pid` started, in clock ticks since boot (None when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return int(fields[19]) if fields[0] not in "ZX" else None


def boot_id() -> str:
    try:
        return _BOOT_ID.read_text().strip()
    except OSError:
        return "unknown"


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] not in "ZX":
            members.append(int(entry.name))
    return members


def same_group(pgid: int, ticks: int | None) -> bool:
    """Is process group `pgid` still the one started at `ticks`? The leader
    alive with that start time, or the leader gone and members left: the
    kernel never hands out a pid still in use as a group id, so then the
    members are the group's own."""
    leader = start_ticks(pgid)
    if leader is not None:
        return ticks is None or leader == ticks
    return bool(group_members(pgid))


def end_group(pgid: int, ticks: int | None) -> str:
    """SIGKILL the group if it is still ours: "ended", "gone" or "denied"."""
    if not same_group(pgid, ticks):
        return "gone"
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        return "denied"
    return "ended"


# ---------------------------------------------------------------- the keeper


def _keep(stream: Any) -> int:
    """The keeper's loop: remember groups until `done` or end-of-file."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)  # only the pipe may end us
    groups: dict[int, int | None] = {}
    for raw in stream:
        words = raw.split()
        if words == ["done"]:
            return 0
        if len(words) == 3 and words[0] == "group" and words[1].isdigit():
            groups[int(words[1])] = int(words[2]) if words[2].isdigit() else None
    for pgid, ticks in groups.items():  # the runner is gone: so are its groups
        end_group(pgid, ticks)
    return 0


class Keeper:
    """The runner's side of a keeper: `watch` each group it starts, then
    `release` when the step is over. Never raises: without a keeper the run
    record still lets the next command clean up."""

    def __init__(self, python: str) -> None:
        self._lock = threading.Lock()
        self._pipe: Any = None
        self.pid: int | None = None
        read_fd, write_fd = os.pipe()  # both ends non-inheritable (PEP 446)
        try:
            proc = subprocess.Popen(
                [python, "-I", "-S", KEEPER, "--keep"],
                stdin=read_fd,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # the terminal's Ctrl+C is for the runner
                close_fds=True,
            )
        except OSError:
            os.close(write_fd)
            return
        finally:
            os.close(read_fd)
        self.pid = proc.pid
        self._proc = proc
        self._pipe = os.fdopen(write_fd, "w", buffering=1)

    def watch(self, pgid: int, ticks: int | None) -> None:
        with self._lock:
            if self._pipe is None:
                return
            try:
                self._pipe.write(f"group {pgid} {ticks if ticks is not None else '-'}\n")
            except OSError:
                self._pipe = None

    def release(self) -> None:
        """The step is over and its groups are gone: the keeper ends quietly."""
        with self._lock:
            if self._pipe is None:
                return
            with contextlib.suppress(OSError):
                self._pipe.write("done\n")
            with contextlib.suppress(OSError):
                self._pipe.close()
            self._pipe = None
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._proc.wait(timeout=5)


def lifeline() -> tuple[int, int]:
    """A pipe for the root guard's stdin: (read end for sudo, write end we keep).
    The guard ends the probe's group when it reads end-of-file."""
    return os.pipe()


# ---------------------------------------------------------------- run records


def records_dir() -> Path:
    """Where this user's run records live: /run for root, the user's runtime
    folder otherwise (both are emptied at boot), else the user's cache."""
    override = os.environ.get(RECORDS_ENV)
    if override:
        return Path(override)
    if os.geteuid() == 0:
        return Path("/run/ebpf-course")
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK):
        return Path(runtime) / "ebpf-course"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "ebpf-course" / "runs"


_counter = 0
_counter_lock = threading.Lock()


class RunRecord:
    """What one live step started, on disk until the step ends."""

    def __init__(self, step: str, folder: Path | None = None) -> None:
        global _counter
        with _counter_lock:
            _counter += 1
            number = _counter
        me = os.getpid()
        self.data: dict[str, Any] = {
            "runner": {"pid": me, "ticks": start_ticks(me)},
            "boot": boot_id(),
            "step": step,
            "groups": [],
            "folders": [],
        }
        self._lock = threading.Lock()
        self.path: Path | None = (folder or records_dir()) / f"run-{me}-{number}.json"
        self._save()

    def add_group(self, pgid: int, ticks: int | None, what: str) -> None:
        with self._lock:
            self.data["groups"].append({"pgid": pgid, "ticks": ticks, "what": what})
        self._save()

    def add_folder(self, path: str | Path | None) -> None:
        if not path:
            return
        with self._lock:
            if str(path) not in self.data["folders"]:
                self.data["folders"].append(str(path))
        self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self.data))
                tmp.replace(self.path)  # a reader never sees half a record
            except OSError:
                self.path = None  # no record: the keeper still covers a killed runner

    def close(self) -> None:
        """The step ended normally: nothing of it is left to clean."""
        with self._lock:
            if self.path is not None:
                with contextlib.suppress(OSError):
                    self.path.unlink()
                self.path = None


def _ours(folder: str) -> bool:
    """Only our own temporary folders are removed, whatever a record says."""
    path = Path(folder)
    return (
        path.name.startswith(FOLDER_PREFIX)
        and str(path.parent) in {tempfile.gettempdir(), "/tmp"}
        and path.is_dir()
        and not path.is_symlink()
    )


def _runner_alive(data: dict[str, Any], boot: str) -> bool:
    runner = data.get("runner") or {}
    pid, ticks = runner.get("pid"), runner.get("ticks")
    if data.get("boot") != boot or not isinstance(pid, int):
        return False
    return start_ticks(pid) is not None and (ticks is None or start_ticks(pid) == ticks)


def clean_leftovers(folder: Path | None = None) -> str | None:
    """End what killed runs left (processes still alive, temporary folders),
    remove their records, and say so in one sentence; None when there was
    nothing. Runs of a live runner are left alone."""
    where = folder or records_dir()
    try:
        records = sorted(where.glob("run-*.json"))
    except OSError:
        return None
    boot = boot_id()
    killed_runs = ended = removed = 0
    denied: list[int] = []
    for path in records:
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except (OSError, ValueError):
            data = {}  # unreadable: only the file itself is ours to remove
        else:
            if _runner_alive(data, boot):
                continue
        killed_runs += 1
        if data.get("boot") == boot:  # pids of another boot mean nothing now
            for group in data.get("groups", []):
                if not isinstance(group, dict) or not isinstance(group.get("pgid"), int):
                    continue
                outcome = end_group(group["pgid"], group.get("ticks"))
                ended += outcome == "ended"
                if outcome == "denied":
                    denied.append(group["pgid"])
        for name in data.get("folders", []):
            if isinstance(name, str) and _ours(name):
                shutil.rmtree(name, ignore_errors=True)
                removed += not os.path.exists(name)
        with contextlib.suppress(OSError):
            path.unlink()
    if not killed_runs:
        return None
    runs = "an earlier run" if killed_runs == 1 else f"{killed_runs} earlier runs"
    done = []
    if ended:
        done.append(f"ended {ended} process group{'s' if ended != 1 else ''} still running")
    if removed:
        done.append(f"removed {removed} temporary folder{'s' if removed != 1 else ''}")
    what = " and ".join(done) if done else "found nothing of it still running"
    text = f"Cleaned up after {runs} of the course that did not finish (it was killed): {what}."
    if denied:
        pids = ", ".join(str(p) for p in denied)
        text += f" Process group {pids} belongs to root: end it with `sudo kill -9 -{denied[0]}`."
    return text


class StepGuard:
    """Both layers for one live step: a keeper, a run record, and (under
    sudo) the root guard's lifeline. Never raises for its own troubles."""

    def __init__(self, step: str, python: str) -> None:
        self.record = RunRecord(step)
        self.keeper = Keeper(python)
        self._lifeline_write: int | None = None

    def started(self, pgid: int, what: str) -> None:
        """A process group of the step exists now (a probe, sudo, a workload)."""
        ticks = start_ticks(pgid)
        self.keeper.watch(pgid, ticks)
        self.record.add_group(pgid, ticks, what)

    def folder(self, path: str | Path | None) -> None:
        self.record.add_folder(path)

    def lifeline(self) -> int:
        """The read end of a pipe for sudo's stdin (the guard's lifeline); the
        caller closes it once the child has it. Its end-of-file tells the guard
        the runner is gone."""
        read_fd, self._lifeline_write = lifeline()
        return read_fd

    def close(self) -> None:
        """The step is over and everything it started has ended."""
        if self._lifeline_write is not None:
            with contextlib.suppress(OSError):
                os.close(self._lifeline_write)
            self._lifeline_write = None
        self.keeper.release()
        self.record.close()


if __name__ == "__main__":
    if sys.argv[1:] == ["--keep"]:
        sys.exit(_keep(sys.stdin))
    print("usage: leftovers.py --keep (group lines on stdin)", file=sys.stderr)
    sys.exit(2)
