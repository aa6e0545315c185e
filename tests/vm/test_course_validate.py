"""The author gate for the kprobe lessons, as CI runs it: `course validate
--vm auto --mutants` on lessons 01-04, which this kernel cannot run, live
in a stock-kernel VM, in ONE boot for validate's cases and the gate's mutants. Every
solution must pass, every untouched starter fail, every known-wrong variant
fail the check it names, and every mutant in the gate's sample (one
operator after another: `--vm-mutants`) fail a check or be declared
equivalent. The host lessons' cases run in tests/live/test_lessons.py and
their gate in tests/live/test_mutation_gate.py, so nothing runs twice.

The validation runs once (module fixture, through the real CLI in a
subprocess); each case is then its own test. Under software emulation this
takes about 25 min on 2 cores. Deselect with `-m "not vm"`; in CI (CI=true)
a missing VM is a failure, not a skip, so the kprobe lessons cannot
silently go unchecked."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from runner.course.load import load_course
from runner.live import vm
from runner.mutation import KILLED
from runner.validate import cases

REPO = Path(__file__).resolve().parents[2]
COURSE = load_course(REPO)
KPROBE = [lesson for lesson in COURSE.lessons if "kprobes" in lesson.requires]
KPROBE_LESSONS = [lesson.id for lesson in KPROBE]
CASES = [(lesson.id, case.name) for lesson in KPROBE for case in cases(lesson)]
# the gate's sample per lesson in the VM: each mutant is a compile or more under
# emulation (~30 s); the whole VM gate (~60 jobs, ~45 min) is `--vm-mutants` unset
VM_SAMPLE = 3
BUDGET = 2700  # seconds: past this the run is broken, not slow (CI stops at 90 min)

pytestmark = [pytest.mark.vm, pytest.mark.live]


@pytest.fixture(scope="module")
def validation(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if os.geteuid() != 0:
        pytest.skip("validating the course loads BPF programs: run the tests as root")
    ok, reason = vm.vm_available()
    if not ok:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the kprobe lessons in a VM, but: {reason}")
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("validate")
    junit = tmp / "validate.xml"
    started = time.monotonic()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "runner.cli",
            "--workspace",
            str(tmp / "ws"),
            "validate",
            *[arg for lid in KPROBE_LESSONS for arg in ("--lesson", lid)],
            "--vm",
            "auto",
            "--mutants",
            "--vm-mutants",
            str(VM_SAMPLE),
            "--json",
            "--junit",
            str(junit),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    try:
        stdout, stderr = proc.communicate(timeout=BUDGET)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGINT)  # the CLI stops its VM on Ctrl+C
        stdout, stderr = proc.communicate(timeout=60)
        pytest.fail(
            f"course validate --vm auto --mutants did not finish in {BUDGET} s; "
            f"its stderr ends: {stderr[-1500:]}"
        )
    proc = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    took = time.monotonic() - started
    sys.stderr.write(proc.stderr[-4000:])
    print(f"course validate --vm auto --mutants took {took:.0f} s", file=sys.stderr)
    assert proc.stdout.strip(), f"no JSON on stdout; stderr ends: {proc.stderr[-1500:]}"
    return {
        "code": proc.returncode,
        "data": json.loads(proc.stdout),
        "junit": junit,
        "stderr": proc.stderr,
    }


@pytest.mark.parametrize(("lesson_id", "case"), CASES, ids=[f"{a}:{b}" for a, b in CASES])
def test_case_behaves_as_it_must(validation: dict[str, Any], lesson_id: str, case: str) -> None:
    outcomes = validation["data"]["lessons"][lesson_id]
    outcome = next((o for o in outcomes if o["case"] == case), None)
    assert outcome is not None, f"{lesson_id} {case} was not validated"
    # unsupported is not good enough: --vm auto must have run it somewhere real
    assert outcome["status"] == "pass", f"{outcome['status']}: {outcome['message']}"


def test_the_whole_course_validates(validation: dict[str, Any]) -> None:
    assert validation["code"] == 0
    assert validation["data"]["status"] == "pass"
    root = ET.parse(validation["junit"]).getroot()
    suites = {suite.get("name"): suite for suite in root}
    ids = set(KPROBE_LESSONS)
    assert set(suites) == ids | {f"{lid} mutants" for lid in ids}
    for name, suite in suites.items():
        assert suite.get("failures") == "0" and suite.get("errors") == "0", name
        assert suite.get("skipped") == "0", f"{name} was not run anywhere"


def test_kprobe_lessons_ran_in_the_vm_when_this_kernel_has_no_kprobes(
    validation: dict[str, Any],
) -> None:
    from runner.live.host import detect

    if detect().get("features", {}).get("kprobes", {}).get("ok"):
        pytest.skip("this kernel has kprobes: --vm auto runs every lesson here")
    assert KPROBE_LESSONS, "the course has kprobe lessons"
    boots = [line for line in validation["stderr"].splitlines() if "[vm] booting" in line]
    assert len(boots) == 1, f"validate and the gate share one boot, not {boots}"


@pytest.mark.parametrize("lesson_id", KPROBE_LESSONS)
def test_every_mutant_is_killed_or_declared(validation: dict[str, Any], lesson_id: str) -> None:
    """The mutation gate: each planted mistake fails one of the lesson's checks,
    or lesson.yaml declares it equivalent with a reason."""
    found = {lm["lesson"]: lm for lm in validation["data"]["mutants"]["lessons"]}
    lm = found[lesson_id]
    assert not lm["unsupported"], f"the gate did not run {lesson_id} anywhere: {lm['unsupported']}"
    assert not lm["errors"], lm["errors"]
    undecided = [r for r in lm["results"] if r["status"] not in KILLED + ("equivalent",)]
    assert not undecided, "\n".join(
        f"{r['status']}: {r['operator']} line {r['line']}: {r['description']}" for r in undecided
    )
