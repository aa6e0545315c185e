"""`course check / run / grade / validate` on this kernel, with real BPF
programs from the CLI fixture course (tests/fixtures/courses/cli)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from runner import cli
from runner.live.host import detect
from runner.progress import Progress
from runner.workspace import Workspace

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_bpf")]

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "courses" / "cli"
SOLUTION = FIXTURE / "solutions" / "01-opens" / "probe.py"
COURSE_BIN = Path(sys.executable).parent / "course"


@pytest.fixture(scope="session")
def host_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Feature trials load programs for seconds; do them once per session."""
    cache = Workspace(tmp_path_factory.mktemp("host")).cache_dir
    detect(cache_dir=cache)
    return cache


@pytest.fixture
def workspace(tmp_path: Path, host_cache: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(host_cache, Workspace(root).cache_dir)
    return root


def course(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def base(workspace: Path) -> list[str]:
    return ["--course", str(FIXTURE), "--workspace", str(workspace)]


def test_good_probe_passes_and_its_recording_regrades_the_same(capsys, tmp_path, workspace) -> None:
    record = tmp_path / "run.json"
    code, out, err = course(
        capsys, *base(workspace), "check", "01", "--file", SOLUTION, "--json", "--record", record
    )
    assert code == 0, err
    report = json.loads(out)
    assert report["status"] == "pass" and report["score"] == report["max_score"] == 3
    assert report["explanations"] == []
    recorded = json.loads(record.read_text())
    main = recorded["runs"]["main"]
    assert main["ready"] and main["workload"]["kind"] == "open-marker"
    assert f"open pid={main['workload']['pid']} " in "\n".join(ln["text"] for ln in main["lines"])

    code, regraded, _ = course(capsys, *base(workspace), "grade", record, "--json")
    assert code == 0 and json.loads(regraded) == report
    # --file without --save-progress leaves the learner's progress alone
    assert not (workspace / ".course" / "progress.json").exists()


def test_starter_fails_and_is_recorded_in_progress(capsys, tmp_path, workspace) -> None:
    record = tmp_path / "run.json"
    code, out, _ = course(capsys, *base(workspace), "check", "01", "--json", "--record", record)
    assert code == 1
    report = json.loads(out)
    assert report["status"] == "fail" and report["score"] == 0
    assert {c["status"] for c in report["checks"]} == {"fail"}
    assert (workspace / "01-opens" / "probe.py").read_text() == (
        FIXTURE / "lessons" / "01-opens" / "probe.py"
    ).read_text()
    progress, warning = Progress.load(workspace / ".course" / "progress.json")
    assert warning is None
    state = progress.state("01-opens")
    assert (state.status, state.attempts, state.score) == ("failing", 1, 0)

    code, text, _ = course(capsys, *base(workspace), "grade", record)
    assert code == 1 and text.startswith("01-opens: FAIL  0/3 points")
    code, solution_out, _ = course(capsys, *base(workspace), "solution", "01")
    assert code == 1 and solution_out == ""


def test_passing_in_the_workspace_unlocks_the_solution(capsys, workspace) -> None:
    probe = Workspace(workspace).root / "01-opens" / "probe.py"
    probe.parent.mkdir(parents=True)
    shutil.copyfile(SOLUTION, probe)
    code, out, _ = course(capsys, *base(workspace), "check", "01")
    assert code == 0
    assert "01-opens: PASS  3/3 points" in out and "All checks passed." in out
    # verdict first: the probe's own lines are not streamed without --verbose
    assert "[main] Attached to syscalls:sys_enter_openat" not in out
    code, shown, _ = course(capsys, *base(workspace), "solution", "01")
    assert code == 0 and shown == SOLUTION.read_text()


def test_wrong_variant_fails_its_check(capsys, workspace) -> None:
    wrong = FIXTURE / "solutions" / "01-opens" / "wrong" / "no-summary.py"
    code, out, _ = course(capsys, *base(workspace), "check", "01", "--file", wrong, "--json")
    assert code == 1
    checks = {c["id"]: c["status"] for c in json.loads(out)["checks"]}
    assert checks == {"marker-open": "pass", "total": "fail"}


def test_run_streams_lines_while_the_probe_runs(workspace) -> None:
    proc = subprocess.Popen(
        [str(COURSE_BIN), *base(workspace), "run", "01", "--file", str(SOLUTION)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        # The probe is only stopped after the workload and the settle time,
        # so a streamed ready line arrives while `course run` still runs.
        running_at_first_line = proc.poll() is None
        rest = proc.stdout.read()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert first.startswith("[main] Attached to syscalls:sys_enter_openat for pid ")
    assert running_at_first_line
    lines = rest.splitlines()
    assert sum(1 for line in lines if line.startswith("[main] open pid=")) == 3
    assert lines[-1] == "[main] Detached after 3 events."
    assert "PASS" not in rest and "points" not in rest  # run does not score


def test_validate_writes_junit(capsys, tmp_path, workspace) -> None:
    junit = tmp_path / "junit.xml"
    code, out, err = course(
        capsys, *base(workspace), "validate", "--lesson", "01", "--junit", junit
    )
    assert code == 0, out + err
    assert "3 passed, 0 failed, 0 unsupported here" in out
    root = ET.parse(junit).getroot()
    assert root.tag == "testsuites"
    (suite,) = root.findall("testsuite")
    assert suite.get("name") == "01-opens"
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "0", "0")
    names = {case.get("name") for case in suite.findall("testcase")}
    assert names == {"solution", "starter", "wrong/no-summary.py"}
    assert all(len(case) == 0 for case in suite.findall("testcase"))  # no failure elements


def test_validate_reports_an_unsupported_lesson_without_failing(
    capsys, tmp_path, workspace, host_cache
) -> None:
    if detect(cache_dir=host_cache)["features"]["kprobes"]["ok"]:
        pytest.skip("this kernel has kprobes, so lesson 02 is supported here")
    junit = tmp_path / "junit.xml"
    code, out, _ = course(
        capsys, *base(workspace), "validate", "--lesson", "02", "--junit", junit, "--json"
    )
    assert code == 0
    outcomes = json.loads(out)["lessons"]["02-kprobe"]
    assert {o["status"] for o in outcomes} == {"unsupported"}
    (suite,) = ET.parse(junit).getroot().findall("testsuite")
    assert suite.get("skipped") == "2"


@pytest.mark.vm
def test_check_with_vm_runs_a_kprobe_lesson_in_a_stock_kernel(capsys, workspace) -> None:
    from runner.live.vm import vm_available

    ok, reason = vm_available()
    if not ok:
        pytest.skip(reason)
    solution = FIXTURE / "solutions" / "02-kprobe" / "probe.py"
    code, out, err = course(
        capsys, *base(workspace), "check", "02", "--vm", "--file", solution, "--json"
    )
    report = json.loads(out)
    assert code == 0, (report, err)
    assert report["status"] == "pass" and report["where"].startswith("vm:")
    assert "[vm] booting" in err


REPO = Path(__file__).resolve().parents[2]


def test_check_of_lesson_06_shows_the_verdict_in_under_30_lines(tmp_path, workspace) -> None:
    """BUG: `course check 06` printed more than 8,000 lines of probe output
    before the result. By default it shows progress, then the verdict; the
    recording still keeps every line."""
    solution = REPO / "solutions" / "06-tracepoints" / "probe.py"
    record = tmp_path / "run.json"
    done = subprocess.run(
        [str(COURSE_BIN), "--workspace", str(workspace), "check", "06", "--file", str(solution)]
        + ["--record", str(record)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(lines) < 30, lines
    assert done.stdout.startswith("06-tracepoints: PASS")
    assert "[main] running" in done.stderr and "[tests] running" in done.stderr
    recorded = json.loads(record.read_text())
    main = recorded["runs"]["main"]
    assert len(main["lines"]) > 100 and main["stdout_lines"] >= len(lines)
