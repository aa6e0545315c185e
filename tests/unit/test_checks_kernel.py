"""kernel.program / kernel.map / kernel.perf_events / kernel.perf_rings on recorded runs.

The recordings under data/evidence/ are real runs of tests/live/probes/
(see record_runs.py there): evidence_all.py (tracepoint + BPF_HASH keyed by
tgid, raw tracepoint, uprobe on libc getenv, CPU-clock perf events), the
same keyed by thread id, a probe that prints perfect lines and loads no BPF,
one that exits before it is stopped, and one run without bpftool. Where this
kernel cannot record a case (a kprobe), a copy is edited and says so; so is
every perf_rings case, since these recordings predate that field."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import checks
from checks.context import Context
from runner.model import Recording, Verdict

DATA = Path(__file__).parent / "data" / "evidence"


def recording(name: str) -> Recording:
    data = json.loads((DATA / f"{name}.json").read_text())
    return Recording.from_dict(
        {"lesson": "99-evidence", "host": data["host"], "runs": {"main": data["run"]}}
    )


def judge(kind: str, params: dict[str, Any], rec: Recording | str) -> Verdict:
    rec = recording(rec) if isinstance(rec, str) else rec
    found = checks.get(kind)
    assert found is not None
    return found.func(params, Context(recording=rec, run=rec.runs["main"]))


def one_sentence(verdict: Verdict) -> None:
    assert "\n" not in verdict.message and verdict.message.endswith(".")


OPENAT = "tracepoint:syscalls:sys_enter_openat"


# ---------------------------------------------------------------- kernel.program


def test_program_at_the_hook_that_ran_for_the_workload_passes() -> None:
    v = judge(
        "kernel.program",
        {"attach": [OPENAT], "min_runs": "{workload.facts.opens}"},
        "run_all_opens",
    )
    assert v.status == "pass", v.message
    assert v.observed["runs"] == 357 - 111  # run_cnt(stop) - run_cnt(ready), recorded
    assert "syscalls:sys_enter_openat" in v.message
    one_sentence(v)


@pytest.mark.parametrize(
    "attach",
    [
        "tracepoint:syscalls:sys_enter_open*",
        "tracepoint:sys_enter_openat",  # the name alone
        ["kprobe:do_sys_openat2", "raw_tracepoint:sys_enter"],  # any of them
        "uprobe:c:getenv",  # bcc's name for libc
        "uprobe:libc:getenv",
        "uprobe:/lib/x86_64-linux-gnu/libc.so.6:getenv",
        "uprobe:libc.so.6",
        "perf_event",
    ],
)
def test_attach_patterns_that_match_the_recorded_hooks(attach: Any) -> None:
    v = judge("kernel.program", {"attach": attach}, "run_all_opens")
    assert v.status == "pass", v.message


def test_printing_the_lines_without_bpf_fails() -> None:
    rec = recording("run_fake_lines")
    run = rec.runs["main"]
    assert f"opens pid={run.workload.pid} n=6" in run.out()  # the lines were perfect
    v = judge("kernel.program", {"attach": OPENAT, "min_runs": 6}, rec)
    assert v.status == "fail"
    assert "held no BPF program" in v.message
    one_sentence(v)


def test_wrong_hook_fails_naming_what_was_held() -> None:
    v = judge("kernel.program", {"attach": "uprobe:libc:malloc"}, "run_all_opens")
    assert v.status == "fail"
    assert "a uprobe on /lib/x86_64-linux-gnu/libc.so.6 (getenv)" in v.message
    assert "a tracepoint on syscalls:sys_enter_openat" in v.message
    one_sentence(v)


def _with_kprobe(target: str) -> Recording:
    """This kernel has no kprobes: the recorded tracepoint program, edited into
    a kprobe program as bpftool reports one (fd_type kprobe, func)."""
    rec = recording("run_fake_lines")
    real = recording("run_all_opens").runs["main"]
    run = rec.runs["main"]
    run.evidence = copy.deepcopy(real.evidence)
    for snap in run.evidence:
        snap["programs"] = [p for p in snap["programs"] if p["type"] == "tracepoint"]
        for program in snap["programs"]:
            program["type"] = "kprobe"
            program["attach"] = [{"kind": "kprobe", "target": target}]
    return rec


def test_kprobe_on_the_wrong_function_fails_with_both_names() -> None:
    v = judge("kernel.program", {"attach": "kprobe:do_sys_openat2"}, _with_kprobe("do_sys_open"))
    assert v.status == "fail"
    assert v.message == (
        "The probe held a kprobe on do_sys_open, not do_sys_openat2; attach your program there."
    )
    assert (
        judge(
            "kernel.program", {"attach": "kprobe:do_sys_openat2"}, _with_kprobe("do_sys_openat2")
        ).status
        == "pass"
    )


def test_a_program_attached_nowhere_is_named() -> None:
    rec = recording("run_all_opens")
    for snap in rec.runs["main"].evidence:
        for program in snap["programs"]:
            program["attach"] = []
    v = judge("kernel.program", {"attach": OPENAT}, rec)
    assert v.status == "fail" and "attached nowhere" in v.message


def test_too_few_runs_fail() -> None:
    v = judge("kernel.program", {"attach": OPENAT, "min_runs": 100_000}, "run_all_opens")
    assert v.status == "fail"
    assert "ran 246 times" in v.message and "100000" in v.message
    one_sentence(v)


def test_without_run_statistics_min_runs_is_not_judged_and_says_so() -> None:
    rec = recording("run_all_opens")
    for snap in rec.runs["main"].evidence:
        snap["stats"] = False
        for program in snap["programs"]:
            program["run_cnt"] = program["run_time_ns"] = None
    v = judge("kernel.program", {"attach": OPENAT, "min_runs": 100_000}, rec)
    assert v.status == "pass" and "min_runs was not judged" in v.message


def test_probe_that_exited_by_itself_cannot_have_its_runs_judged() -> None:
    v = judge("kernel.program", {"attach": OPENAT, "min_runs": 1}, "run_exits_early")
    assert v.status == "error"
    assert "exited by itself" in v.message and "stop snapshot" in v.message
    one_sentence(v)
    # the attach point itself was seen at the ready line
    assert judge("kernel.program", {"attach": OPENAT}, "run_exits_early").status == "pass"


def test_evidence_error_means_could_not_be_judged() -> None:
    v = judge("kernel.program", {"attach": OPENAT}, "run_no_bpftool")
    assert v.status == "error"
    assert v.message.startswith("This could not be judged")
    assert "bpftool is not installed" in v.message
    one_sentence(v)


def test_a_recording_without_evidence_cannot_be_judged() -> None:
    rec = recording("run_all_opens")
    rec.runs["main"].evidence = []
    v = judge("kernel.program", {"attach": OPENAT}, rec)
    assert v.status == "error" and "no kernel evidence" in v.message


def test_bad_attach_pattern_is_an_error() -> None:
    v = judge("kernel.program", {"attach": "fentry:do_sys_openat2"}, "run_all_opens")
    assert v.status == "error" and "must start with one of" in v.message


def test_missing_attach_is_a_params_error() -> None:
    v = judge("kernel.program", {"min_runs": 1}, "run_all_opens")
    assert v.status == "error" and "params are invalid" in v.message


# ---------------------------------------------------------------- kernel.map


COUNTS = {"type": ["hash", "lru_hash"], "key": "{workload.pid}", "value": "{workload.facts.opens}"}


def test_map_holding_the_workloads_count_passes() -> None:
    v = judge("kernel.map", {**COUNTS, "name": "opens"}, "run_all_opens")
    assert v.status == "pass", v.message
    one_sentence(v)


def test_uprobe_counts_in_their_map() -> None:
    v = judge(
        "kernel.map",
        {
            "type": "hash",
            "name": "getenvs",
            "key": "{workload.pid}",
            "value": "{workload.facts.calls}",
        },
        "run_all_getenv",
    )
    assert v.status == "pass", v.message


def test_map_keyed_by_thread_id_fails_and_says_so() -> None:
    rec = recording("run_all_by_tid")
    run = rec.runs["main"]
    assert run.workload.tid != run.workload.pid
    v = judge("kernel.map", {**COUNTS, "name": "opens"}, rec)
    assert v.status == "fail"
    assert f"no entry for key {run.workload.pid}" in v.message
    assert f"thread id {run.workload.tid}" in v.message and ">> 32" in v.message
    one_sentence(v)


def test_pid_tgid_as_key_is_named() -> None:
    rec = recording("run_all_opens")
    run = rec.runs["main"]
    pid_tgid = run.workload.pid << 32 | run.workload.tid
    stop = run.evidence[-1]
    opens = next(m for m in stop["maps"] if m["name"] == "opens")
    opens["key_size"] = 8
    for entry in opens["entries"]:
        key = int.from_bytes(bytes.fromhex(entry["key"]), "little")
        entry["key"] = (pid_tgid if key == run.workload.pid else key).to_bytes(8, "little").hex()
    v = judge("kernel.map", {**COUNTS, "name": "opens"}, rec)
    assert v.status == "fail" and "whole pid_tgid" in v.message


def test_wrong_value_fails_with_both_values() -> None:
    v = judge("kernel.map", {**COUNTS, "value": 7, "name": "opens"}, "run_all_opens")
    assert v.status == "fail"
    assert "holds 6, not 7" in v.message
    one_sentence(v)


def test_only_keys_fails_when_other_processes_were_counted() -> None:
    v = judge(
        "kernel.map", {**COUNTS, "name": "opens", "only_keys": ["{workload.pid}"]}, "run_all_opens"
    )
    assert v.status == "fail" and "also holds keys" in v.message and "filter" in v.message
    assert (
        judge("kernel.map", {"type": "array", "key": 0, "only_keys": [0]}, "run_all_opens").status
        == "pass"
    )


def test_value_contains() -> None:
    ok = judge(
        "kernel.map",
        {
            "type": "hash",
            "name": "opens",
            "key": "{workload.pid}",
            "value_contains": ["{workload.facts.opens}"],
        },
        "run_all_opens",
    )
    assert ok.status == "pass", ok.message
    bad = judge(
        "kernel.map",
        {"type": "hash", "name": "opens", "key": "{workload.pid}", "value_contains": [6, 99]},
        "run_all_opens",
    )
    assert bad.status == "fail" and "does not hold 99" in bad.message


def test_per_cpu_values_are_summed() -> None:
    rec = recording("run_all_opens")
    stop = rec.runs["main"].evidence[-1]
    samples = next(m for m in stop["maps"] if m["name"] == "samples")
    total = sum(int.from_bytes(bytes.fromhex(v), "little") for v in samples["entries"][0]["values"])
    v = judge("kernel.map", {"type": "percpu_array", "key": 0, "value": total}, rec)
    assert v.status == "pass", v.message
    assert (
        judge("kernel.map", {"type": "percpu_array", "key": 0, "value": total + 1}, rec).status
        == "fail"
    )


def test_no_map_of_that_type_fails_naming_the_maps_held() -> None:
    v = judge("kernel.map", {**COUNTS, "type": "lru_hash"}, "run_all_opens")
    assert v.status == "fail"
    assert "no lru_hash map" in v.message and "hash map 'opens'" in v.message
    fake = judge("kernel.map", COUNTS, "run_fake_lines")
    assert fake.status == "fail" and "no BPF map at all" in fake.message
    one_sentence(fake)


def test_a_map_of_a_type_without_a_key_is_about_its_existence() -> None:
    """A perf buffer (perf_event_array) holds no entries to match: holding
    one is the claim; a probe holding none fails."""
    held = judge("kernel.map", {"type": "hash"}, "run_all_opens")
    assert held.status == "pass", held.message
    missing = judge("kernel.map", {"type": "perf_event_array"}, "run_fake_lines")
    assert missing.status == "fail" and "no perf_event_array map" in missing.message
    other = judge("kernel.map", {"type": "ringbuf"}, "run_all_opens")
    assert other.status == "fail" and "hash map 'opens'" in other.message
    needs_key = judge("kernel.map", {"type": "hash", "value": 3}, "run_all_opens")
    assert needs_key.status == "error" and "params are invalid" in needs_key.message


def test_truncated_dump_says_so() -> None:
    rec = recording("run_all_by_tid")
    for item in rec.runs["main"].evidence[-1]["maps"]:
        item["truncated"] = True
    v = judge("kernel.map", {**COUNTS, "name": "opens"}, rec)
    assert v.status == "fail" and "cut at the entry cap" in v.message


def test_map_contents_of_a_probe_that_exited_by_itself_cannot_be_judged() -> None:
    v = judge("kernel.map", {"type": "hash", "key": 1}, "run_exits_early")
    assert v.status == "error" and "exited by itself" in v.message


def test_map_with_evidence_error_cannot_be_judged() -> None:
    v = judge("kernel.map", COUNTS, "run_no_bpftool")
    assert v.status == "error" and "bpftool is not installed" in v.message


# ---------------------------------------------------------------- kernel.perf_events


def test_one_perf_event_per_cpu_passes() -> None:
    v = judge("kernel.perf_events", {"min": "{host.cpus}"}, "run_all_opens")
    assert v.status == "pass", v.message
    assert v.observed == 2 and v.expected == 2


def test_too_few_perf_events_fail() -> None:
    v = judge("kernel.perf_events", {"min": 4}, "run_all_opens")
    assert v.status == "fail"
    assert "only 2 perf events" in v.message.lower() and "fewer than 4" in v.message
    one_sentence(v)


def test_no_perf_event_program_fails() -> None:
    v = judge("kernel.perf_events", {"min": "{host.cpus}"}, "run_fake_lines")
    assert v.status == "fail" and "no perf_event program" in v.message


def test_perf_events_with_evidence_error_cannot_be_judged() -> None:
    v = judge("kernel.perf_events", {"min": 1}, "run_no_bpftool")
    assert v.status == "error"


def test_counts_must_be_counts() -> None:
    v = judge("kernel.perf_events", {"min": "two"}, "run_all_opens")
    assert v.status == "error"


# ---------------------------------------------------------------- kernel.perf_rings

PAGE = 4096


def _with_rings(*pages: int, page_size: int = PAGE) -> Recording:
    """The recordings predate perf_rings: a copy of a real run, given the
    rings bcc maps for a perf buffer (one per CPU of the recorded host, two
    here), each `pages` data pages + 1 header page, as /proc/PID/maps shows
    them (evidence.parse_perf_mmaps)."""
    rec = recording("run_all_opens")
    run = rec.runs["main"]
    for snap in run.evidence:
        snap["page_size"] = page_size
        snap["perf_rings"] = [{"pid": snap["root"], "bytes": (n + 1) * page_size} for n in pages]
    return rec


def test_rings_of_the_pages_asked_for_pass() -> None:
    v = judge("kernel.perf_rings", {"pages": 4}, _with_rings(4, 4))
    assert v.status == "pass", v.message
    assert (
        v.message
        == "The probe's 2 perf buffer rings are 5 pages each (4 data pages + 1), as asked."
    )
    assert v.expected == {"pages": 4, "bytes": 5 * PAGE}
    assert v.observed == {"rings": 2, "bytes": [5 * PAGE]}
    assert judge("kernel.perf_rings", {"pages": 1}, _with_rings(1)).status == "pass"


def test_rings_of_bccs_default_size_fail_naming_it() -> None:
    """open_perf_buffer without page_cnt: bcc's 8 pages, whatever the probe printed."""
    v = judge("kernel.perf_rings", {"pages": 4}, _with_rings(8, 8))
    assert v.status == "fail"
    assert v.message == (
        "The probe's perf buffer rings are 9 pages each (8 data pages + 1), not the 4 data "
        "pages asked for: give open_perf_buffer the page count asked for as page_cnt "
        "(bcc's default is 8)."
    )
    assert v.observed == {"rings": 2, "bytes": [9 * PAGE]}
    one_sentence(v)


