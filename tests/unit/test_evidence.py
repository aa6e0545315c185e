"""runner.live.evidence: the parsers on bpftool/fdinfo output recorded on this
machine (data/evidence/, from tests/live/probes/evidence_all.py), the ELF
symbol lookup, the guard's snapshot file, and the collector on processes
that hold no BPF (the collector on real programs is tests/live/test_evidence.py)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.live import evidence
from runner.model import Recording, Run

DATA = Path(__file__).parent / "data" / "evidence"


def load(name: str):
    return json.loads((DATA / name).read_text())


# ---------------------------------------------------------------- fdinfo


def test_fd_kinds_from_their_links() -> None:
    fds = load("fdinfo.json")["fds"]
    kinds = sorted(evidence.fd_kind(fd["link"]) for fd in fds.values())
    assert kinds.count("prog") == 4 and kinds.count("map") == 4
    assert kinds.count("link") == 1 and kinds.count("perf") == 4
    assert evidence.fd_kind("anon_inode:btf") is None
    assert evidence.fd_kind("/dev/null") is None


def test_fdinfo_fields() -> None:
    fds = load("fdinfo.json")["fds"]
    infos = {fd: evidence.parse_fdinfo(v["fdinfo"]) for fd, v in fds.items()}
    progs = [i for i in infos.values() if "prog_type" in i]
    assert {i["prog_id"] for i in progs} == {"316", "317", "318", "319"}
    assert all(i["run_cnt"].isdigit() for i in progs)
    link = next(i for i in infos.values() if "link_id" in i)
    assert link["link_type"] == "raw_tracepoint" and link["tp_name"] == "sys_enter"
    maps = [i for i in infos.values() if "map_id" in i]
    assert {(m["key_size"], m["value_size"]) for m in maps} == {("4", "8")}


# ---------------------------------------------------------------- bpftool JSON


def test_programs_of_ours_only() -> None:
    progs = evidence.parse_programs(load("prog_show.json"), {316, 317, 318, 319, 9999})
    assert {p["type"] for p in progs.values()} == {
        "raw_tracepoint",
        "tracepoint",
        "kprobe",  # bcc's uprobe programs are kprobe-type
        "perf_event",
    }
    assert progs[317]["name"] == "tracepoint__syscalls__sys_enter_openat"
    assert evidence.parse_programs(load("prog_show.json"), {316}).keys() == {316}


def test_maps_shapes() -> None:
    maps = evidence.parse_maps(load("map_show.json"), {70, 71, 72, 73})
    by_name = {m["name"]: m for m in maps.values()}
    assert by_name["opens"] == {
        "id": 73,
        "type": "hash",
        "name": "opens",
        "key_size": 4,
        "value_size": 8,
        "max_entries": 10240,
    }
    assert by_name["samples"]["type"] == "percpu_array"
    assert by_name["raw"]["type"] == "array" and by_name["raw"]["max_entries"] == 1


def test_perf_show_attachments() -> None:
    found = evidence.parse_perf_show(load("perf_show.json"), {8599})
    kinds = {(f["kind"], f["target"]) for f in found}
    assert kinds == {
        ("raw_tracepoint", "sys_enter"),
        ("tracepoint", "sys_enter_openat"),
        ("uprobe", "/lib/x86_64-linux-gnu/libc.so.6"),
    }
    uprobe = next(f for f in found if f["kind"] == "uprobe")
    assert uprobe["offset"] == 258224 and uprobe["prog_id"] == 318
    assert evidence.parse_perf_show(load("perf_show.json"), {1}) == []  # another process's


def test_perf_show_kprobes() -> None:
    """This kernel has no kprobes: bpftool's JSON for them (do_show_perf in
    bpftool's perf.c: fd_type kprobe/kretprobe with func and offset)."""
    shown = [
        {"pid": 7, "fd": 5, "prog_id": 40, "fd_type": "kprobe", "func": "do_sys_openat2",
         "offset": 0},
        {"pid": 7, "fd": 6, "prog_id": 41, "fd_type": "kretprobe", "func": "vfs_read",
         "offset": 4},
    ]  # fmt: skip
    found = evidence.parse_perf_show(shown, {7})
    assert found[0]["kind"] == "kprobe" and found[0]["target"] == "do_sys_openat2"
    assert "offset" not in found[0]
    assert found[1]["kind"] == "kretprobe" and found[1]["offset"] == 4


