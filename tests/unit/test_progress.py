"""runner.progress: per-lesson state, atomic saves, corrupt files kept aside."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from runner.model import Report
from runner.progress import Progress, ProgressError, ProgressWarning


def report(lesson: str, status: str, score: int = 0, max_score: int = 3) -> Report:
    return Report(lesson=lesson, status=status, score=score, max_score=max_score, checks=[])


def test_missing_file_is_a_fresh_start(tmp_path: Path) -> None:
    progress, warning = Progress.load(tmp_path / "progress.json")
    assert warning is None
    state = progress.state("06-tracepoints")
    assert (state.status, state.attempts, state.hints_revealed) == ("not-started", 0, 0)
    assert progress.lessons == {}  # asking does not create entries


@pytest.mark.parametrize(
    ("verdict", "status"),
    [
        ("pass", "passed"),
        ("fail", "failing"),
        ("error", "failing"),
        ("timeout", "failing"),
        ("unsupported", "unsupported"),
    ],
)
def test_record_maps_report_status(tmp_path: Path, verdict: str, status: str) -> None:
    progress, _ = Progress.load(tmp_path / "progress.json")
    state = progress.record(report("06-tracepoints", verdict, 1))
    assert state.status == status
    assert (state.score, state.max_score, state.attempts) == (1, 3, 1)
    assert state.last_run is not None
    assert (state.passed_at is not None) == (status == "passed")


def test_first_pass_is_kept_when_a_later_run_fails(tmp_path: Path) -> None:
    progress, _ = Progress.load(tmp_path / "progress.json")
    progress.record(report("06-tracepoints", "fail", 1))
    passed = progress.record(report("06-tracepoints", "pass", 3)).passed_at
    state = progress.record(report("06-tracepoints", "fail", 2))
    assert (state.status, state.score, state.attempts) == ("failing", 2, 3)
    assert state.passed_at == passed


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "state" / "progress.json"  # the folder is created on save
    progress, _ = Progress.load(path)
    progress.record(report("05-uprobes", "pass", 3))
    assert progress.reveal_hint("06-tracepoints") == 1
    assert progress.reveal_hint("06-tracepoints") == 2
    progress.save()

    again, warning = Progress.load(path)
    assert warning is None
    assert again.state("05-uprobes") == progress.state("05-uprobes")
    assert again.state("06-tracepoints").hints_revealed == 2
    assert json.loads(path.read_text())["version"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["progress.json"]  # no temp left


def test_reveal_hint_stops_one_past_the_last(tmp_path: Path) -> None:
    progress, _ = Progress.load(tmp_path / "progress.json")
    shown = [progress.reveal_hint("06-tracepoints", available=2) for _ in range(5)]
    assert shown == [1, 2, 3, 3, 3]


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe garbage",
        b"[]",
        b'{"version": 99, "lessons": {}}',
        b'{"version": 1, "lessons": {"06-x": {"status": "done"}}}',
        b'{"version": 1, "lessons": {"06-x": {"attempts": -1}}}',
        b'{"version": 1, "lessons": {"06-x": {"colour": "red"}}}',
    ],
)
def test_corrupt_file_is_moved_aside_and_reported(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "progress.json"
    path.write_bytes(content)
    progress, warning = Progress.load(path)
    assert isinstance(warning, ProgressWarning)
    assert warning.moved_to is not None and warning.moved_to.name.startswith(
        "progress.json.corrupt-"
    )
    assert warning.moved_to.read_bytes() == content  # the learner's data is kept
    assert str(warning.moved_to) in str(warning) and str(path) in str(warning)
    assert not path.exists()
    assert progress.lessons == {}

    progress.record(report("06-x", "pass", 3))
    progress.save()
    assert warning.moved_to.read_bytes() == content  # saving does not touch it


def test_two_corrupt_files_in_a_row_are_both_kept(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text("{one")
    _, first = Progress.load(path)
    path.write_text("{two")
    _, second = Progress.load(path)
    assert first and second and first.moved_to != second.moved_to
    assert {first.moved_to.read_text(), second.moved_to.read_text()} == {"{one", "{two"}


def test_unreadable_or_unwritable_location_is_one_sentence(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    path = blocker / "progress.json"  # a folder that is a file
    with pytest.raises(ProgressError, match=r"^Cannot read your progress file .*--workspace\.$"):
        Progress.load(path)
    progress = Progress(path)
    progress.record(report("06-x", "fail"))
    with pytest.raises(ProgressError, match=r"^Cannot save your progress to .*--workspace\.$"):
        progress.save()


WRITER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from runner.model import Report
    from runner.progress import Progress

    path = Path(sys.argv[1])
    progress, warning = Progress.load(path)
    assert warning is None, warning
    # Many lessons make each write long enough to be killed in the middle.
    for n in range(400):
        progress.reveal_hint(f"{n:02d}-lesson-with-a-long-name")
    announced = False
    while True:
        progress.record(Report("06-tracepoints", "fail", 1, 3, []))
        progress.save()
        if not announced:
            print("writing", flush=True)
            announced = True
    """
)