def test_one_ring_of_another_size_fails() -> None:
    v = judge("kernel.perf_rings", {"pages": 4}, _with_rings(4, 4, 16))
    assert v.status == "fail"
    assert v.message.startswith("1 of the probe's 3 perf buffer rings is not the 4 data pages")
    assert "1 ring of 17 pages (16 data pages + 1)" in v.message
    one_sentence(v)


def test_a_ring_not_in_whole_pages_is_named_in_bytes() -> None:
    rec = _with_rings(4)
    for snap in rec.runs["main"].evidence:
        snap["perf_rings"][0]["bytes"] = 1000
    v = judge("kernel.perf_rings", {"pages": 4}, rec)
    assert v.status == "fail" and "ring is 1000 bytes, not the 4 data pages" in v.message


def test_no_ring_at_all_fails() -> None:
    v = judge("kernel.perf_rings", {"pages": 4}, _with_rings())
    assert v.status == "fail"
    assert v.message.startswith("The probe had no perf buffer ring mapped when it was stopped")
    assert v.observed == {"rings": 0, "bytes": []}
    one_sentence(v)


def test_the_page_size_is_the_snapshots() -> None:
    big = _with_rings(4, 4, page_size=65536)  # an arm64 kernel with 64 KiB pages
    assert judge("kernel.perf_rings", {"pages": 4}, big).status == "pass"
    for snap in big.runs["main"].evidence:
        snap["page_size"] = PAGE
    v = judge("kernel.perf_rings", {"pages": 4}, big)
    assert v.status == "fail" and "80 pages each (79 data pages + 1)" in v.message


