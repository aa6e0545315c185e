"""Killing `course` mid-run leaves nothing behind, and a probe that pins BPF
objects in bpffs fails its run and leaves nothing either.

Counted with the kernel's own view (bpftool): the programs the probe held
while it ran are gone from the kernel after `course` is SIGKILLed; the
objects a probe pinned are gone after its run. Each test points the run
records at a private folder (EBPFC_RUN_RECORDS), so another user's `course`
cannot clean up this test's leftovers first."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from runner.live import bpffs, evidence, leftovers
from runner.live.evidence import find_bpftool
from runner.live.execute import run_one
from runner.model import Lesson, Recording, RunSpec

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_bpf")]

REPO = Path(__file__).resolve().parents[2]
PROBES = Path(__file__).parent / "probes"
COURSE_BIN = Path(sys.executable).parent / "course"
SOLUTION_08 = REPO / "solutions" / "08-combining" / "probe.py"


def bpftool_json(*args: str) -> list[dict]:
    tool = find_bpftool()
    if tool is None:
        pytest.skip("bpftool is not installed")
    done = subprocess.run([tool, "-j", *args], capture_output=True, text=True, check=True)
    return json.loads(done.stdout or "[]")


def programs_held_by(pid: int) -> set[int]:
    """The kernel's view (runner.live.evidence: the fds of `pid` and its
    children, described by bpftool): ids of the BPF programs it holds."""
    snap = evidence.snapshot(pid, "test", dump_maps=False)
    return {p["id"] for p in snap["programs"] if isinstance(p.get("id"), int)}


def loaded_programs() -> set[int]:
    return {p["id"] for p in bpftool_json("prog", "show")}


def children(pid: int) -> list[tuple[int, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid and fields[0] not in "ZX":
            found.append((int(entry.name), cmdline))
    return found


def alive(pid: int) -> bool:
    return leftovers.start_ticks(pid) is not None


def wait_for(what: Callable[[], object], timeout: float, step: float = 0.1) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(step)
    return what()


@pytest.fixture
def records(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "records"
    monkeypatch.setenv(leftovers.RECORDS_ENV, str(folder))
    return folder


def start_check_08(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int, set[int]]:
    """`course check 08` of the solution, until its probe holds BPF programs:
    (course, the probe's pid, the programs it holds)."""
    course = subprocess.Popen(
        [str(COURSE_BIN), "--workspace", str(tmp_path / "ws"), "check", "08"]
        + ["--file", str(SOLUTION_08)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    )

    def probe_with_programs() -> tuple[int, set[int]] | None:
        for pid, cmdline in children(course.pid):
            if str(SOLUTION_08) in cmdline:
                held = programs_held_by(pid)
                if held:
                    return pid, held
        return None

    found = wait_for(probe_with_programs, 90, 0.3)
    if not found:
        course.kill()
        course.wait()
        pytest.fail("the probe of lesson 08 never attached")
    pid, held = found  # type: ignore[misc]
    return course, pid, held


def test_killing_course_ends_the_probe_and_frees_its_programs(
    tmp_path: Path, records: Path
) -> None:
    course, probe, held = start_check_08(tmp_path)
    (record,) = records.glob("run-*.json")  # the running step is on record
    folders = json.loads(record.read_text())["folders"]
    course.send_signal(signal.SIGKILL)
    course.wait()
    # the keeper saw the runner's pipe close and ended the probe's group
    assert wait_for(lambda: not alive(probe), 10), "the probe outlived course"
    assert wait_for(lambda: not (held & loaded_programs()), 10), held & loaded_programs()
    # the next command cleans the rest and says so in one sentence
    done = subprocess.run(
        [str(COURSE_BIN), "--workspace", str(tmp_path / "ws"), "list"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    said = [line for line in done.stderr.splitlines() if "Cleaned up after" in line]
    assert len(said) == 1 and "temporary folder" in said[0], done.stderr
    assert not [f for f in folders if os.path.exists(f)]
    assert not list(records.glob("run-*.json"))


def test_the_next_command_ends_a_probe_whose_keeper_was_killed_too(
    tmp_path: Path, records: Path
) -> None:
    course, probe, held = start_check_08(tmp_path)
    (keeper,) = [pid for pid, cmd in children(course.pid) if leftovers.KEEPER in cmd]
    os.kill(keeper, signal.SIGKILL)  # both layers' first line gone at once
    course.send_signal(signal.SIGKILL)
    course.wait()
    time.sleep(0.5)
    assert alive(probe) and held & loaded_programs()  # nothing ended it yet
    said = leftovers.clean_leftovers()
    assert said and "ended" in said and "process group" in said, said
    assert wait_for(lambda: not alive(probe), 10)
    assert wait_for(lambda: not (held & loaded_programs()), 10), held & loaded_programs()
    assert leftovers.clean_leftovers() is None  # said once


def test_records_of_a_live_runner_are_left_alone(records: Path) -> None:
    record = leftovers.RunRecord("main")
    record.add_group(os.getpid(), leftovers.start_ticks(os.getpid()), "me")
    assert leftovers.clean_leftovers() is None and record.path and record.path.exists()
    record.close()
    assert not list(records.glob("run-*.json"))


def test_a_forged_record_removes_only_our_own_temporary_folders(
    tmp_path: Path, records: Path
) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    records.mkdir()
    dead = {"pid": 2**22 + 1, "ticks": 1}  # above pid_max's default: never alive
    (records / "run-1-1.json").write_text(
        json.dumps({"runner": dead, "boot": leftovers.boot_id(), "folders": [str(precious)]})
    )
    (records / "run-2-1.json").write_text("{not json")
    said = leftovers.clean_leftovers()
    assert said and "2 earlier runs" in said
    assert precious.is_dir() and not list(records.iterdir())


# ---------------------------------------------------------------- pins


def test_objects_a_probe_pins_are_removed_and_fail_the_run(tmp_path: Path, records: Path) -> None:
    marker = f"ebpfc-pins-{os.getpid()}"
    step = RunSpec(
        id="main", args=[marker], ready="^Attached", timeout=60, ready_timeout=45,
        stop="after-workload", settle=0.3,
    )  # fmt: skip
    probe = PROBES / "pins.py"
    lesson = Lesson(
        id="99-pins", number=99, slug="pins", title="pins", dir=tmp_path, text=probe,
        starter=probe, solution=None, tests_dir=None, runs=[step],
    )  # fmt: skip
    seen: dict[str, set[int]] = {}

    def kernel_view_while_running(_step: str, what: str) -> None:
        """The probe's map, its program (which reads the map) and its link."""
        if what != "ready":
            return
        maps = {m["id"] for m in bpftool_json("map", "show") if m.get("name") == "pinned_hits"}
        progs = {p["id"] for p in bpftool_json("prog", "show") if set(p.get("map_ids", [])) & maps}
        links = {k["id"] for k in bpftool_json("link", "show") if k.get("prog_id") in progs}
        seen.update(map=maps, prog=progs, link=links)

    run = run_one(
        lesson, step, probe, python=sys.executable, host={"features": {}},
        on_event=kernel_view_while_running,
    )  # fmt: skip
    assert run.ready and run.exit_code == 0, run.err()
    assert all(len(ids) == 1 for ids in seen.values()), seen  # one of each was loaded
    folder = f"/sys/fs/bpf/{marker}"
    assert sorted(run.kernel_leftovers) == [f"pin {folder}/{n}" for n in ("link", "map", "prog")]
    assert run.error and "pinned 3 BPF objects" in run.error and "\n" not in run.error
    # the kernel's own view: none of the three is loaded any more
    assert not os.path.exists(folder)

    def still_loaded() -> dict[str, set[int]]:
        now = {kind: {o["id"] for o in bpftool_json(kind, "show")} for kind in seen}
        return {kind: ids & now[kind] for kind, ids in seen.items() if ids & now[kind]}

    assert wait_for(lambda: not still_loaded(), 5), still_loaded()
    # kept in the recording, so `course grade` fails it again
    again = Recording.from_dict(Recording("99-pins", str(probe), "", runs={"main": run}).to_dict())
    assert again.runs["main"].error == run.error
    assert again.runs["main"].kernel_leftovers == run.kernel_leftovers


def test_a_run_that_pins_nothing_reports_nothing() -> None:
    baseline = bpffs.Baseline.take()
    found = bpffs.settle(baseline)
    assert found.sentence() is None and found.to_list() == []