def test_links() -> None:
    links = evidence.parse_links(load("link_show.json"), {113})
    assert links == [
        {"link_id": 113, "prog_id": 316, "kind": "raw_tracepoint", "target": "sys_enter"}
    ]
    assert evidence.parse_links(load("link_show.json"), {1}) == []


def test_map_dump_as_hex() -> None:
    entries, truncated = evidence.parse_map_dump(load("map_dump_opens.json"))
    assert not truncated and len(entries) == 20
    first = entries[0]
    assert len(first["key"]) == 8 and len(first["value"]) == 16
    assert evidence.le_int(first["value"]) > 0


def test_per_cpu_dump_keeps_one_value_per_cpu() -> None:
    entries, _ = evidence.parse_map_dump(load("map_dump_samples.json"))
    assert entries == [{"key": "00000000", "values": ["c905000000000000", "2102000000000000"]}]


def test_map_dump_is_capped_and_says_so() -> None:
    entries, truncated = evidence.parse_map_dump(load("map_dump_opens.json"), cap=5)
    assert len(entries) == 5 and truncated
    entries, truncated = evidence.parse_map_dump(load("map_dump_opens.json"), max_bytes=24)
    assert len(entries) == 2 and truncated  # 12 bytes an entry (4 of key, 8 of value)
    entries, truncated = evidence.parse_map_dump(load("map_dump_opens.json"), cap=20)
    assert len(entries) == 20 and not truncated


def test_batch_output_by_command() -> None:
    commands = ["prog show id 2845", "map show id 1836", "map dump id 1836"]
    out = evidence.parse_batch(load("batch.json"), commands)
    assert list(out) == commands
    assert out["prog show id 2845"]["type"] == "tracepoint"
    assert evidence.parse_map_dump(out["map dump id 1836"])[0][0]["key"] == "00000000"


def test_batch_stops_at_the_first_failure() -> None:
    commands = ["prog show id 2845", "map show id 1836", "map dump id 1836"]
    commands += ["link show id 99999", "perf show"]
    out = evidence.parse_batch(load("batch_with_error.json"), commands)
    assert "error" in out["link show id 99999"] and "perf show" not in out
    assert evidence.parse_batch({"error": "x"}, commands) == {}


@pytest.mark.skipif(evidence.find_bpftool() is None, reason="bpftool is not installed")
def test_batch_runs_the_rest_after_a_failing_command() -> None:
    commands = ["prog show id 4000000000", "map show id 4000000000"]
    out = evidence.bpftool_batch(evidence.find_bpftool(), commands)
    assert list(out) == commands and all("error" in v for v in out.values())