def test_at_picks_the_snapshot() -> None:
    rec = _with_rings(4, 4)
    ready, stop = rec.runs["main"].evidence
    assert (ready["at"], stop["at"]) == ("ready", "stop")
    stop["perf_rings"] = []  # closed before the stop, say
    assert judge("kernel.perf_rings", {"pages": 4, "at": "ready"}, rec).status == "pass"
    assert judge("kernel.perf_rings", {"pages": 4}, rec).status == "fail"  # stop by default


def test_without_a_stop_snapshot_ready_is_read_unless_stop_is_asked_for() -> None:
    rec = recording("run_exits_early")
    for snap in rec.runs["main"].evidence:
        snap["page_size"] = PAGE
        snap["perf_rings"] = [{"pid": snap["root"], "bytes": 5 * PAGE}]
    assert judge("kernel.perf_rings", {"pages": 4}, rec).status == "pass"
    v = judge("kernel.perf_rings", {"pages": 4, "at": "stop"}, rec)
    assert v.status == "error" and "exited by itself" in v.message
    one_sentence(v)


def test_pages_may_be_a_template() -> None:
    # the recorded host has 2 CPUs: {host.cpus} stands for any template here
    assert judge("kernel.perf_rings", {"pages": "{host.cpus}"}, _with_rings(2, 2)).status == "pass"


