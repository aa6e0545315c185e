"""runner.workspace: learner copies of starters and tests, never overwritten."""

from __future__ import annotations

import os
import pwd
from pathlib import Path

import pytest

from runner.model import Lesson
from runner.workspace import Workspace, default_root


def make_lesson(tmp_path: Path, *, tests: bool = True) -> Lesson:
    lesson_dir = tmp_path / "course" / "lessons" / "06-tracepoints"
    lesson_dir.mkdir(parents=True)
    (lesson_dir / "probe.py").write_text("# TODO: attach\n")
    (lesson_dir / "README.md").write_text("# Tracepoints\n")
    tests_dir = None
    if tests:
        tests_dir = lesson_dir / "tests"
        (tests_dir / "data").mkdir(parents=True)
        (tests_dir / "test_probe.py").write_text("def test_x():\n    pass\n")
        (tests_dir / "data" / "sample.txt").write_text("sample\n")
        (tests_dir / "__pycache__").mkdir()
        (tests_dir / "__pycache__" / "junk.pyc").write_bytes(b"\0")
    return Lesson(
        id="06-tracepoints",
        number=6,
        slug="tracepoints",
        title="Tracepoints",
        dir=lesson_dir,
        text=lesson_dir / "README.md",
        starter=lesson_dir / "probe.py",
        solution=None,
        tests_dir=tests_dir,
    )


def test_paths(tmp_path: Path) -> None:
    lesson = make_lesson(tmp_path)
    ws = Workspace(tmp_path / "ws")
    assert ws.lesson_dir(lesson) == tmp_path / "ws" / "06-tracepoints"
    assert ws.probe_path(lesson) == tmp_path / "ws" / "06-tracepoints" / "probe.py"
    assert ws.progress_path.parent == ws.cache_dir.parent == tmp_path / "ws" / ".course"


def test_ensure_copies_starter_and_tests(tmp_path: Path) -> None:
    lesson = make_lesson(tmp_path)
    ws = Workspace(tmp_path / "ws")
    probe = ws.ensure(lesson)
    assert probe == ws.probe_path(lesson)
    assert probe.read_text() == "# TODO: attach\n"
    copied = ws.lesson_dir(lesson) / "tests"
    assert (copied / "test_probe.py").read_text() == "def test_x():\n    pass\n"
    assert (copied / "data" / "sample.txt").read_text() == "sample\n"
    assert not (copied / "__pycache__").exists()


def test_ensure_never_overwrites(tmp_path: Path) -> None:
    lesson = make_lesson(tmp_path)
    ws = Workspace(tmp_path / "ws")
    probe = ws.ensure(lesson)
    probe.write_text("my work\n")
    learner_test = ws.lesson_dir(lesson) / "tests" / "test_probe.py"
    learner_test.write_text("my test\n")
    learner_test.with_name("data").joinpath("sample.txt").unlink()

    ws.ensure(lesson)
    assert probe.read_text() == "my work\n"
    assert learner_test.read_text() == "my test\n"
    # a deleted file comes back, without touching the rest
    assert (ws.lesson_dir(lesson) / "tests" / "data" / "sample.txt").read_text() == "sample\n"


def test_ensure_without_learner_tests(tmp_path: Path) -> None:
    lesson = make_lesson(tmp_path, tests=False)
    ws = Workspace(tmp_path / "ws")
    ws.ensure(lesson)
    assert sorted(p.name for p in ws.lesson_dir(lesson).iterdir()) == ["probe.py"]


def test_reset_keeps_a_backup(tmp_path: Path) -> None:
    lesson = make_lesson(tmp_path)
    ws = Workspace(tmp_path / "ws")
    probe = ws.ensure(lesson)
    probe.write_text("attempt 1\n")
    first = ws.reset(lesson)
    probe.write_text("attempt 2\n")
    second = ws.reset(lesson)

    assert probe.read_text() == "# TODO: attach\n"
    assert first is not None and second is not None and first != second
    assert first.read_text() == "attempt 1\n" and second.read_text() == "attempt 2\n"
    assert first.parent == second.parent == ws.lesson_dir(lesson)
    assert first.name.startswith("probe.py.") and first.name.endswith(".bak")


def test_reset_without_a_learner_file(tmp_path: Path) -> None:
    lesson = make_lesson(tmp_path)
    ws = Workspace(tmp_path / "ws")
    assert ws.reset(lesson) is None
    assert ws.probe_path(lesson).read_text() == "# TODO: attach\n"


def test_default_root_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EBPF_COURSE_WORKSPACE", str(tmp_path / "mine"))
    assert default_root() == tmp_path / "mine"
    monkeypatch.delenv("EBPF_COURSE_WORKSPACE")
    monkeypatch.delenv("SUDO_UID", raising=False)
    assert default_root() == Path.home() / "ebpf-course"


@pytest.mark.skipif(os.geteuid() != 0, reason="handing files to the sudo user needs root")
def test_files_belong_to_the_sudo_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    nobody = pwd.getpwnam("nobody")
    monkeypatch.setenv("SUDO_UID", str(nobody.pw_uid))
    monkeypatch.setenv("SUDO_GID", str(nobody.pw_gid))
    monkeypatch.delenv("EBPF_COURSE_WORKSPACE", raising=False)
    assert default_root() == Path(nobody.pw_dir) / "ebpf-course"

    lesson = make_lesson(tmp_path)
    ws = Workspace(tmp_path / "ws" / "nested")
    ws.ensure(lesson)
    created = [
        tmp_path / "ws",
        ws.root,
        ws.lesson_dir(lesson),
        ws.probe_path(lesson),
        ws.lesson_dir(lesson) / "tests" / "data" / "sample.txt",
    ]
    for path in created:
        assert (path.stat().st_uid, path.stat().st_gid) == (nobody.pw_uid, nobody.pw_gid), path
    assert tmp_path.stat().st_uid == 0  # what existed before is left alone

    from runner.progress import Progress

    progress, _ = Progress.load(ws.progress_path)
    progress.save()
    for path in (ws.progress_path.parent, ws.progress_path):
        assert path.stat().st_uid == nobody.pw_uid, path