# /proc/PID/maps of a bcc probe, in the kernel's layout: two CPUs' perf buffer
# rings of 4 data pages + 1 (0x5000), two of bcc's default 8 + 1 (0x9000), an
# mmapped BPF array and a ring buffer (anon_inode:bpf-map), other anon inodes.
PROBE_MAPS = """\
55d0c2a4e000-55d0c2a7a000 r--p 00000000 fd:01 1835089                    /usr/bin/python3.11
55d0c2a7a000-55d0c2d1f000 r-xp 0002c000 fd:01 1835089                    /usr/bin/python3.11
55d0c3f6e000-55d0c41b4000 rw-p 00000000 00:00 0                          [heap]
7f3a1c000000-7f3a1c021000 rw-p 00000000 00:00 0
7f3a20d10000-7f3a20d15000 rw-s 00000000 00:0e 10251                      anon_inode:[perf_event]
7f3a20d15000-7f3a20d1a000 rw-s 00000000 00:0e 10251                      anon_inode:[perf_event]
7f3a20d1a000-7f3a20d23000 rw-s 00000000 00:0e 10251                      anon_inode:[perf_event]
7f3a20d23000-7f3a20d2c000 rw-s 00000000 00:0e 10251                      anon_inode:[perf_event]
7f3a20d2c000-7f3a20d2d000 rw-s 00000000 00:0e 10251                      anon_inode:bpf-map
7f3a20d2d000-7f3a20d35000 r--s 00001000 00:0e 10251                      anon_inode:bpf-map
7f3a20d35000-7f3a20d36000 rw-p 00000000 00:0e 10251                      anon_inode:[eventfd]
7f3a20d36000-7f3a20d3a000 rw-s 00000000 00:05 2048                       /memfd:perf_event (deleted)
7f3a2a200000-7f3a2a228000 r--p 00000000 fd:01 1836230                    /usr/lib/libc.so.6
7ffd6b3e1000-7ffd6b402000 rw-p 00000000 00:00 0                          [stack]
7ffd6b5c4000-7ffd6b5c8000 r--p 00000000 00:00 0                          [vvar]
"""


