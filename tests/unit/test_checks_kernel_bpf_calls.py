"""kernel.bpf_calls on recorded runs: the kernel's own record of a probe's
bpf() syscalls (ftrace) against what the probe claims.

The recordings under data/bpf_calls/ are real runs of lesson 00's `main`
step (see record_runs.py there): the reference solution, the wrong variant
that prints a perfect report without loading a program, the starter (an
honest "failed", no call), the reference run as nobody (every load refused)
and the reference with its report inverted ("failed" after an accepted
load). Where this kernel cannot record a case (no tracefs, a full trace
buffer, a recording from before the field), a copy is edited and says so."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

import checks
from checks.context import Context
from runner.grade import grade
from runner.model import CheckSpec, Recording, Verdict

DATA = Path(__file__).parent / "data" / "bpf_calls"
CLAIMS = {"claims": [r"^\s*BPF program\s*:\s*(?P<claim>\S+)", r"^\s*Ready\s*:\s*(?P<claim>\S+)"]}


def recording(name: str) -> Recording:
    data = json.loads((DATA / f"{name}.json").read_text())
    return Recording.from_dict(
        {"lesson": "00-setup", "host": data["host"], "runs": {"main": data["run"]}}
    )


def judge(params: dict[str, Any], rec: Recording | str) -> Verdict:
    rec = recording(rec) if isinstance(rec, str) else rec
    found = checks.get("kernel.bpf_calls")
    assert found is not None
    return found.func(params, Context(recording=rec, run=rec.runs["main"]))


def one_sentence(verdict: Verdict) -> None:
    assert "\n" not in verdict.message and verdict.message.endswith(".")


def edited(name: str, **fields: Any) -> Recording:
    rec = copy.deepcopy(recording(name))
    for key, value in fields.items():
        setattr(rec.runs["main"], key, value)
    return rec


# ---------------------------------------------------------------- the recordings


def test_the_recordings_are_what_they_say() -> None:
    loads = {
        name: [
            c["ret"] for c in recording(name).runs["main"].bpf_calls if c["cmd"] == "BPF_PROG_LOAD"
        ]
        for name in ("solution", "claims_loaded", "starter", "refused", "claims_failed")
    }
    assert loads["solution"] and all(r >= 0 for r in loads["solution"])
    assert loads["claims_loaded"] == loads["starter"] == []
    assert loads["refused"] and all(r == -1 for r in loads["refused"])  # -EPERM
    assert loads["claims_failed"] and all(r >= 0 for r in loads["claims_failed"])
    assert "BPF program: loaded" in recording("claims_loaded").runs["main"].out()


# ---------------------------------------------------------------- counts


def test_an_accepted_program_load_passes() -> None:
    v = judge({}, "solution")
    assert v.status == "pass", v.message
    assert v.observed["accepted"] == 4 and v.observed["refused"] == 0
    one_sentence(v)


def test_no_program_load_at_all_fails() -> None:
    v = judge({}, "claims_loaded")
    assert v.status == "fail"
    assert "the kernel saw no bpf() call at all" in v.message.lower()
    one_sentence(v)


def test_refused_loads_do_not_count() -> None:
    v = judge({"min": 1}, "refused")
    assert v.status == "fail"
    assert "accepted 0 and refused 4 BPF_PROG_LOAD" in v.message
    one_sentence(v)


def test_min_and_another_command() -> None:
    assert judge({"min": 4}, "solution").status == "pass"
    assert judge({"min": 5}, "solution").status == "fail"
    assert judge({"cmd": "BPF_BTF_LOAD", "min": 2}, "solution").status == "pass"
    assert judge({"cmd": "BPF_MAP_CREATE"}, "solution").status == "fail"


# ---------------------------------------------------------------- claims


def test_the_reference_solutions_claims_agree_with_the_kernel() -> None:
    v = judge(CLAIMS, "solution")
    assert v.status == "pass", v.message
    assert "'BPF program: loaded' and 'Ready: yes'" in v.message
    one_sentence(v)


def test_a_perfect_report_without_a_program_fails() -> None:
    v = judge(CLAIMS, "claims_loaded")
    assert v.status == "fail"
    assert v.message.startswith("The probe printed 'BPF program: loaded' but the kernel saw no")
    one_sentence(v)


def test_an_honest_failure_without_any_call_passes() -> None:
    v = judge(CLAIMS, "starter")
    assert v.status == "pass", v.message


def test_an_honest_failure_the_kernel_refused_passes() -> None:
    v = judge(CLAIMS, "refused")
    assert v.status == "pass", v.message
    assert "refused 4" in v.message


def test_saying_failed_after_an_accepted_load_fails() -> None:
    v = judge(CLAIMS, "claims_failed")
    assert v.status == "fail"
    assert "'BPF program: failed (None)'" in v.message and "accepted 4 and refused 0" in v.message
    one_sentence(v)


def test_ready_yes_alone_is_judged_too() -> None:
    """Copy of claims_loaded whose BPF line is honest: 'Ready: yes' still fails."""
    rec = copy.deepcopy(recording("claims_loaded"))
    for line in rec.runs["main"].lines:
        line.text = line.text.replace("BPF program: loaded", "BPF program: failed (skipped)")
    v = judge(CLAIMS, rec)
    assert v.status == "fail" and "'Ready: yes'" in v.message


def test_a_missing_claim_line_fails() -> None:
    v = judge({"claims": [r"^Loaded\s*:\s*(?P<claim>\S+)"]}, "solution")
    assert v.status == "fail" and "no line matching" in v.message
    one_sentence(v)


def test_a_word_that_is_neither_fails() -> None:
    v = judge({"claims": [r"^Kernel\s*:\s*(?P<claim>\S+)"]}, "solution")
    assert v.status == "fail" and "neither a yes word" in v.message


def test_a_claims_pattern_without_the_group_is_an_error() -> None:
    v = judge({"claims": [r"^Ready\s*:\s*(\S+)"]}, "solution")
    assert v.status == "error" and "(?P<claim>...)" in v.message


# ---------------------------------------------------------------- no record


def test_no_tracefs_is_unsupported_with_the_reason_never_a_pass() -> None:
    """Copy of the reference's recording as a kernel without tracefs records it."""
    reason = (
        "tracefs is not mounted (mount -t tracefs tracefs /sys/kernel/tracing), so the "
        "kernel's record of the probe's bpf() calls could not be taken."
    )
    rec = edited("solution", bpf_calls=None, bpf_calls_missing=reason)
    for params in ({}, CLAIMS):
        v = judge(params, rec)
        assert v.status == "unsupported" and v.message == reason[0].upper() + reason[1:]


