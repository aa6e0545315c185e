"""`course validate --kernels`: one boot per kernel as a learner, the per-kernel
summary, --json, --junit, and the "tested on" record it writes. The VM
cannot boot in a unit test, so runner.live.vm.run_in_vm is replaced by a
stand-in that records how it was asked (kernel, learner) and returns what a
kprobe probe would print; tests/vm/test_kernel_matrix.py boots the kernels."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from test_cli import FakeVm, base, course, fake_host  # noqa: F401 (a fixture)

from runner.course.tested_on import KernelResult, TestedOn, load_tested_on
from runner.session.matrix import KernelRun, as_tested_on, release_from
from runner.validate import CaseOutcome

pytestmark = pytest.mark.usefixtures("fake_host")

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "courses" / "cli"


class KernelVm(FakeVm):
    """FakeVm that also records the kernel and learner of each boot, and can
    fail one kernel's boot the way the real VM does (VmError)."""

    def __init__(self, broken: str | None = None) -> None:
        super().__init__()
        self.boots: list[tuple[str | None, bool]] = []
        self.broken = broken

    def __call__(self, course_dir, jobs, *, python, on_progress=None, kernel=None, learner=False):
        from runner.live.vm import VmError

        self.boots.append((kernel, learner))
        if kernel == self.broken:
            raise VmError(f"The VM did not run the jobs: kernel {kernel} panicked.")
        on_progress(f"guest up: kernel {kernel}.0-test-amd64")
        return super().__call__(course_dir, jobs, python=python, on_progress=on_progress)


@pytest.fixture
def own_course(tmp_path: Path) -> Path:
    """A copy of the CLI fixture course: --record writes into it."""
    return Path(shutil.copytree(FIXTURE, tmp_path / "course"))


def use(monkeypatch: pytest.MonkeyPatch, fake: KernelVm) -> KernelVm:
    monkeypatch.setattr("runner.live.vm.vm_available", lambda *_: (True, "VM kernel test."))
    monkeypatch.setattr("runner.live.vm.run_in_vm", fake)
    return fake


def test_each_kernel_boots_once_with_its_jobs_run_as_a_learner(
    capsys, tmp_path, own_course, monkeypatch
) -> None:
    fake = use(monkeypatch, KernelVm())
    argv = [*base(tmp_path / "ws", own_course), "validate", "--lesson", "02"]
    code, out, err = course(capsys, *argv, "--kernels", "6.12,7.2", "--json")
    assert fake.boots == [("6.12", True), ("7.2", True)]
    result = json.loads(out)
    assert code == 0 and result["status"] == "pass"
    assert list(result["kernels"]) == ["6.12", "7.2"]
    seven = result["kernels"]["7.2"]
    assert seven["release"] == "7.2.0-test-amd64" and seven["error"] is None
    assert {o["case"]: o["status"] for o in seven["lessons"]["02-kprobe"]} == {
        "solution": "pass",
        "starter": "pass",
    }
    assert "[7.2] guest up: kernel 7.2.0-test-amd64" in err  # progress on stderr, as it goes


def test_the_text_report_ends_with_one_line_per_kernel_and_a_broken_boot_fails(
    capsys, tmp_path, own_course, monkeypatch
) -> None:
    use(monkeypatch, KernelVm(broken="7.2"))
    junit = tmp_path / "matrix.xml"
    argv = [*base(tmp_path / "ws", own_course), "validate", "--lesson", "02", "--kernels", "all"]
    code, out, err = course(capsys, *argv, "--junit", str(junit))
    assert code == 1
    assert "[6.12] guest up: kernel 6.12.0-test-amd64" in err  # progress as it happens
    tail = out.splitlines()[-3:]
    assert tail[0] == "6.1: 2 passed, 0 failed, 0 unsupported (0 s)"
    assert tail[2].startswith("7.2: 0 passed, could not run: The VM did not run the jobs")
    suites = {s.get("name"): s for s in ET.parse(junit).getroot()}
    assert {"6.1:02-kprobe", "6.12:02-kprobe", "7.2:boot"} <= set(suites)
    assert suites["7.2:boot"].get("errors") == "1"


