"""Lesson metadata (minutes, difficulty, concepts, prerequisites) and each
check's `section:`: the heading of the lesson text that teaches what it
judges. Optional in the schema, so other courses keep loading; present in
every lesson of the embedded course; wrong ones are file:line errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner.course.load import LoadError, load_course, load_lesson
from runner.course.markdown import find_heading, headings, locate, split_sections
from runner.course.scaffold import new_lesson
from runner.grade import grade
from runner.model import CheckResult, Recording, Report
from runner.present.render import report_text

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures" / "courses"
LESSON = "lessons/01-hello/lesson.yaml"


def test_every_lesson_and_challenge_has_its_metadata_and_every_check_a_section() -> None:
    course = load_course(REPO)
    guided = [lesson for lesson in course.lessons if not lesson.challenge]
    assert [lesson.number for lesson in guided] == list(range(9))
    for lesson in course.lessons:
        if lesson.challenge:  # right after its lesson, which it builds on
            before = course.lessons[course.lessons.index(lesson) - 1]
            assert before.number == lesson.number and before.id in lesson.prerequisites
    ids = [lesson.id for lesson in course.lessons]
    for lesson in course.lessons:
        assert isinstance(lesson.minutes, int) and 5 <= lesson.minutes <= 120, lesson.id
        assert lesson.difficulty in ("beginner", "intermediate", "advanced"), lesson.id
        assert len(lesson.concepts) >= 3 and all(c.strip() for c in lesson.concepts), lesson.id
        earlier = ids[: ids.index(lesson.id)]
        assert set(lesson.prerequisites) <= set(earlier), lesson.id
        assert lesson.number == 0 or lesson.prerequisites, f"{lesson.id} builds on nothing?"
        text = lesson.text.read_text()
        for check in lesson.checks:
            assert check.section, f"{lesson.id}: check {check.id} has no section"
            assert find_heading(text, check.section) is not None, (lesson.id, check.id)
    assert course.lessons[0].difficulty == "beginner"
    assert course.lessons[-1].difficulty == "advanced"


def test_courses_without_metadata_still_load() -> None:
    for name in ("good", "cli"):  # (plugin-course would register its kind for every later test)
        course = load_course(FIXTURES / name)
        for lesson in course.lessons:
            assert lesson.minutes is None and lesson.difficulty is None
            assert lesson.concepts == [] and lesson.prerequisites == []
            assert all(check.section is None for check in lesson.checks)


def test_the_scaffold_template_has_every_field(tmp_path: Path) -> None:
    course = tmp_path / "course"
    shutil.copytree(FIXTURES / "good", course)
    new_lesson(course, "09-demo")
    lesson = load_lesson(course, "09-demo", order=["01-hello", "02-counting", "09-demo"])
    assert (lesson.minutes, lesson.difficulty) == (25, "beginner")
    assert lesson.concepts and lesson.prerequisites == []
    assert all(check.section for check in lesson.checks)
    text = (course / "lessons/09-demo/lesson.yaml").read_text()
    for key in ("minutes:", "difficulty:", "concepts:", "prerequisites:", "section:"):
        assert f"\n{key}" in text or f"    {key}" in text, key


# ---------------------------------------------------------------- loader errors


@pytest.fixture
def course(tmp_path: Path) -> Path:
    dest = tmp_path / "course"
    shutil.copytree(FIXTURES / "good", dest)
    (dest / "lessons/01-hello/README.md").write_text(
        "# Hello\n\nSay hello.\n\n## Steps\n\n### Print the greeting\n\n```bash\n## not one\n```\n"
    )
    return dest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture changed: {old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def line_of(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def problems(course_dir: Path) -> list[str]:
    with pytest.raises(LoadError) as info:
        load_course(course_dir)
    return [str(e) for e in info.value.errors]


def test_a_section_may_be_any_heading_in_any_case(course: Path) -> None:
    yaml = course / LESSON
    edit(yaml, "    points: 2\n", "    points: 2\n    section: print the GREETING \n")
    edit(yaml, "    run: tests\n", "    run: tests\n    section: Steps\n")
    lesson = load_course(course).lesson("01")
    assert lesson is not None
    assert [c.section for c in lesson.checks] == ["print the GREETING", "Steps"]


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ("Step", "(did you mean 'Steps'?)"),
        ("not one", "(its headings: 'Steps')"),  # a `##` inside a fence is no heading
    ],
)
def test_a_section_that_is_no_heading_is_an_error_at_its_line(
    course: Path, section: str, says: str
) -> None:
    yaml = course / LESSON
    edit(yaml, "    points: 2\n", f"    points: 2\n    section: {section}\n")
    found = problems(course)
    line = line_of(yaml, "section:")
    assert found == [
        f"{LESSON}:{line}: check 'hello-line' names section {section!r}, which is not a "
        f"heading of lessons/01-hello/README.md {says}"
    ]


@pytest.mark.parametrize(
    ("prerequisites", "says"),
    [
        ("[02-counting]", "prerequisite '02-counting' comes after 01-hello in course.yaml's"),
        ("[01-hello]", "01-hello names itself as a prerequisite"),
        ("[01-helo]", "prerequisite '01-helo' is not a lesson of the course (did you mean"),
        ("[1-hello]", "must match"),
    ],
)
def test_a_wrong_prerequisite_is_an_error_at_its_line(
    course: Path, prerequisites: str, says: str
) -> None:
    yaml = course / LESSON
    edit(
        yaml,
        "requires: [tracepoints]\n",
        f"requires: [tracepoints]\nprerequisites: {prerequisites}\n",
    )
    found = problems(course)
    assert len(found) == 1 and found[0].startswith(f"{LESSON}:{line_of(yaml, 'prerequisites')}:")
    assert says in found[0], found[0]


def test_a_prerequisite_listed_earlier_loads(course: Path) -> None:
    edit(
        course / "lessons/02-counting/lesson.yaml",
        "title: Counting\n",
        "title: Counting\nprerequisites: [01-hello]\n",
    )
    lesson = load_course(course).lesson("02")
    assert lesson is not None and lesson.prerequisites == ["01-hello"]
    # loaded alone, a lesson knows no course order: only itself is refused
    assert load_lesson(course, "02-counting").prerequisites == ["01-hello"]


@pytest.mark.parametrize(
    ("line", "says"),
    [
        ("minutes: 0", "minutes"),
        ("minutes: about twenty", "minutes"),
        ("difficulty: easy", "difficulty"),
        ("concepts: [maps, maps]", "concepts"),
    ],
)
def test_bad_metadata_is_a_schema_error(course: Path, line: str, says: str) -> None:
    yaml = course / LESSON
    edit(yaml, "requires: [tracepoints]\n", f"requires: [tracepoints]\n{line}\n")
    found = problems(course)
    assert len(found) == 1 and found[0].startswith(f"{LESSON}:4:") and says in found[0], found


# ---------------------------------------------------------------- where a failing check points


def test_a_failing_check_says_which_section_to_read() -> None:
    report = Report(
        "06-tracepoints",
        "fail",
        0,
        2,
        [
            CheckResult("a", "output.line", "pass", "ok", None, None, 1, 1, "", "Steps"),
            CheckResult(
                "dfd-signed",
                "events.match",
                "fail",
                "No line had dfd -100.",
                None,
                None,
                0,
                1,
                "Cast args->dfd to int.",
                "Three details that decide whether the output is true",
            ),
        ],
    )
    text = report_text(report)
    assert 'see "Three details that decide whether the output is true" in the lesson text' in text
    assert text.count("see ") == 1  # a passing check sends nobody anywhere


def test_grading_carries_the_section_into_the_report() -> None:
    course = load_course(REPO)
    lesson = course.lesson("06")
    assert lesson is not None
    report = grade(lesson, Recording(lesson=lesson.id, probe_path="p.py", probe_source=""))
    sections = {c.id: c.section for c in report.checks}
    assert sections["dfd-signed"] == "Three details that decide whether the output is true"
    assert sections["expected-output-sched"] == "Expected output for sched_switch"
    assert all(report.to_dict()["checks"][i]["section"] for i in range(len(report.checks)))


def test_locate_finds_the_section_and_the_heading_in_it() -> None:
    text = (REPO / "lessons/06-tracepoints/README.md").read_text()
    sections = split_sections(text)
    index, position = locate(sections, "three details that decide whether the output is true")  # type: ignore[misc]
    assert sections[index].title == "Concepts"
    assert headings(sections[index].body)[position].text == (
        "Three details that decide whether the output is true"
    )
    assert locate(sections, "Steps") == (
        next(i for i, s in enumerate(sections) if s.title == "Steps"),
        0,
    )
    assert locate(sections, "no such heading") is None