def test_snapshots_from_before_perf_rings_cannot_be_judged() -> None:
    v = judge("kernel.perf_rings", {"pages": 4}, "run_all_opens")
    assert v.status == "error"
    assert v.message.startswith("This could not be judged: this run's kernel evidence was")
    assert "no perf_rings" in v.message
    one_sentence(v)


def test_perf_rings_with_evidence_error_cannot_be_judged() -> None:
    v = judge("kernel.perf_rings", {"pages": 4}, "run_no_bpftool")
    assert v.status == "error" and "bpftool is not installed" in v.message


@pytest.mark.parametrize("params", [{}, {"pages": 0}, {"pages": "four"}, {"pages": 4, "at": "x"}])
def test_perf_rings_params_are_checked(params: dict[str, Any]) -> None:
    v = judge("kernel.perf_rings", params, _with_rings(4, 4))
    assert v.status == "error" and "\n" not in v.message


def test_without_keys_fails_when_a_forbidden_key_was_counted() -> None:
    # the recorded probe counted every process's opens, the workload's among them
    v = judge("kernel.map", {"type": "hash", "without_keys": ["{workload.pid}"]}, "run_all_opens")
    assert v.status == "fail"
    assert "holds an entry for key" in v.message and "filter it out" in v.message
    one_sentence(v)


