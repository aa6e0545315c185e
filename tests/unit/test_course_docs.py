"""The shipped lessons' texts, as an author gate that needs no kernel: every
Python snippet parses, imports only declared modules and nests no event
loops (the BUG-023 / BUG-025 classes in the docs); every lesson documents
the pytest command its check runs and shows an expected-output block."""

from __future__ import annotations

from pathlib import Path

import pytest

import checks
from checks.context import Context
from checks.docs import doc_output_blocks
from runner.course.load import load_course
from runner.course.markdown import fenced_blocks
from runner.model import Recording

REPO = Path(__file__).resolve().parents[2]
LESSONS = load_course(REPO).lessons


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.id for lesson in LESSONS])
def test_python_snippets_are_sound(lesson) -> None:
    kind = checks.get("docs.snippets")
    ctx = Context(recording=Recording(lesson.id, "", ""), run=None, lesson=lesson)
    verdict = kind.func({}, ctx)
    assert verdict.status == "pass", verdict.message


@pytest.mark.parametrize("lesson", LESSONS, ids=[lesson.id for lesson in LESSONS])
def test_lesson_documents_its_pytest_command_and_expected_output(lesson) -> None:
    text = lesson.text.read_text()
    bash = [b.lines for b in fenced_blocks(text) if b.lang in ("bash", "sh", "console")]
    assert any("course test" in line for lines in bash for line in lines)
    assert doc_output_blocks(text), "no ```output block"
    kinds = {c.kind for c in lesson.checks}
    assert {"docs.pytest_command", "docs.expected_output", "pytest.workflow"} <= kinds


def test_snippet_check_catches_a_nested_loop_and_an_undeclared_import(tmp_path) -> None:
    """The gate above can fail: a lesson text with both mistakes."""
    import dataclasses

    bad = tmp_path / "README.md"
    bad.write_text(
        "# L\n\n```python\nimport asyncio\nimport rich\n\n"
        "async def main():\n    asyncio.run(other())\n```\n"
    )
    lesson = dataclasses.replace(LESSONS[0], text=bad, dir=tmp_path)
    ctx = Context(recording=Recording(lesson.id, "", ""), run=None, lesson=lesson)
    verdict = checks.get("docs.snippets").func({}, ctx)
    assert verdict.status == "fail"
    assert "rich" in str(verdict.observed) and "asyncio.run" in str(verdict.observed)