def test_kill_during_writes_never_corrupts(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    attempts = 0
    for round_ in range(8):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout is not None
        assert writer.stdout.readline() == "writing\n"
        time.sleep(0.05 + 0.03 * round_)  # land the kill somewhere in the write loop
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        writer.stdout.close()

        progress, warning = Progress.load(path)
        assert warning is None
        state = progress.state("06-tracepoints")
        assert state.attempts > attempts  # every round saved at least once, and kept it
        attempts = state.attempts
        assert progress.state("00-lesson-with-a-long-name").hints_revealed == round_ + 1


# ---------------------------------------------------------------- concurrent updates

# Each process waits for the go file, then reveals one hint; every save is
# slowed down so that, without the lock, the six read-modify-writes overlap.
_REVEAL = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import runner.progress as progress_mod
    from runner.progress import Progress

    path, go, style = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    real = progress_mod.write_atomically
    def slow(target, text):
        time.sleep(0.3)
        real(target, text)
    progress_mod.write_atomically = slow
    while not go.exists():
        time.sleep(0.005)
    if style == "locked":
        with Progress(path).update() as fresh:
            fresh.reveal_hint("08-combining")
    else:  # what callers did before update(): load, change, save
        progress, _ = Progress.load(path)
        progress.reveal_hint("08-combining")
        progress.save()
    """
)


def _reveal_six(tmp_path: Path, style: str) -> int:
    path, go = tmp_path / ".course" / "progress.json", tmp_path / "go"
    repo = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _REVEAL, str(path), str(go), style],
            cwd=repo,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    time.sleep(0.5)  # all six started and waiting
    go.touch()
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
    progress, warning = Progress.load(path)
    assert warning is None
    return progress.state("08-combining").hints_revealed


def test_six_concurrent_hint_reveals_are_all_recorded(tmp_path: Path) -> None:
    assert _reveal_six(tmp_path, "locked") == 6


def test_without_update_concurrent_reveals_lose_updates(tmp_path: Path) -> None:
    """The hazard update() exists for (so the test above can see it)."""
    assert _reveal_six(tmp_path, "unlocked") < 6


def test_update_keeps_the_callers_object_current(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    mine, _ = Progress.load(path)
    other, _ = Progress.load(path)
    with other.update() as fresh:
        fresh.record(report("06-tracepoints", "pass", 3, 3))
    with mine.update() as fresh:  # sees the other's change, adds its own
        assert fresh.state("06-tracepoints").status == "passed"
        fresh.reveal_hint("08-combining")
    assert mine.state("06-tracepoints").status == "passed"
    assert mine.state("08-combining").hints_revealed == 1
    assert Progress.load(path)[0].to_dict() == mine.to_dict()


def test_update_does_not_save_when_the_block_fails(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    with pytest.raises(RuntimeError):
        with Progress(path).update() as fresh:
            fresh.reveal_hint("08-combining")
            raise RuntimeError("caller failed")
    assert not path.exists()


def test_a_held_lock_is_one_sentence_after_the_timeout(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time, filelock; l = filelock.FileLock(sys.argv[1]); l.acquire(); "
            "print('held', flush=True); time.sleep(30)",
            str(tmp_path / "progress.json.lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(ProgressError, match=r"stayed locked by another course for 0.5 s"):
            with Progress(path).update(timeout=0.5):
                pass
    finally:
        holder.kill()
        holder.wait()


def test_corrupt_file_during_update_is_reported_and_replaced(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    path.write_text("{ not json")
    seen: list[ProgressWarning] = []
    with Progress(path).update(seen.append) as fresh:
        fresh.reveal_hint("08-combining")
    assert len(seen) == 1 and seen[0].moved_to is not None and seen[0].moved_to.exists()
    assert Progress.load(path)[0].state("08-combining").hints_revealed == 1


@pytest.mark.parametrize("linked", ["file", "folder", "lock"])
def test_links_in_the_progress_path_are_refused(tmp_path: Path, linked: str) -> None:
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "progress.json").write_text('{"version": 1, "lessons": {}}')
    state = tmp_path / "ws" / ".course"
    if linked == "folder":
        (tmp_path / "ws").mkdir()
        state.symlink_to(secret)
    else:
        state.mkdir(parents=True)
        name = "progress.json" if linked == "file" else "progress.json.lock"
        (state / name).symlink_to(secret / "progress.json")
    with pytest.raises(ProgressError, match="is a symbolic link"):
        with Progress(state / "progress.json").update() as fresh:
            fresh.reveal_hint("08-combining")
    assert (secret / "progress.json").read_text() == '{"version": 1, "lessons": {}}'
    assert sorted(p.name for p in secret.iterdir()) == ["progress.json"]


# ---------------------------------------------------------------- course updates


def copied_course(tmp_path: Path) -> Path:
    import shutil

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "courses" / "cli"
    course_dir = tmp_path / "course"
    shutil.copytree(fixture, course_dir)
    return course_dir


def test_a_pass_records_the_course_version_and_the_lesson_hash(tmp_path: Path) -> None:
    from runner.course.load import load_course
    from runner.progress import lesson_hash

    course = load_course(copied_course(tmp_path))
    lesson = course.lesson("01")
    assert lesson is not None
    progress = Progress(tmp_path / "progress.json")
    state = progress.record(
        report(lesson.id, "pass", 3), course_version="1.0", content_hash=lesson_hash(lesson)
    )
    assert (state.passed_version, state.passed_hash) == ("1.0", lesson_hash(lesson))
    progress.save()
    again, _ = Progress.load(progress.path)
    assert again.state(lesson.id).passed_hash == lesson_hash(lesson)
    assert not again.state(lesson.id).outdated(lesson_hash(lesson))
    # a failing run after it leaves the pass's record but is not "passed"
    progress.record(report(lesson.id, "fail"), course_version="1.0", content_hash="x")
    assert progress.state(lesson.id).passed_hash == lesson_hash(lesson)
    assert not progress.state(lesson.id).outdated("other")


def test_the_lesson_hash_follows_what_decides_a_pass(tmp_path: Path) -> None:
    import dataclasses

    from runner.course.load import load_course
    from runner.progress import lesson_hash

    course_dir = copied_course(tmp_path)
    lesson = load_course(course_dir).lesson("01")
    assert lesson is not None
    before = lesson_hash(lesson)
    (lesson.dir / "README.md").write_text("reworded\n")  # the text alone does not count
    assert lesson_hash(lesson) == before
    for path in (lesson.dir / "lesson.yaml", lesson.starter, lesson.solution):
        original = path.read_bytes()
        path.write_bytes(original + b"\n# changed\n")
        assert lesson_hash(lesson) != before, path
        path.write_bytes(original)
    tests = tmp_path / "tests"
    tests.mkdir()
    with_tests = dataclasses.replace(lesson, tests_dir=tests)
    empty = lesson_hash(with_tests)
    (tests / "test_probe.py").write_text("def test_x(): pass\n")
    assert lesson_hash(with_tests) != empty
    assert lesson_hash(lesson) == before


def test_an_old_progress_file_without_hashes_still_counts(tmp_path: Path) -> None:
    path = tmp_path / "progress.json"
    entry = {"status": "passed", "score": 3, "max_score": 3, "attempts": 1}
    path.write_text(json.dumps({"version": 1, "lessons": {"01-opens": entry}}))
    progress, warning = Progress.load(path)
    assert warning is None
    state = progress.state("01-opens")
    assert state.status == "passed" and state.passed_hash is None
    assert not state.outdated("anything")  # cannot tell: not shown as older


def test_list_says_passed_older_version_after_a_course_update(
    tmp_path: Path, capsys, monkeypatch
) -> None:
    from runner import cli
    from runner.course.load import load_course
    from runner.progress import lesson_hash
    from runner.session import Session
    from runner.workspace import Workspace

    course_dir = copied_course(tmp_path)
    course = load_course(course_dir)
    workspace = Workspace(tmp_path / "ws")
    session = Session(course, workspace, detect=lambda **_: {"features": {}})
    session.record_result(report("01-opens", "pass", 3))
    state = Progress.load(workspace.progress_path)[0].state("01-opens")
    assert state.passed_version == course.version
    assert state.passed_hash == lesson_hash(course.lesson("01"))
    rows = {row.id: row for row in session.lessons({"features": {}})}
    assert rows["01-opens"].status == "passed" and not rows["01-opens"].outdated

    # the course is updated: lesson 01's checks change
    yaml = course_dir / "lessons" / "01-opens" / "lesson.yaml"
    yaml.write_text(yaml.read_text().replace("min: 3", "min: 2"))
    session = Session(load_course(course_dir), workspace, detect=lambda **_: {"features": {}})
    row = next(r for r in session.lessons({"features": {}}) if r.id == "01-opens")
    assert row.outdated and row.shown_status == "passed (older version)"
    assert row.to_dict()["outdated"] is True

    argv = ["--course", str(course_dir), "--workspace", str(workspace.root), "list"]
    monkeypatch.setattr("runner.live.host.detect", lambda **_: {"features": {}})
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert "01-opens" in out and "passed (older version)" in out
    from runner.tui.status import lesson_label  # the TUI's list says the same

    assert lesson_label("passed-older") == "✔ passed (older version)"


def test_a_pass_in_the_vm_is_listed_with_its_kernel() -> None:
    from runner.session.results import LessonRow

    def row(where: str | None, reason: str | None) -> LessonRow:
        return LessonRow("01-x", 1, "x", "passed", ["kprobes"], reason, 3, 3, False, where)

    no_kprobes = "this kernel was built without CONFIG_KPROBES"
    assert row("vm:6.1.0-57-amd64", no_kprobes).shown_status == "passed in the VM (6.1.0-57-amd64)"
    assert row("host", None).shown_status == "passed"
    assert row(None, no_kprobes).shown_status == "passed elsewhere"  # recorded before `where`
    assert row(None, None).shown_status == "passed"
    assert row("vm:6.1.0-57-amd64", no_kprobes).to_dict()["passed_where"] == "vm:6.1.0-57-amd64"


def test_a_pass_records_where_it_ran(tmp_path: Path) -> None:
    progress = Progress(tmp_path / "p.json")
    report = Report("01-x", "pass", 3, 3, [], where="vm:6.1.0-57-amd64")
    assert progress.record(report).passed_where == "vm:6.1.0-57-amd64"
    progress.save()
    again, _ = Progress.load(tmp_path / "p.json")
    assert again.state("01-x").passed_where == "vm:6.1.0-57-amd64"
