"""Lesson ids: NN-slug, and NNc-slug for the challenge of lesson NN."""

from pathlib import Path

import pytest

from runner.model import Course, Lesson, id_answers_to


@pytest.mark.parametrize(
    ("key", "lesson_id"),
    [
        ("6", "06-tracepoints"),
        ("06", "06-tracepoints"),
        ("tracepoints", "06-tracepoints"),
        ("06c", "06c-openat-exit"),
        ("06C", "06c-openat-exit"),
        ("openat-exit", "06c-openat-exit"),
        ("06c-openat-exit", "06c-openat-exit"),
        ("7", None),
    ],
)
def test_a_number_names_the_lesson_and_its_code_the_challenge(key, lesson_id) -> None:
    def lesson(lid: str) -> Lesson:
        return Lesson(lid, 6, lid.split("-", 1)[1], lid, Path(), Path(), Path(), None, None)

    course = Course("c", "1", Path(), [lesson("06c-openat-exit"), lesson("06-tracepoints")])
    found = course.lesson(key)
    assert (found.id if found else None) == lesson_id


def test_a_challenge_code_and_flag() -> None:
    challenge = Lesson("06c-x", 6, "x", "X", Path(), Path(), Path(), None, None)
    assert (challenge.code, challenge.challenge) == ("06c", True)
    assert not id_answers_to("06c-x", "6") and id_answers_to("06-x", "6")
