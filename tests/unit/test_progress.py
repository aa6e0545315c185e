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
