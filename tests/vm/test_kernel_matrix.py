"""The kernel matrix, as CI runs it: `course validate --kernels` boots each
stock kernel of kernels.yaml other than the default (whose kprobe lessons
tests/vm/test_course_validate.py validates as root, with the mutation gate)
and runs every lesson's reference solution in it as a learner: an
unprivileged user whose only way to root is the README's sudoers rule,
through the application layer `course check` uses, host lessons included.

The whole matrix (every case of every lesson on every kernel, about an hour per
kernel under emulation) is `course validate --kernels all --record`, which
wrote the committed tested-on.yaml. CI's 60 minutes on 2 cores without KVM
hold one boot per kernel with lesson 02's solution (a kprobe), as a learner
(about 4 min per kernel): that proves each kernel boots, bcc compiles
against that kernel's own headers, and the learner's sudo path works there.
Set EBPF_COURSE_MATRIX_LESSONS=all (and EBPF_COURSE_MATRIX_CASES=solution,
starter,wrong) for the whole of it, EBPF_COURSE_MATRIX_KERNELS to choose
the kernels."""

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
from runner.live import kernels, vm

REPO = Path(__file__).resolve().parents[2]
COURSE = load_course(REPO)
ALL_LESSONS = [lesson.id for lesson in COURSE.lessons]
_CHOSEN = os.environ.get("EBPF_COURSE_MATRIX_LESSONS", "02-reading-data")
LESSONS = ALL_LESSONS if _CHOSEN == "all" else _CHOSEN.split(",")
NAMES = os.environ.get("EBPF_COURSE_MATRIX_KERNELS") or ",".join(
    k.name for k in kernels.load_kernels() if not k.default
)
CASE_KINDS = os.environ.get("EBPF_COURSE_MATRIX_CASES", "solution")
# seconds per lesson and kernel: past this the run is broken, not slow
BUDGET = 300 * len(LESSONS) * len(NAMES.split(",")) + 300

pytestmark = [pytest.mark.vm, pytest.mark.live]


@pytest.fixture(scope="module")
def matrix(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if os.geteuid() != 0:
        pytest.skip("the kernel matrix boots VMs with the course's kernels: run as root")
    for name in NAMES.split(","):
        ok, reason = vm.vm_available(name)
        if not ok:
            if os.environ.get("CI"):
                pytest.fail(f"CI must run the kernel matrix, but kernel {name}: {reason}")
            pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("matrix")
    junit = tmp / "matrix.xml"
    argv = [sys.executable, "-m", "runner.cli", "--workspace", str(tmp / "ws"), "validate"]
    argv += ["--kernels", NAMES, "--cases", CASE_KINDS, "--json", "--junit", str(junit)]
    for lesson_id in LESSONS:
        argv += ["--lesson", lesson_id]
    started = time.monotonic()
    proc = subprocess.Popen(
        argv,
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
        pytest.fail(f"the kernel matrix did not finish in {BUDGET} s; stderr: {stderr[-1500:]}")
    print(f"course validate --kernels {NAMES} took {time.monotonic() - started:.0f} s")
    sys.stderr.write(stderr[-3000:])
    assert stdout.strip(), f"no JSON on stdout; stderr ends: {stderr[-1500:]}"
    return {"code": proc.returncode, "data": json.loads(stdout), "junit": junit}


@pytest.mark.parametrize("kernel", NAMES.split(","))
def test_the_kernel_booted_and_its_guest_ran_as_the_learner(
    matrix: dict[str, Any], kernel: str
) -> None:
    run = matrix["data"]["kernels"][kernel]
    assert run["error"] is None, run["error"]
    major_minor = kernel + "."
    assert run["release"].startswith(major_minor), f"{kernel} booted {run['release']}"


@pytest.mark.parametrize("kernel", NAMES.split(","))
@pytest.mark.parametrize("lesson_id", LESSONS)
def test_each_lesson_behaves_on_each_kernel(
    matrix: dict[str, Any], kernel: str, lesson_id: str
) -> None:
    outcomes = matrix["data"]["kernels"][kernel]["lessons"].get(lesson_id)
    assert outcomes, f"{lesson_id} did not run on {kernel}"
    for outcome in outcomes:
        # unsupported is not good enough: each of these kernels has what every lesson needs
        assert outcome["status"] == "pass", (
            f"{lesson_id} {outcome['case']} on {kernel}: {outcome['status']}: {outcome['message']}"
        )


def test_the_matrix_passes_with_a_junit_suite_per_kernel_and_lesson(
    matrix: dict[str, Any],
) -> None:
    assert matrix["code"] == 0 and matrix["data"]["status"] == "pass"
    suites = {s.get("name") for s in ET.parse(matrix["junit"]).getroot()}
    assert suites == {f"{k}:{lid}" for k in NAMES.split(",") for lid in LESSONS}