def test_without_keys_passes_when_the_probe_did_not_count_itself() -> None:
    rec = recording("run_all_opens")
    assert rec.runs["main"].probe_pids
    v = judge("kernel.map", {"type": "hash", "without_keys": "{run.probe_pids}"}, rec)
    assert v.status == "pass", v.message


def test_without_keys_fails_on_its_own_pid_when_the_probe_counted_itself() -> None:
    rec = recording("run_all_opens")
    run = rec.runs["main"]
    stop = run.evidence[-1]
    opens = next(m for m in stop["maps"] if m["name"] == "opens")
    own = run.probe_pids[0]
    opens["entries"].append({"key": own.to_bytes(4, "little").hex(), "value": "0300000000000000"})
    v = judge("kernel.map", {"type": "hash", "without_keys": "{run.probe_pids}"}, rec)
    assert v.status == "fail" and f"key {own}" in v.message


def test_without_keys_of_an_unread_map_is_no_pass() -> None:
    rec = recording("run_all_opens")
    for m in rec.runs["main"].evidence[-1]["maps"]:
        m.pop("entries", None)
    v = judge("kernel.map", {"type": "hash", "without_keys": "{run.probe_pids}"}, rec)
    assert v.status == "fail" and "could not be read" in v.message


def _with_comm_map(counts: dict[str, int]) -> Recording:
    """A recorded run whose stop snapshot also holds a hash keyed by char[16]
    comm (edited in: the recorded probes count by pid only)."""
    rec = recording("run_all_opens")
    entries = [
        {"key": comm.encode().ljust(16, b"\0").hex(), "value": n.to_bytes(8, "little").hex()}
        for comm, n in counts.items()
    ]
    rec.runs["main"].evidence[-1]["maps"].append(
        {"type": "hash", "name": "by_comm", "key_size": 16, "value_size": 8, "entries": entries}
    )
    return rec