def test_perf_mmaps_are_the_perf_event_rings_only() -> None:
    assert evidence.parse_perf_mmaps(PROBE_MAPS) == [0x5000, 0x5000, 0x9000, 0x9000]
    assert [size // 4096 - 1 for size in evidence.parse_perf_mmaps(PROBE_MAPS)] == [4, 4, 8, 8]


def test_perf_mmaps_of_a_process_without_rings() -> None:
    without = "\n".join(ln for ln in PROBE_MAPS.splitlines() if "[perf_event]" not in ln)
    assert evidence.parse_perf_mmaps(without) == []
    assert evidence.parse_perf_mmaps("") == []
    assert evidence.parse_perf_mmaps("garbage anon_inode:[perf_event]\n") == []


def test_perf_rings_of_each_process_and_a_vanished_one_skipped(monkeypatch) -> None:
    maps = {1: PROBE_MAPS, 2: None, 3: "7f00-7f00 r--p 0 0:0 0\n"}
    monkeypatch.setattr(evidence, "_read_maps", maps.get)
    rings = evidence.perf_rings([1, 2, 3])
    assert rings == [{"pid": 1, "bytes": b} for b in (0x5000, 0x5000, 0x9000, 0x9000)]


def test_maps_of_an_ended_process_read_as_none() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert evidence._read_maps(child.pid) is None
    assert evidence.parse_perf_mmaps(evidence._read_maps(os.getpid()) or "") == []


def test_hex_and_little_endian() -> None:
    assert evidence.hexbytes(["0x2a", "0x00", "0x01"]) == "2a0001"
    assert evidence.le_int("2a010000") == 0x12A


def test_tracepoint_category() -> None:
    assert evidence.tracepoint_target("sys_enter_openat", ["syscalls"]) == (
        "syscalls:sys_enter_openat"
    )
    assert evidence.tracepoint_target("sys_enter", ["raw_syscalls", "x"]) == "sys_enter"
    assert evidence.tracepoint_target("sys_enter", []) == "sys_enter"


# ---------------------------------------------------------------- ELF symbols


def test_symbol_at_prefers_public_names_and_reports_offsets_inside() -> None:
    functions = [(0x100, 0x40, "__GI_getenv", 0), (0x100, 0x40, "getenv", 1), (0x200, 8, "f", 1)]
    assert evidence.symbol_at(functions, 0x100) == "getenv"
    assert evidence.symbol_at(functions, 0x110) == "getenv+0x10"
    assert evidence.symbol_at(functions, 0x300) is None


@pytest.mark.skipif(shutil.which("nm") is None or shutil.which("readelf") is None,
                    reason="binutils (nm, readelf) are not installed")  # fmt: skip
def test_symbols_of_a_real_non_pie_binary_match_binutils() -> None:
    """The interpreter is linked at 0x400000: the file offset differs from the
    address, so the program headers must be applied (what a uprobe reports)."""
    binary = os.path.realpath(sys.executable)
    symbols = subprocess.run(
        ["nm", "-D", "--defined-only", binary], capture_output=True, text=True, check=True
    ).stdout.split()
    name = "Py_BytesMain"
    if name not in symbols:
        pytest.skip(f"{binary} does not export {name}")
    vaddr = int(symbols[symbols.index(name) - 2], 16)
    loads = [
        line.split()
        for line in subprocess.run(
            ["readelf", "-lW", binary], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        if line.strip().startswith("LOAD")
    ]
    offset = next(
        int(f[1], 16) + vaddr - int(f[2], 16)
        for f in loads
        if int(f[2], 16) <= vaddr < int(f[2], 16) + int(f[4], 16)
    )
    assert evidence.resolve_symbol(binary, offset) == name
    assert evidence.resolve_symbol(binary, offset + 4) == f"{name}+0x4"


def test_unreadable_files_resolve_to_nothing(tmp_path: Path) -> None:
    assert evidence.resolve_symbol(str(tmp_path / "missing.so"), 0) is None
    junk = tmp_path / "junk.so"
    junk.write_bytes(b"not an ELF file")
    assert evidence.resolve_symbol(str(junk), 0) is None


# ---------------------------------------------------------------- the collector


def test_snapshot_of_a_process_without_bpf() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        snap = evidence.snapshot(os.getpid(), "ready", t=1.5)
        assert snap["error"] is None and snap["at"] == "ready" and snap["t"] == 1.5
        assert snap["root"] == os.getpid()
        assert os.getpid() in snap["pids"] and child.pid in snap["pids"]  # descendants
        assert snap["programs"] == [] and snap["maps"] == [] and snap["perf_events"] == 0
        assert snap["perf_rings"] == [] and snap["page_size"] == os.sysconf("SC_PAGE_SIZE")
    finally:
        child.kill()
        child.wait()


def test_a_probe_that_already_ended_is_an_error_not_an_empty_view() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    snap = evidence.snapshot(child.pid, "stop")
    assert snap["error"] == (
        f"The kernel's view of the probe could not be read: the probe (process {child.pid}) "
        "had already ended."
    )


def test_a_failure_is_the_snapshots_error_never_a_raise(monkeypatch) -> None:
    held = [(os.getpid(), 99, "prog", {"prog_id": "1"})]
    monkeypatch.setattr(evidence, "_held_fds", lambda pids: held)
    monkeypatch.setattr(evidence, "find_bpftool", lambda: None)
    snap = evidence.snapshot(os.getpid(), "stop")
    assert snap["error"].startswith("The kernel's view of the probe could not be read")
    assert "bpftool is not installed" in snap["error"] and snap["programs"] == []
    snap = evidence.snapshot(os.getpid(), "stop", bpftool="/nonexistent/bpftool")
    assert "bpftool could not be run" in snap["error"] and "\n" not in snap["error"]


def test_permission_problem_is_one_sentence(monkeypatch) -> None:
    def denied(path: str) -> list[str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(evidence.os, "listdir", denied)
    snap = evidence.snapshot(os.getpid(), "ready")
    assert "cannot be read" in snap["error"] and snap["error"].endswith(".")


def test_probe_pids_are_those_that_held_programs_else_the_probe() -> None:
    snaps = [{"root": 10, "programs": [{"pids": [12, 11]}]}, {"root": 10, "programs": []}]
    assert evidence.probe_pids(snaps) == [11, 12]
    assert evidence.probe_pids([{"root": 10, "programs": []}]) == [10]
    assert evidence.probe_pids([]) == []


def test_disabled_recorder_takes_nothing(monkeypatch) -> None:
    monkeypatch.setenv(evidence.DISABLE_ENV, "off")
    recorder = evidence.Recorder(via_guard=True)
    assert recorder.take("ready", os.getpid(), 0.0) is None and recorder.guard_args() == []
    recorder.close()


def test_recorder_as_root_holds_stats_on_for_the_run() -> None:
    if os.geteuid() != 0:
        pytest.skip("BPF_ENABLE_STATS needs root")
    recorder = evidence.Recorder(via_guard=False, enabled=True)
    recorder.begin()
    try:
        assert recorder.stats
        snap = recorder.take("ready", os.getpid(), 0.25)
        assert snap is not None and snap["stats"] and snap["t"] == 0.25
    finally:
        recorder.close()


def test_a_guard_that_does_not_answer_is_recorded(monkeypatch) -> None:
    monkeypatch.setattr(evidence, "GUARD_ANSWER_TIMEOUT", 0.2)
    recorder = evidence.Recorder(via_guard=True, enabled=True)
    sleeper = subprocess.Popen(
        [sys.executable, "-c", "import signal, time; signal.signal(signal.SIGUSR1, "
         "signal.SIG_IGN); time.sleep(30)"]
    )  # fmt: skip
    try:
        assert recorder.guard_args()[0] == "--evidence" and Path(recorder.dir).is_dir()
        snap = recorder.take("ready", sleeper.pid, 0.5)  # never said it listens: not signalled
        assert (
            snap["error"] == "The root guard was not ready to take the ready snapshot within 0.2 s."
        )
        evidence.guard_listening(recorder.dir)
        snap = recorder.take("ready", sleeper.pid, 0.5)
        assert snap["error"] == "The root guard did not write the ready snapshot within 0.2 s."
        assert snap["programs"] == [] and snap["t"] == 0.5
    finally:
        sleeper.kill()
        sleeper.wait()
        folder = recorder.dir
        recorder.close()
    assert not Path(folder).exists()


def test_guard_writes_the_snapshot_the_recorder_reads(tmp_path: Path) -> None:
    folder = tmp_path / "ev"
    folder.mkdir()
    evidence.guard_write(str(folder), "stop", os.getpid(), stats=False)
    written = folder / "stop.json"
    assert json.loads(written.read_text())["at"] == "stop"
    assert written.stat().st_uid == folder.stat().st_uid
    assert [p.name for p in folder.iterdir()] == ["stop.json"]  # no temp file left


def test_guard_never_writes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real)
    with pytest.raises(OSError):
        evidence.guard_write(str(link), "ready", os.getpid(), stats=False)
    assert "not a directory" in evidence.check_folder(str(link), None)
    assert evidence.check_folder(str(real), os.getuid()) is None
    assert "does not belong" in evidence.check_folder(str(real), os.getuid() + 1)
    assert "cannot be used" in evidence.check_folder(str(tmp_path / "missing"), None)


def test_guard_argv_carries_the_evidence_folder(monkeypatch) -> None:
    from runner.live import privilege

    monkeypatch.setattr(privilege, "is_root", lambda: False)
    argv = privilege.privileged_argv(["py", "-u", "p.py"], "/v/python", ["--evidence", "/t/e"])
    assert argv[-7:] == [privilege.GUARD, "--evidence", "/t/e", "--", "py", "-u", "p.py"]


# ---------------------------------------------------------------- the recording


def test_recordings_from_before_evidence_still_load() -> None:
    old = {
        "lesson": "06-tracepoints",
        "runs": {"main": {"id": "main", "lines": [], "exit_code": 0}},
    }
    run = Recording.from_dict(old).runs["main"]
    assert run.evidence == [] and run.probe_pids == []


def test_evidence_round_trips_through_a_recording() -> None:
    data = load("run_all_opens.json")
    rec = Recording.from_dict({"lesson": "x", "runs": {"main": data["run"]}})
    again = Recording.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert again.runs["main"].evidence == data["run"]["evidence"]
    assert isinstance(again.runs["main"], Run) and again.runs["main"].probe_pids