def test_a_recording_from_before_the_field_is_an_error() -> None:
    data = json.loads((DATA / "solution.json").read_text())
    for key in ("bpf_calls", "bpf_calls_missing", "bpf_calls_lost"):
        data["run"].pop(key)
    rec = Recording.from_dict(
        {"lesson": "00-setup", "host": data["host"], "runs": {"main": data["run"]}}
    )
    assert rec.runs["main"].bpf_calls is None  # old recordings still load
    v = judge(CLAIMS, rec)
    assert v.status == "error" and "no record of the probe's bpf() calls" in v.message
    one_sentence(v)


def test_lost_events_make_a_missing_load_unjudgeable_not_a_fail() -> None:
    """Copy of claims_loaded as if the trace buffer had dropped events."""
    rec = edited("claims_loaded", bpf_calls_lost=12)
    v = judge(CLAIMS, rec)
    assert v.status == "error" and "dropped 12 events" in v.message
    assert judge(CLAIMS, edited("solution", bpf_calls_lost=12)).status == "pass"


def test_a_call_that_never_returned_is_neither_accepted_nor_refused() -> None:
    """Copy of the reference whose loads were cut off mid-call (killed)."""
    rec = copy.deepcopy(recording("solution"))
    for call in rec.runs["main"].bpf_calls:
        call["ret"] = None
    assert judge({}, rec).status == "fail"


# ---------------------------------------------------------------- the runner's side


def test_the_kind_asks_the_runner_for_the_record() -> None:
    kind = checks.get("kernel.bpf_calls")
    assert kind is not None and kind.records == ("bpf_calls",)
    specs = [
        CheckSpec(id="a", kind="kernel.bpf_calls", run="main"),
        CheckSpec(id="b", kind="exit.code", run="tests"),
    ]
    assert checks.records_for(specs, "main") == {"bpf_calls"}
    assert checks.records_for(specs, "tests") == set()
    assert all(
        not k.records for name, k in checks.all_kinds().items() if name != "kernel.bpf_calls"
    )


def test_a_kind_cannot_ask_for_what_the_runner_does_not_record() -> None:
    with pytest.raises(checks.KindError, match="records no 'strace'"):
        checks.kind("test_only.strace", records=("strace",))(lambda params, ctx: None)  # type: ignore[arg-type,return-value]


def test_a_recording_round_trips_and_grades_offline() -> None:
    rec = recording("claims_loaded")
    again = Recording.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert again.runs["main"].bpf_calls == rec.runs["main"].bpf_calls == []
    spec = CheckSpec(id="kernel-load", kind="kernel.bpf_calls", params=dict(CLAIMS), points=2)
    from runner.model import Lesson

    lesson = Lesson(
        id="00-setup",
        number=0,
        slug="setup",
        title="t",
        dir=DATA,
        text=DATA,
        starter=DATA,
        solution=None,
        tests_dir=None,
        checks=[spec],
    )
    report = grade(lesson, again)
    assert [c.status for c in report.checks] == ["fail"] and report.score == 0
