"""Workloads that open files: the ground truth for openat tracing lessons.

Each open is `os.open`, which glibc turns into exactly one openat(2): with
AT_FDCWD for a plain path, or with the held directory fd for `dir_fd=`. The
file is named at random and does not exist before the go: the first counted
open creates it (O_CREAT), so nothing of its name shows in the workload's
folder, command line or environment before the counted actions.
"""

from __future__ import annotations

import os
import resource
import secrets
import threading
import time
from typing import Any

from runner.workloads import (
    NOISE_PARAM,
    Identity,
    Noise,
    Ready,
    fork_gated,
    fork_noise,
    run_released,
    set_comm,
    workdir,
    workload,
)

AT_FDCWD = -100
OPEN_FLAGS = os.O_RDONLY | os.O_CREAT


def _count(default: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": default}


def _open_close(path: str, times: int, dir_fd: int | None = None) -> None:
    for _ in range(times):
        os.close(os.open(path, OPEN_FLAGS, 0o600, dir_fd=dir_fd))


def _target(prefix: str) -> str:
    """A path no other process opens, in the workload's folder, not yet created."""
    return str(workdir() / f"{prefix}-{secrets.token_hex(6)}")


def _noise(
    params: dict[str, Any], prefix: str, minimum: int, dir_fd: int | None = None
) -> tuple[Noise | None, str]:
    """With `noise: true`, a process opening another such file (as often as the
    counted child at least, for as long as it works)."""
    if not params.get("noise"):
        return None, ""
    path = _target(prefix)

    def step() -> None:
        _open_close(path, 1)
        if dir_fd is not None:
            _open_close(os.path.basename(path), 1, dir_fd=dir_fd)

    return fork_noise(step, minimum), path


def _noise_facts(raw: dict[str, Any] | None, path: str, per_step: int = 1) -> dict[str, Any] | None:
    if raw is None:
        return None
    steps = raw.pop("steps")
    return {**raw, "counts": {"openat": steps * per_step}, "path": path}


def _simple_opens(params: dict[str, Any], ready: Ready, comm: str) -> dict[str, Any]:
    count = params["count"]
    path = _target(comm)
    child = fork_gated(lambda: _open_close(path, count), comm)
    noise, noise_path = _noise(params, comm, count)
    ready(Identity(pid=child.pid, tid=child.tid, comm=comm))
    _, noise_raw = run_released(child, noise)
    return {
        "opens": count,
        "path": path,
        "dfd": AT_FDCWD,
        "pid": child.pid,
        "tid": child.tid,
        "noise": _noise_facts(noise_raw, noise_path),
    }


@workload("opens", {"properties": {"count": _count(5), "noise": NOISE_PARAM}})
def opens(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child that opens one file `count` times (AT_FDCWD) and does nothing else."""
    return _simple_opens(params, ready, "ebpfc-opens")


def _random_fd(fd: int) -> int:
    """Move `fd` to a free descriptor number drawn at random, so the number a
    probe must print as dfd is not the predictable lowest free one."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    high = max(min(soft, 1024) - 1, 16)
    for _ in range(100):
        wanted = 10 + secrets.randbelow(high - 10)
        try:
            os.fstat(wanted)
        except OSError:
            os.dup2(fd, wanted, inheritable=False)
            os.close(fd)
            return wanted
    return fd


@workload(
    "open-marker",
    {
        "properties": {
            "count": _count(1),
            "dirfd": {"type": "boolean", "default": False},
            "noise": NOISE_PARAM,
        }
    },
)
def open_marker(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child that opens a random marker path `count` times with AT_FDCWD and,
    with `dirfd: true`, as often again relative to a directory fd it holds."""
    count = params["count"]
    relative = params["dirfd"]
    path = _target("ebpfc-marker")
    folder, marker = os.path.split(path)
    dirfd = _random_fd(os.open(folder, os.O_RDONLY | os.O_DIRECTORY))

    def actions() -> None:
        _open_close(path, count)
        if relative:
            _open_close(marker, count, dir_fd=dirfd)

    child = fork_gated(actions, "ebpfc-marker")
    noise, noise_path = _noise(params, "ebpfc-marker", count, dirfd if relative else None)
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-marker"))
    _, noise_raw = run_released(child, noise)
    return {
        "path": path,
        "marker": marker,
        "opens": count,
        "dfd_cwd": AT_FDCWD,
        "dirfd": dirfd,
        "dirfd_opens": count if relative else 0,
        "pid": child.pid,
        "tid": child.tid,
        "noise": _noise_facts(noise_raw, noise_path, 2 if relative else 1),
    }


@workload("open-burst", {"properties": {"count": _count(20_000), "noise": NOISE_PARAM}})
def open_burst(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child that opens one file tens of thousands of times as fast as it can."""
    return _simple_opens(params, ready, "ebpfc-burst")


@workload("open-thread", {"properties": {"count": _count(3), "noise": NOISE_PARAM}})
def open_thread(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child whose second thread (another comm) does the opens: its tid differs
    from its pid and its comm from the main thread's."""
    count = params["count"]
    path = _target("ebpfc-othread")
    child = fork_gated(lambda: _open_close(path, count), "ebpfc-omain", thread_comm="ebpfc-othread")
    noise, noise_path = _noise(params, "ebpfc-othread", count)
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-othread"))
    _, noise_raw = run_released(child, noise)
    return {
        "opens": count,
        "path": path,
        "pid": child.pid,
        "tid": child.tid,
        "noise": _noise_facts(noise_raw, noise_path),
    }


def _wait_inside_openat(tid: int, timeout: float = 5.0) -> None:
    """Until thread `tid` of this process sleeps inside openat(2) (its
    /proc syscall file names the call), or `timeout` passes."""
    import platform

    # openat's number (as checks/tracepoints.py has it; a workload runs from a
    # staged copy of runner/workloads alone, so it cannot import checks)
    number = {"x86_64": 257, "aarch64": 56, "riscv64": 56}.get(platform.machine())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/self/task/{tid}/syscall", encoding="ascii") as f:
                current = f.read().split()
        except OSError:
            current = []
        if number is not None and current[:1] == [str(number)]:
            return
        time.sleep(0.01)


@workload("open-results", {"properties": {"count": _count(2)}})
def open_results(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """A child whose worker opens a new marker `count` times (each succeeds and
    is closed), fails once to open a path that does not exist (ENOENT), and does
    both while a second thread of the process sleeps inside openat of a FIFO;
    then it opens the FIFO for writing through a link of another name, which
    returns the sleeper's open. A probe that pairs entry and exit by the process
    id instead of the thread id mixes up the two threads' files."""
    count = params["count"]
    marker = _target("ebpfc-result")
    missing = _target("ebpfc-missing")
    fifo, link = _target("ebpfc-fifo"), _target("ebpfc-link")

    def actions() -> dict[str, Any]:
        os.mkfifo(fifo, 0o600)
        os.symlink(fifo, link)
        reader: dict[str, int] = {}
        about_to_open = threading.Event()

        def read_end() -> None:
            reader["tid"] = threading.get_native_id()
            about_to_open.set()
            reader["fd"] = os.open(fifo, os.O_RDONLY)  # sleeps until a writer opens

        sleeper = threading.Thread(target=read_end)
        sleeper.start()
        about_to_open.wait()
        _wait_inside_openat(reader["tid"])
        fds = []
        for _ in range(count):
            fd = os.open(marker, OPEN_FLAGS, 0o600)
            fds.append(fd)
            os.close(fd)
        try:
            os.close(os.open(missing, os.O_RDONLY))
            missing_ret = 0
        except OSError as error:
            missing_ret = -error.errno
        writer = os.open(link, os.O_WRONLY)
        sleeper.join()
        os.close(writer)
        os.close(reader["fd"])
        return {
            "marker_fd": fds[0] if len(set(fds)) == 1 else None,
            "missing_ret": missing_ret,
            "fifo_fd": reader["fd"],
            "fifo_tid": reader["tid"],
            "writer_fd": writer,
        }

    child = fork_gated(actions, "ebpfc-results")
    ready(Identity(pid=child.pid, tid=child.tid, comm="ebpfc-results"))
    facts, _ = run_released(child, None)
    return {
        **facts,
        "marker": marker,
        "opens": count,
        "missing": missing,
        "fifo": fifo,
        "link": link,
        "pid": child.pid,
        "tid": child.tid,
    }


COMM_MAIN = "ebpfc-ocomm"
COMM_SIDE = "ebpfc-oside"


@workload("open-comms", {"properties": {"count": _count(5)}})
def open_comms(params: dict[str, Any], ready: Ready) -> dict[str, Any]:
    """Two processes, three threads, two comms: counts per process and per comm
    that differ. Process A's worker (`ebpfc-ocomm`) opens `count` times, then a
    second thread of A that names itself `ebpfc-oside` opens its own number of
    times; process B, also `ebpfc-ocomm`, opens a third number of times. So A's
    total mixes two comms and `ebpfc-ocomm`'s total spans two processes: a
    per-comm table summed from the per-process one (by a process's last name)
    is wrong. The two other numbers are drawn here, per run."""
    draw = secrets.SystemRandom()
    main = params["count"]
    side = draw.randint(1, max(2, main))
    # B opens more than all of A, so the four totals a table shows always
    # differ: side < A's total < B's < ebpfc-ocomm's
    other = main + side + draw.randint(1, max(2, main))
    path = _target("ebpfc-ocomm")

    def actions() -> dict[str, Any]:
        _open_close(path, main)
        found: dict[str, int] = {}

        def side_thread() -> None:
            set_comm(COMM_SIDE)
            found["tid"] = threading.get_native_id()
            _open_close(path, side)

        helper = threading.Thread(target=side_thread)
        helper.start()
        helper.join()
        return {"side_tid": found["tid"]}

    child = fork_gated(actions, COMM_MAIN)
    second = fork_gated(lambda: _open_close(path, other), COMM_MAIN)
    ready(Identity(pid=child.pid, tid=child.tid, comm=COMM_MAIN))
    second.release()
    child.release()
    measured = child.wait()
    second.wait()
    return {
        "path": path,
        "opens": main + side + other,
        "pid_opens": main + side,  # process A, both of its comms
        "other_pid": second.pid,
        "other_opens": other,
        "comm": COMM_MAIN,
        "comm_opens": main + other,  # both processes
        "side_comm": COMM_SIDE,
        "side_opens": side,
        "side_tid": measured["side_tid"],
        "pid": child.pid,
        "tid": child.tid,
    }