def test_record_writes_tested_on_and_keeps_what_it_did_not_run(
    capsys, tmp_path, own_course, monkeypatch
) -> None:
    use(monkeypatch, KernelVm(broken="7.2"))
    argv = [*base(tmp_path / "ws", own_course), "validate", "--lesson", "02", "--record"]
    code, _, _ = course(capsys, *argv, "--kernels", "6.12,7.2")
    assert code == 1  # a failed kernel is recorded, and still fails the run
    record = load_tested_on(own_course)
    assert record is not None
    assert record.results("02-kprobe")["6.12"] == KernelResult("passed")
    assert record.results("02-kprobe")["7.2"].status == "failed"
    assert "panicked" in record.results("02-kprobe")["7.2"].reason
    assert record.kernels == {"6.12": "6.12.0-test-amd64", "7.2": "not booted"}
    # a second run on another kernel adds to the record instead of replacing it
    use(monkeypatch, KernelVm())
    course(capsys, *argv, "--kernels", "6.1")
    again = load_tested_on(own_course)
    assert again is not None and set(again.results("02-kprobe")) == {"6.1", "6.12", "7.2"}


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        (["--kernels", "5.4"], "unknown kernel '5.4'"),
        (["--kernels", "6.1", "--mutants"], "--mutants runs as root in the default VM"),
        (["--kernels", "6.1", "--record", "--cases", "solution"], "drop --cases"),
        (["--record"], "use it with --kernels"),
        (["--kernels", "6.1", "--cases", "solutions"], "not solutions"),
    ],
)
def test_usage_mistakes_are_one_sentence(
    capsys, tmp_path, own_course, monkeypatch, extra, words
) -> None:
    fake = use(monkeypatch, KernelVm())
    code, out, err = course(capsys, *base(tmp_path / "ws", own_course), "validate", *extra)
    assert code == 2 and out == "" and words in err and "Traceback" not in err
    assert fake.boots == []


def test_cases_selects_what_runs(capsys, tmp_path, own_course, monkeypatch) -> None:
    fake = use(monkeypatch, KernelVm())
    argv = [*base(tmp_path / "ws", own_course), "validate", "--lesson", "02", "--json"]
    code, out, _ = course(capsys, *argv, "--kernels", "6.12", "--cases", "solution")
    assert code == 0 and [Path(j.probe_path).parent.name for j in fake.jobs] == ["02-kprobe"]
    lessons = json.loads(out)["kernels"]["6.12"]["lessons"]
    assert [o["case"] for o in lessons["02-kprobe"]] == ["solution"]


# ---------------------------------------------------------------- the pure parts


def outcome(case: str, status: str, message: str = "") -> CaseOutcome:
    return CaseOutcome(case, status, message or f"{case} {status}")


def test_a_lesson_passed_on_a_kernel_only_when_every_case_behaved() -> None:
    run = KernelRun(
        "7.2",
        "7.2.13+deb14-amd64",
        outcomes={
            "a": [outcome("solution", "pass"), outcome("starter", "pass")],
            "b": [outcome("solution", "pass"), outcome("wrong/x.py", "fail", "passes")],
            "c": [outcome("solution", "unsupported", "no kprobes")],
            # lesson 00's version guess on a kernel with kprobes: its mistake cannot show
            "e": [outcome("solution", "pass"), outcome("wrong/guess.py", "unsupported")],
        },
    )
    assert run.lesson_status("e") == ("passed", None)
    assert run.lesson_status("a") == ("passed", None)
    assert run.lesson_status("b") == ("failed", "wrong/x.py: passes")
    assert run.lesson_status("c") == ("unsupported", "no kprobes")
    assert run.lesson_status("d") == ("failed", "no case of this lesson ran")
    assert run.counts() == (4, 1, 2) and not run.ok
    broken = KernelRun("6.1", error="The VM did not boot.")
    assert broken.lesson_status("a") == ("failed", "The VM did not boot.") and not broken.ok


def test_tested_on_merges_over_an_earlier_record() -> None:
    earlier = TestedOn(
        "2026-11-01",
        "0.18.0",
        kernels={"6.1": "6.1.0-56-amd64"},
        lessons={"a": {"6.1": KernelResult("failed", "old")}, "z": {"6.1": KernelResult("passed")}},
    )
    run = KernelRun("6.1", "6.1.0-57-amd64", outcomes={"a": [outcome("solution", "pass")]})
    record = as_tested_on([run], ["a"], "0.26.0", earlier=earlier, when=date(2026, 12, 2))
    assert record.date == "2026-12-02" and record.bcc == "0.26.0"
    assert record.kernels == {"6.1": "6.1.0-57-amd64"}
    assert record.lessons["a"]["6.1"] == KernelResult("passed")
    assert record.lessons["z"]["6.1"] == KernelResult("passed")  # not run: kept


def test_release_comes_from_the_guests_own_line() -> None:
    assert release_from("guest up: kernel 7.2.13+deb14-amd64") == "7.2.13+deb14-amd64"
    assert release_from("VM booted in 30 s") is None
