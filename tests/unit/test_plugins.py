"""A course of its own: check kinds from the course folder's `plugins:`
(runner.course.plugins), and EBPF_COURSE_DIR choosing the course."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

import checks
from runner import cli
from runner.course import plugins
from runner.course.load import LoadError, load_course
from runner.grade import grade
from runner.model import Line, Recording, Run
from runner.paths import COURSE_ROOT

COURSE = Path(__file__).resolve().parents[1] / "fixtures" / "courses" / "plugin-course"
OTHER = Path(__file__).resolve().parents[1] / "fixtures" / "courses" / "cli"


@pytest.fixture(autouse=True)
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Plugin kinds stay in this test: other tests see only the platform's kinds."""
    checks.all_kinds()
    monkeypatch.setattr(checks, "_KINDS", dict(checks._KINDS))
    monkeypatch.setattr(plugins, "_loaded", {})


def course(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def recording(*lines: str) -> Recording:
    run = Run(
        id="main",
        lines=[Line(0.1 * i, "out", text) for i, text in enumerate(lines)],
        ready=True,
        stop_reason="exited",
        exit_code=0,
    )
    return Recording(lesson="01-shout", probe_path="p.py", probe_source="", runs={"main": run})


def broken_course(tmp_path: Path, plugin: str) -> Path:
    """The fixture course with a second lesson and a broken plugin file."""
    dest = tmp_path / "broken"
    shutil.copytree(COURSE, dest)
    (dest / "checks" / "bad.py").write_text(plugin)
    for top in ("lessons", "solutions"):
        shutil.copytree(dest / top / "01-shout", dest / top / "02-again")
    yaml = (dest / "course.yaml").read_text()
    (dest / "course.yaml").write_text(yaml.replace("  - 01-shout", "  - 01-shout\n  - 02-again"))
    return dest


def test_the_course_loads_and_its_lesson_uses_the_plugin_kind() -> None:
    lesson = load_course(COURSE).lesson("01")
    assert lesson is not None and lesson.checks[0].kind == "shout.count"
    kind = checks.get("shout.count")
    assert kind is not None and kind.summary == "Exactly `count` lines of stdout match `pattern`."
    assert kind.func.__module__.startswith("ebpf_course_plugins.")


def test_grading_the_plugin_kind_passes_and_fails() -> None:
    lesson = load_course(COURSE).lesson("01")
    assert grade(lesson, recording("HELLO", "HELLO", "HELLO")).status == "pass"
    failed = grade(lesson, recording("HELLO", "hello"))
    assert failed.status == "fail"
    assert failed.checks[0].message == "Expected 3 lines matching '^HELLO$', saw 1."


def test_loading_twice_imports_the_plugins_once() -> None:
    load_course(COURSE)
    load_course(COURSE)  # a second registration would be refused as taken


def test_course_lint_is_clean(capsys) -> None:
    code, out, _ = course(capsys, "--course", COURSE, "lint")
    assert code == 0, out
    assert out.startswith("no problems in 1 lesson.")


def test_the_platforms_own_course_loads_no_plugins() -> None:
    """Its checks/ folder is the built-in package: never imported a second time."""
    assert "plugins" not in (COURSE_ROOT / "course.yaml").read_text()
    assert plugins.load_plugins(COURSE_ROOT) == []
    imported = [
        Path(module.__file__).parent
        for name, module in list(sys.modules.items())
        if name.startswith(f"{plugins.PACKAGE}.") and module.__file__
    ]
    assert COURSE_ROOT / "checks" not in imported


@pytest.mark.parametrize(
    ("plugin", "says"),
    [
        (
            "from checks.api import generic_kind\n\n"
            "@generic_kind('output.line', {})\n"
            "def mine(params, ctx):\n"
            "    return None\n",
            "checks/bad.py:3: checks/bad.py registers kind 'output.line', which the platform "
            "already has",
        ),
        (
            "import os\n\nraise RuntimeError('boom\\nsecond line')\n",
            "checks/bad.py:3: checks/bad.py failed to import (RuntimeError: boom)",
        ),
        (
            "from checks.api import generic_kind\n\n"
            "@generic_kind('shout', {})\n"
            "def mine(params, ctx):\n"
            "    return None\n",
            "checks/bad.py:3: checks/bad.py registers kind 'shout', but a kind's name is "
            "family.name in lowercase, e.g. output.line",
        ),
    ],
    ids=["built-in-name", "raises-on-import", "undotted-name"],
)
def test_a_broken_plugin_is_one_sentence_naming_its_file(
    capsys, tmp_path: Path, plugin: str, says: str
) -> None:
    broken = broken_course(tmp_path, plugin)
    with pytest.raises(LoadError) as caught:
        load_course(broken)
    assert [str(e) for e in caught.value.errors] == [says]

    code, _, err = course(capsys, "--course", broken, "--workspace", tmp_path / "ws", "list")
    assert code == 2 and "Traceback" not in err
    assert err.splitlines() == [f"course: {says}"]

    code, out, _ = course(capsys, "--course", broken, "lint")
    assert code == 1 and out.count("checks/bad.py") == 2  # once, not once per lesson
    assert "Traceback" not in out


def test_a_plugins_folder_outside_the_course_is_refused(tmp_path: Path) -> None:
    dest = tmp_path / "c"
    shutil.copytree(COURSE, dest)
    text = (dest / "course.yaml").read_text().replace("plugins: [checks]", "plugins: [../x]")
    (dest / "course.yaml").write_text(text)
    with pytest.raises(LoadError) as caught:
        load_course(dest)
    messages = " ".join(e.message for e in caught.value.errors)
    assert (
        "'../x'" in messages and "plugins folder '../x' is not a folder of the course" in messages
    )


def test_ebpf_course_dir_selects_the_course(capsys, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EBPF_COURSE_DIR", str(COURSE))
    code, out, _ = course(capsys, "--workspace", tmp_path / "ws", "list", "--json")
    assert code == 0
    assert json.loads(out)["course"] == "Plugin fixture course"

    code, out, _ = course(
        capsys, "--course", OTHER, "--workspace", tmp_path / "ws", "list", "--json"
    )
    assert code == 0
    assert json.loads(out)["course"] == "CLI fixture course"
    code, out, _ = course(
        capsys, "list", "--json", "--workspace", tmp_path / "ws", "--course", OTHER
    )
    assert json.loads(out)["course"] == "CLI fixture course"  # after the sub-command too
