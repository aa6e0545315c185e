"""No symbolic link leads out of the course tree or the workspace: the loader
refuses a link anywhere in a lesson's folders (a LoadError naming it), the
workspace neither copies one in nor follows one the learner left there."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner.course.load import LoadError, load_course
from runner.model import Lesson
from runner.workspace import Workspace, WorkspaceError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "courses"
REPO = Path(__file__).resolve().parents[2]
SECRET = "root:$y$secret-hash:19000:0:99999:7:::\n"


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    """A file outside the course and the workspace (stands in for /etc/shadow)."""
    path = tmp_path / "outside" / "shadow"
    path.parent.mkdir()
    path.write_text(SECRET)
    return path


@pytest.fixture
def course(tmp_path: Path) -> Path:
    dest = tmp_path / "course"
    shutil.copytree(FIXTURES / "good", dest)
    return dest


def link(path: Path, target: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    path.symlink_to(target)


def refusals(course: Path) -> list[str]:
    with pytest.raises(LoadError) as info:
        load_course(course)
    return [str(e) for e in info.value.errors]


# ---------------------------------------------------------------- the course


@pytest.mark.parametrize(
    "rel",
    [
        "solutions/01-hello/probe.py",
        "solutions/01-hello/wrong/silent.py",
        "lessons/01-hello/probe.py",
        "lessons/01-hello/README.md",
        "lessons/01-hello/lesson.yaml",
        "lessons/01-hello/tests/test_probe.py",
    ],
)
def test_a_linked_course_file_is_refused_by_name(course: Path, secret: Path, rel: str) -> None:
    link(course / rel, secret)
    found = refusals(course)
    assert found == [f"{rel}:1: {rel} is a symbolic link" + found[0].split("symbolic link")[1]]
    assert "replace it with a copy" in found[0] and SECRET.strip() not in "".join(found)


@pytest.mark.parametrize("rel", ["lessons/01-hello/tests", "solutions/01-hello/wrong"])
def test_a_linked_course_folder_is_refused_not_walked(course: Path, secret: Path, rel: str) -> None:
    outside = secret.parent / "folder"
    shutil.copytree(course / rel, outside)
    link(course / rel, outside)
    assert refusals(course) == [refusals(course)[0]]
    assert refusals(course)[0].startswith(f"{rel}:1: {rel} is a symbolic link")


def test_a_linked_lesson_folder_is_refused(course: Path, tmp_path: Path) -> None:
    moved = tmp_path / "elsewhere"
    shutil.move(course / "lessons" / "01-hello", moved)
    (course / "lessons" / "01-hello").symlink_to(moved)
    assert refusals(course)[0].startswith("lessons/01-hello:1: lessons/01-hello is a symbolic")


def test_a_linked_course_yaml_is_refused(course: Path, tmp_path: Path) -> None:
    real = tmp_path / "course.yaml"
    shutil.move(course / "course.yaml", real)
    (course / "course.yaml").symlink_to(real)
    assert refusals(course)[0].startswith("course.yaml:1: course.yaml is a symbolic link")


def test_the_shipped_course_has_no_links() -> None:
    found = [
        path
        for folder in ("lessons", "solutions")
        for path in (REPO / folder).rglob("*")
        if path.is_symlink()
    ]
    assert found == []


def test_course_solution_force_does_not_print_a_linked_file(
    course: Path, secret: Path, tmp_path: Path
) -> None:
    link(course / "solutions" / "01-hello" / "probe.py", secret)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "runner.cli",
            "--course",
            str(course),
            "--workspace",
            str(tmp_path / "ws"),
            "solution",
            "01",
            "--force",
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "secret-hash" not in done.stdout + done.stderr
    assert "solutions/01-hello/probe.py:1: solutions/01-hello/probe.py is a symbolic link" in (
        done.stderr
    )


# ---------------------------------------------------------------- the workspace


def lesson_with_tests(tmp_path: Path) -> Lesson:
    lesson_dir = tmp_path / "course" / "lessons" / "06-tracepoints"
    (lesson_dir / "tests").mkdir(parents=True)
    (lesson_dir / "probe.py").write_text("# TODO: attach\n")
    (lesson_dir / "tests" / "test_probe.py").write_text("def test_x():\n    pass\n")
    return Lesson(
        id="06-tracepoints",
        number=6,
        slug="tracepoints",
        title="Tracepoints",
        dir=lesson_dir,
        text=lesson_dir / "README.md",
        starter=lesson_dir / "probe.py",
        solution=None,
        tests_dir=lesson_dir / "tests",
    )


def test_a_linked_tests_folder_is_not_copied_into_the_workspace(
    tmp_path: Path, secret: Path
) -> None:
    lesson = lesson_with_tests(tmp_path)  # built by hand: the loader would refuse it
    shutil.rmtree(lesson.tests_dir)
    lesson.tests_dir.symlink_to(secret.parent)
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(WorkspaceError, match=r"tests in the course is a symbolic link"):
        ws.ensure(lesson)
    assert not (ws.lesson_dir(lesson) / "tests").exists()


def test_a_linked_file_in_the_course_tests_is_not_copied(tmp_path: Path, secret: Path) -> None:
    lesson = lesson_with_tests(tmp_path)
    (lesson.tests_dir / "data.txt").symlink_to(secret)
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(WorkspaceError, match=r"data\.txt in the course is a symbolic link"):
        ws.ensure(lesson)
    assert not (ws.lesson_dir(lesson) / "tests" / "data.txt").exists()


def test_a_linked_starter_is_not_copied(tmp_path: Path, secret: Path) -> None:
    lesson = lesson_with_tests(tmp_path)
    link(lesson.starter, secret)
    ws = Workspace(tmp_path / "ws")
    with pytest.raises(WorkspaceError, match=r"probe\.py in the course is a symbolic link"):
        ws.ensure(lesson)
    assert not os.path.lexists(ws.probe_path(lesson))


def test_a_learner_probe_linked_elsewhere_is_never_handed_to_root(
    tmp_path: Path, secret: Path
) -> None:
    lesson = lesson_with_tests(tmp_path)
    ws = Workspace(tmp_path / "ws")
    probe = ws.ensure(lesson)
    link(probe, secret)
    with pytest.raises(WorkspaceError, match=r"probe\.py is a symbolic link"):
        ws.ensure(lesson)
    with pytest.raises(WorkspaceError, match="symbolic link"):
        ws.read_bytes(probe)
    # reset is the way out: the link goes, its target stays, the starter is back
    assert ws.reset(lesson) is None
    assert probe.read_text() == "# TODO: attach\n" and not probe.is_symlink()
    assert secret.read_text() == SECRET and ws.ensure(lesson) == probe


def test_a_linked_folder_in_the_workspace_is_not_written_through(
    tmp_path: Path, secret: Path
) -> None:
    lesson = lesson_with_tests(tmp_path)
    ws = Workspace(tmp_path / "ws")
    ws.root.mkdir()
    target = secret.parent / "planted"
    target.mkdir()
    (ws.root / lesson.id).symlink_to(target)  # the whole lesson folder
    with pytest.raises(WorkspaceError, match=r"06-tracepoints is a symbolic link"):
        ws.ensure(lesson)
    assert list(target.iterdir()) == []

    (ws.root / lesson.id).unlink()
    (ws.root / lesson.id).mkdir()
    (ws.root / lesson.id / "tests").symlink_to(target)  # only its tests
    with pytest.raises(WorkspaceError, match=r"tests is a symbolic link"):
        ws.ensure(lesson)
    assert list(target.iterdir()) == []


def test_a_dangling_link_in_the_workspace_is_not_written_through(
    tmp_path: Path, secret: Path
) -> None:
    lesson = lesson_with_tests(tmp_path)
    ws = Workspace(tmp_path / "ws")
    (ws.root / lesson.id).mkdir(parents=True)
    planted = secret.parent / "cron-job"
    (ws.root / lesson.id / "probe.py").symlink_to(planted)  # root would create it
    with pytest.raises(WorkspaceError, match="symbolic link"):
        ws.ensure(lesson)
    assert not planted.exists()


def test_reading_workspace_files_never_follows_a_link(tmp_path: Path, secret: Path) -> None:
    lesson = lesson_with_tests(tmp_path)
    ws = Workspace(tmp_path / "ws")
    probe = ws.ensure(lesson)
    assert ws.read_text(probe) == "# TODO: attach\n"
    assert ws.read_bytes(Path(lesson.id) / "probe.py", limit=4) == b"# TO"
    (ws.root / "notes").symlink_to(secret.parent)
    with pytest.raises(WorkspaceError, match=r"notes is a symbolic link"):
        ws.read_bytes(Path("notes") / "shadow")
    with pytest.raises(WorkspaceError, match="not inside the workspace"):
        ws.read_bytes(secret)


def test_a_linked_tests_folder_the_learner_made_is_refused(tmp_path: Path, secret: Path) -> None:
    lesson = lesson_with_tests(tmp_path)
    lesson.tests_dir = None  # a lesson without learner tests: nothing copies into tests/
    ws = Workspace(tmp_path / "ws")
    ws.ensure(lesson)
    (ws.lesson_dir(lesson) / "tests").symlink_to(secret.parent)
    with pytest.raises(WorkspaceError, match=r"tests is a symbolic link"):
        ws.ensure(lesson)


def test_an_editor_lock_link_is_not_a_problem(tmp_path: Path) -> None:
    lesson = lesson_with_tests(tmp_path)
    ws = Workspace(tmp_path / "ws")
    ws.ensure(lesson)
    (ws.lesson_dir(lesson) / "tests" / ".#test_probe.py").symlink_to("learner@host.1234:1")
    assert ws.ensure(lesson) == ws.probe_path(lesson)
