"""A run must not cost the learner their progress or their probe
(runner/session/integrity.py)."""

from __future__ import annotations

import json
from pathlib import Path

from runner.progress import PROGRESS_VERSION
from runner.session.integrity import FilesBefore

PASSED = {"status": "passed", "score": 3, "max_score": 3, "attempts": 1}
GOOD = json.dumps({"version": PROGRESS_VERSION, "lessons": {"00-setup": PASSED}}).encode()


def files(tmp_path: Path) -> tuple[Path, Path]:
    progress, probe = tmp_path / "progress.json", tmp_path / "probe.py"
    progress.write_bytes(GOOD)
    probe.write_bytes(b"print('hi')\n\xff\n")  # not UTF-8: restored byte for byte
    return progress, probe


def test_an_untouched_run_says_nothing(tmp_path: Path) -> None:
    before = FilesBefore.take(*files(tmp_path))
    assert before.repair() == []


def test_a_removed_or_scribbled_progress_file_is_restored(tmp_path: Path) -> None:
    progress, probe = files(tmp_path)

    def scribble() -> None:
        progress.write_text("PASS PASS")

    for damage, word in ((progress.unlink, "removed"), (scribble, "left unreadable")):
        before = FilesBefore.take(progress, probe)
        damage()
        (said,) = before.repair()
        assert word in said and "put back" in said
        assert progress.read_bytes() == GOOD


def test_a_forged_pass_is_undone_but_a_hint_revealed_meanwhile_is_kept(tmp_path: Path) -> None:
    progress, probe = files(tmp_path)
    before = FilesBefore.take(progress, probe)
    forged = {"status": "passed", "score": 9, "max_score": 9, "hints_revealed": 2}
    progress.write_text(json.dumps({"version": PROGRESS_VERSION, "lessons": {"06-x": forged}}))
    (said,) = before.repair()
    assert "changed your progress file" in said and "put back" in said
    lessons = json.loads(progress.read_text())["lessons"]
    assert (lessons["06-x"]["status"], lessons["06-x"]["hints_revealed"]) == ("not-started", 2)
    assert lessons["00-setup"]["status"] == "passed"


def test_a_hint_another_command_revealed_is_kept_silently(tmp_path: Path) -> None:
    progress, probe = files(tmp_path)
    before = FilesBefore.take(progress, probe)
    lessons = {"00-setup": PASSED, "06-x": {"hints_revealed": 1}}
    newer = json.dumps({"version": PROGRESS_VERSION, "lessons": lessons})
    progress.write_text(newer)
    assert before.repair() == []
    assert progress.read_text() == newer


def test_a_forged_progress_for_a_new_learner_is_undone(tmp_path: Path) -> None:
    progress, probe = files(tmp_path)
    progress.unlink()
    before = FilesBefore.take(progress, probe)
    progress.write_text(json.dumps({"version": PROGRESS_VERSION,
                                    "lessons": {"06-x": {"status": "passed"}}}))  # fmt: skip
    (said,) = before.repair()
    assert json.loads(progress.read_text())["lessons"] == {}


def test_a_removed_probe_is_restored_and_a_changed_one_is_named(tmp_path: Path) -> None:
    progress, probe = files(tmp_path)
    original = probe.read_bytes()
    before = FilesBefore.take(progress, probe)
    probe.unlink()
    (said,) = before.repair()
    assert "removed your probe" in said and probe.read_bytes() == original
    before = FilesBefore.take(progress, probe)
    probe.write_text("# edited\n")
    (said,) = before.repair()
    assert "changed while it ran" in said and probe.read_text() == "# edited\n"


def test_an_unreadable_progress_before_the_run_is_left_to_the_loader(tmp_path: Path) -> None:
    progress, probe = files(tmp_path)
    progress.write_text("garbage")  # Progress.load moves it aside and reports it
    before = FilesBefore.take(progress, probe)
    progress.write_text("other garbage")
    assert before.repair() == []
