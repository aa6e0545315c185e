"""`pip install .` into a fresh virtualenv outside the checkout gives a
working `course`: the embedded default course and its schema are found,
and lesson 06's reference solution passes on this kernel."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"  # bcc comes from the distribution

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_bpf")]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not Path(SYSTEM_PYTHON).is_file():
        pytest.skip("no system interpreter to build a virtualenv from")
    root = tmp_path_factory.mktemp("install")
    source = root / "src"  # a clean copy: no egg-info or build/ from the checkout
    subprocess.run(["git", "clone", "-q", str(REPO), str(source)], check=True)
    for name in ("pyproject.toml",):  # the working tree's version, if not committed yet
        shutil.copy2(REPO / name, source / name)
    venv = root / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(source)],
        check=True,
        capture_output=True,
        timeout=600,
    )
    shutil.rmtree(source)  # nothing may still point into the build folder
    return venv


def course(venv: Path, *args: str, workspace: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EBPF_COURSE_WORKSPACE": str(workspace)}
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(venv / "bin" / "course"), *args],
        capture_output=True,
        text=True,
        cwd=workspace.parent,
        env=env,
        timeout=300,
    )


def test_course_list_finds_the_embedded_course(installed: Path, tmp_path: Path) -> None:
    done = course(installed, "list", "--json", workspace=tmp_path / "ws")
    assert done.returncode == 0, done.stderr
    ids = [row["id"] for row in json.loads(done.stdout)["lessons"]]
    assert ids[0] == "00-setup" and "06-tracepoints" in ids


def test_course_check_06_passes_with_the_installed_solution(
    installed: Path, tmp_path: Path
) -> None:
    site = subprocess.run(
        [str(installed / "bin" / "python"), "-c", "import runner.paths as p; print(p.COURSE_ROOT)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,  # not the checkout, whose runner/ would shadow the installed one
    ).stdout.strip()
    assert not site.startswith(str(REPO)), "the installed course must not be the checkout"
    solution = Path(site) / "solutions" / "06-tracepoints" / "probe.py"
    done = course(
        installed, "check", "06", "--file", str(solution), "--json", workspace=tmp_path / "ws"
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert json.loads(done.stdout)["status"] == "pass"