BY_COMM = {"type": "hash", "name": "by_comm", "key_text": "ebpfc-ocomm"}


def test_a_text_key_finds_the_comm_entry_and_its_count() -> None:
    rec = _with_comm_map({"ebpfc-ocomm": 10, "bash": 3})
    v = judge("kernel.map", {**BY_COMM, "value": 10}, rec)
    assert v.status == "pass", v.message
    assert "key 'ebpfc-ocomm' holding 10" in v.message
    one_sentence(v)


def test_a_text_key_with_another_count_fails() -> None:
    # the per-comm count summed from a per-process table: another number
    v = judge("kernel.map", {**BY_COMM, "value": 10}, _with_comm_map({"ebpfc-ocomm": 7}))
    assert v.status == "fail"
    assert "entry for key 'ebpfc-ocomm' holds 7, not 10" in v.message


def test_a_missing_text_key_names_the_keys_as_text() -> None:
    v = judge("kernel.map", {**BY_COMM, "value": 10}, _with_comm_map({"ebpfc-ocom": 10}))
    assert v.status == "fail"
    assert "no entry for key 'ebpfc-ocomm'" in v.message and "'ebpfc-ocom'" in v.message


def test_text_key_needs_nul_padding_not_garbage() -> None:
    rec = _with_comm_map({})
    garbage = b"ebpfc-ocomm\0junk".hex()
    rec.runs["main"].evidence[-1]["maps"][-1]["entries"].append(
        {"key": garbage, "value": (10).to_bytes(8, "little").hex()}
    )
    assert judge("kernel.map", {**BY_COMM, "value": 10}, rec).status == "fail"


@pytest.mark.parametrize(
    "params",
    [
        {"type": "hash", "key": 1, "key_text": "x"},
        {"type": "hash", "value": 3},
        {"type": "hash", "key_text": "x", "only_keys": [1]},
    ],
)
def test_key_and_key_text_params_are_checked(params: dict[str, Any]) -> None:
    v = judge("kernel.map", params, _with_comm_map({"x": 3}))
    assert v.status == "error" and "params are invalid" in v.message
