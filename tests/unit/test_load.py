"""runner.course.load: fixture courses in, Course out, or one file:line sentence per problem."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runner.course.load import LoadError, load_course, load_lesson

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "courses"
LESSON = "lessons/01-hello/lesson.yaml"


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A writable copy of the good fixture course."""
    dest = tmp_path / "course"
    shutil.copytree(FIXTURES / "good", dest)
    return dest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"fixture changed: {old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def line_of(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return number
    raise AssertionError(f"{needle!r} not in {path}")


def problems(course_dir: Path) -> list[str]:
    with pytest.raises(LoadError) as info:
        load_course(course_dir)
    return [str(e) for e in info.value.errors]


def only_problem(course_dir: Path) -> str:
    found = problems(course_dir)
    assert len(found) == 1, found
    return found[0]


# ---------------------------------------------------------------- a good course


def test_good_course_loads_with_defaults(course: Path) -> None:
    loaded = load_course(course)
    assert loaded.title == "Fixture course"
    assert loaded.version == "0.1"
    assert [lesson.id for lesson in loaded.lessons] == ["01-hello", "02-counting"]

    hello = loaded.lesson("1")
    assert hello is not None
    assert (hello.number, hello.slug, hello.title) == (1, "hello", "Hello")
    assert hello.text == course / "lessons/01-hello/README.md"
    assert hello.starter == course / "lessons/01-hello/probe.py"
    assert hello.solution == course / "solutions/01-hello/probe.py"
    assert hello.tests_dir == course / "lessons/01-hello/tests"
    assert hello.requires == ["tracepoints"]
    assert hello.hints == ["Print one line per event.", "Use TRACEPOINT_PROBE."]
    assert hello.max_score == 3

    main = hello.run_spec("main")
    assert main is not None
    assert main.args == ["-d", "0", "{workload.pid}"]  # numbers become argv strings
    assert (main.ready, main.ready_timeout, main.timeout, main.settle) == ("^Attached", 5, 10, 0.5)
    assert main.stop == "after-workload"
    assert main.workload is not None and main.workload.kind == "open-marker"
    assert main.workload.params == {"count": 3}
    assert main.where is not None and main.where.line == line_of(course / LESSON, "- id: main")
    tests = hello.run_spec("tests")
    assert tests is not None and tests.command == ["{python}", "-m", "pytest", "-q", "tests"]

    line, code = hello.checks
    assert (line.id, line.kind, line.points, line.run) == (
        "hello-line",
        "output.line",
        2,
        "main",
    )
    assert line.params["pattern"] == r"^Hello from (?P<pid>\d+)$"
    assert line.where is not None
    assert str(line.where) == f"{LESSON}:{line_of(course / LESSON, '- id: hello-line')}"
    assert (code.run, code.points, code.params) == ("tests", 1, {"equals": 0})

    (wrong,) = hello.wrong
    assert wrong.path == course / "solutions/01-hello/wrong/silent.py"
    assert wrong.must_fail == "hello-line"
    assert wrong.why == "prints nothing, so no hello line is seen"


def test_second_lesson_defaults(course: Path) -> None:
    counting = load_course(course).lesson("counting")
    assert counting is not None
    assert counting.text == course / "lessons/02-counting/counting.md"
    assert counting.solution is None and counting.tests_dir is None and counting.wrong == []
    assert counting.starter_may_pass is True
    (run,) = counting.runs
    assert (run.id, run.stop, run.workload, run.timeout) == ("main", "exit", None, 30.0)
    assert counting.checks[0].points == 1


def test_load_lesson_alone(course: Path) -> None:
    assert load_lesson(course, "02-counting").title == "Counting"


# ---------------------------------------------------------------- YAML and schema


def test_malformed_yaml_names_the_line(course: Path) -> None:
    edit(course / LESSON, "    stop: after-workload", "    stop: [after-workload")
    found = only_problem(course)
    assert found.startswith(f"{LESSON}:{line_of(course / LESSON, 'settle:')}: ")
    assert "this is not valid YAML" in found


def test_colon_in_a_plain_value_gets_advice(course: Path) -> None:
    path = course / LESSON
    edit(path, 'hint: Print "Hello" once attached.', "hint: Print this: Hello")
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, 'Print this')}: this is not valid YAML at column 21: mapping "
        "values are not allowed here (a ': ' inside an unquoted value starts a new key; put the "
        "value in quotes)"
    )


def test_unknown_top_level_key(course: Path) -> None:
    path = course / LESSON
    path.write_text(path.read_text() + "chekcs: []\n")
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, 'chekcs')}: unknown key 'chekcs' in the lesson "
        "(did you mean 'checks'?)"
    )


def test_unknown_key_in_check_and_run(course: Path) -> None:
    path = course / LESSON
    edit(path, "    points: 2", "    pionts: 2")
    edit(path, "    settle: 0.5", "    setle: 0.5")
    assert problems(course) == [
        f"{LESSON}:{line_of(path, 'setle')}: unknown key 'setle' in run 'main' "
        "(did you mean 'settle'?)",
        f"{LESSON}:{line_of(path, 'pionts')}: unknown key 'pionts' in check 'hello-line' "
        "(did you mean 'points'?)",
    ]


def test_missing_field(course: Path) -> None:
    path = course / LESSON
    edit(path, "    kind: exit.code\n", "")
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, '- id: exits-clean')}: check 'exits-clean' is missing 'kind'"
    )


def test_missing_title(course: Path) -> None:
    edit(course / LESSON, "title: Hello\n", "")
    assert only_problem(course) == f"{LESSON}:2: the lesson is missing 'title'"


def test_wrong_type(course: Path) -> None:
    path = course / LESSON
    edit(path, "    points: 2", "    points: two")
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, 'points: two')}: 'points' in check 'hello-line' "
        "must be an integer, not the string 'two'"
    )


def test_wrong_type_in_a_list(course: Path) -> None:
    path = course / LESSON
    edit(path, "  - Use TRACEPOINT_PROBE.", "  - {a: 1}")
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, '{a: 1}')}: item 2 of 'hints' in the lesson "
        "must be a string, not a mapping"
    )


def test_enum_value(course: Path) -> None:
    path = course / LESSON
    edit(path, "stop: after-workload", "stop: after-workloads")
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, 'stop:')}: 'stop' in run 'main' must be one of 'exit', "
        "'after-workload', not 'after-workloads' (did you mean 'after-workload'?)"
    )


def test_duplicate_yaml_key(course: Path) -> None:
    path = course / LESSON
    edit(path, "    settle: 0.5", "    settle: 0.5\n    settle: 1")
    assert only_problem(course) == f"{LESSON}:{line_of(path, 'settle: 1')}: duplicate key 'settle'"


@pytest.mark.parametrize(("content", "got"), [("", "empty"), ("- a\n", "a list")])
def test_lesson_that_is_not_a_mapping(course: Path, content: str, got: str) -> None:
    (course / LESSON).write_text(content)
    assert only_problem(course) == (
        f"{LESSON}:1: the lesson must be a mapping of keys, but the file is {got}"
    )


# ---------------------------------------------------------------- checks


def test_unknown_check_kind_suggests_close_ones(course: Path) -> None:
    path = course / LESSON
    edit(path, "kind: output.line\n", "kind: output.lin\n")
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, 'kind: output.lin')}: unknown check kind 'output.lin' "
        "in check 'hello-line' (did you mean 'output.line'? known output kinds: output.absent, "
        "output.every, output.line, output.no_traceback)"
    )


def test_unknown_check_kind_far_from_any(course: Path) -> None:
    edit(course / LESSON, "kind: output.line\n", "kind: zzz\n")
    found = only_problem(course)
    assert "unknown check kind 'zzz' in check 'hello-line' (known kinds: " in found
    assert "output.line" in found


def test_params_not_matching_the_kind(course: Path) -> None:
    path = course / LESSON
    edit(path, "min: 1}", "min: three, patern: x}")
    params_line = line_of(path, "patern")
    assert sorted(problems(course)) == [
        f"{LESSON}:{params_line}: 'min' in the params of check 'hello-line' must be "
        "an integer, not the string 'three'",
        f"{LESSON}:{params_line}: unknown key 'patern' in the params of check 'hello-line' "
        "(did you mean 'pattern'?)",
    ]


def test_params_missing_a_required_one(course: Path) -> None:
    path = course / LESSON
    edit(path, "params: {pattern: '^Hello from (?P<pid>\\d+)$', min: 1}", "params: {min: 1}")
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, 'params: {min: 1}')}: the params of check 'hello-line' "
        "is missing 'pattern'"
    )


def test_bad_regex_in_pattern(course: Path) -> None:
    path = course / LESSON
    edit(path, "(?P<pid>\\d+)$", "(?P<pid>\\d+$")
    found = only_problem(course)
    assert found.startswith(
        f"{LESSON}:{line_of(path, 'pattern')}: 'pattern' in the params of check 'hello-line' "
        "is not a valid regular expression ("
    )


def test_bad_regex_in_ready(course: Path) -> None:
    path = course / LESSON
    edit(path, "ready: '^Attached'", "ready: '^Attached['")
    found = only_problem(course)
    assert found.startswith(
        f"{LESSON}:{line_of(path, 'ready:')}: 'ready' in run 'main' is not a valid regular "
        "expression ("
    )


def test_bad_regex_in_ignore_items(course: Path) -> None:
    path = course / LESSON
    path.write_text(
        path.read_text()
        + "  - id: every\n    kind: output.every\n    params:\n      pattern: x\n"
        + "      ignore: ['^ok', '(']\n"
    )
    found = only_problem(course)
    assert found.startswith(
        f"{LESSON}:{line_of(path, 'ignore:')}: item 2 of 'ignore' in the params of check "
        "'every' is not a valid regular expression ("
    )


def test_duplicate_check_and_run_ids(course: Path) -> None:
    path = course / LESSON
    edit(path, "  - id: exits-clean", "  - id: hello-line")
    edit(path, "  - id: tests", "  - id: main")
    edit(path, "    run: tests", "    run: main")
    assert problems(course) == [
        f"{LESSON}:{line_of(path, 'command:') - 1}: run id 'main' is used twice "
        f"(first on line {line_of(path, '- id: main')})",
        f"{LESSON}:{line_of(path, 'run: main') - 2}: check id 'hello-line' is used twice "
        f"(first on line {line_of(path, '- id: hello-line')})",
    ]


def test_check_reading_a_missing_run(course: Path) -> None:
    path = course / LESSON
    edit(path, "    run: tests", "    run: test")
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, 'run: test')}: check 'exits-clean' reads run 'test', "
        "but the lesson has no such run (runs: main, tests)"
    )


def test_check_reading_the_default_run_when_there_is_none(course: Path) -> None:
    path = course / "lessons/02-counting/lesson.yaml"
    edit(path, "  - args:", "  - id: first\n    args:")
    assert only_problem(course) == (
        f"lessons/02-counting/lesson.yaml:{line_of(path, '- id: says-something')}: "
        "check 'says-something' reads run 'main' (the default), but the lesson has no such "
        "run (runs: first)"
    )


def test_static_check_needs_no_run(course: Path) -> None:
    path = course / "lessons/02-counting/lesson.yaml"
    edit(path, "  - args:", "  - id: first\n    args:")
    edit(path, "    kind: output.line\n    params: {pattern: '.'}", "    kind: static.imports")
    assert load_course(course).lesson("2").checks[0].kind == "static.imports"


def test_unknown_template_root(course: Path) -> None:
    path = course / LESSON
    edit(path, '"{workload.pid}"', '"{wokload.pid}"')
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, 'wokload')}: item 3 of 'args' in run 'main' uses an unknown "
        "template {wokload.pid} (did you mean 'workload'?)"
    )


# ---------------------------------------------------------------- runs


def test_unknown_workload_kind(course: Path) -> None:
    path = course / LESSON
    edit(path, "kind: open-marker", "kind: open-markr")
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, 'open-markr')}: unknown workload kind 'open-markr' in the "
        "workload of run 'main' (did you mean 'open-marker'?)"
    )


def test_workload_params_not_matching(course: Path) -> None:
    path = course / LESSON
    edit(path, "params: {count: 3}", "params: {count: many}")
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, 'count: many')}: 'count' in the workload params of run 'main' "
        "must be an integer, not the string 'many'"
    )


def test_args_and_command_together(course: Path) -> None:
    path = course / LESSON
    edit(path, "    command:", "    args: [x]\n    command:")
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, 'command:')}: run 'tests' has both 'args' and 'command'; "
        "a command step does not start the probe"
    )


def test_after_workload_without_workload(course: Path) -> None:
    path = course / "lessons/02-counting/lesson.yaml"
    edit(path, '  - args: [-d, "1"]', '  - args: [-d, "1"]\n    stop: after-workload')
    assert only_problem(course) == (
        f"lessons/02-counting/lesson.yaml:{line_of(path, 'stop:')}: run 'main' stops "
        "'after-workload' but has no workload; add one or use 'stop: exit'"
    )


def test_negative_timeout(course: Path) -> None:
    path = course / LESSON
    edit(path, "timeout: 10", "timeout: -1")
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, 'timeout: -1')}: 'timeout' in run 'main' must be more than 0, "
        "not -1"
    )


# ---------------------------------------------------------------- files


def test_text_outside_the_lesson_folder(course: Path) -> None:
    path = course / LESSON
    edit(path, "title: Hello\n", "title: Hello\ntext: ../../course.yaml\n")
    assert only_problem(course) == (
        f"{LESSON}:{line_of(path, 'text:')}: 'text' in the lesson '../../course.yaml' is "
        "outside the lesson folder lessons/01-hello/"
    )


def test_missing_text(course: Path) -> None:
    (course / "lessons/02-counting/counting.md").unlink()
    assert only_problem(course) == (
        "lessons/02-counting/lesson.yaml:2: the lesson text lessons/02-counting/counting.md "
        "does not exist"
    )


def test_missing_default_text_and_starter(course: Path) -> None:
    (course / "lessons/01-hello/README.md").unlink()
    (course / "lessons/01-hello/probe.py").unlink()
    top = line_of(course / LESSON, "title:")  # the lesson mapping starts there
    assert problems(course) == [
        f"{LESSON}:{top}: the lesson text lessons/01-hello/README.md does not exist",
        f"{LESSON}:{top}: the starter lessons/01-hello/probe.py does not exist",
    ]


# ---------------------------------------------------------------- wrong variants


WRONG = "solutions/01-hello/wrong"


def test_wrong_variant_without_header(course: Path) -> None:
    (course / WRONG / "bare.py").write_text("print('hi')\n")
    assert only_problem(course) == (
        f"{WRONG}/bare.py:1: a wrong variant must start with a '# must-fail: <check-id>' "
        "comment naming the check it fails"
    )


def test_wrong_variant_naming_an_unknown_check(course: Path) -> None:
    (course / WRONG / "typo.py").write_text("# why: typo\n# must-fail: hello-lin\nprint()\n")
    assert only_problem(course) == (
        f"{WRONG}/typo.py:2: '# must-fail: hello-lin' names no check of 01-hello "
        "(did you mean 'hello-line'?)"
    )


def test_wrong_variant_naming_two_checks(course: Path) -> None:
    (course / WRONG / "two.py").write_text("# must-fail: hello-line\n# must-fail: exits-clean\n")
    assert only_problem(course) == (
        f"{WRONG}/two.py:2: a wrong variant names one check in '# must-fail:'; split it into "
        "one file per check"
    )


def test_shows_without_names_a_feature_the_course_tries(course: Path) -> None:
    (course / WRONG / "guess.py").write_text(
        "# must-fail: hello-line\n# shows-without: kprobe\nprint()\n"
    )
    problem = only_problem(course)
    assert problem.startswith(f"{WRONG}/guess.py:2: '# shows-without: kprobe' names no feature")
    assert "kprobes" in problem


def test_header_must_lead_the_file(course: Path) -> None:
    (course / WRONG / "late.py").write_text("print()\n# must-fail: hello-line\n")
    assert "late.py:1: a wrong variant must start with" in only_problem(course)


# ---------------------------------------------------------------- course.yaml


def test_listed_lesson_without_folder(course: Path) -> None:
    edit(course / "course.yaml", "  - 02-counting", "  - 02-counting\n  - 03-maps")
    assert only_problem(course) == (
        "course.yaml:7: lesson '03-maps' is listed but lessons/03-maps/ does not exist"
    )


def test_listed_lesson_folder_without_lesson_yaml(course: Path) -> None:
    (course / "lessons/02-counting/lesson.yaml").unlink()
    assert only_problem(course) == (
        "course.yaml:6: lesson '02-counting' is listed but lessons/02-counting/ has no lesson.yaml"
    )


def test_lesson_id_not_nn_slug(course: Path) -> None:
    edit(course / "course.yaml", "  - 02-counting", "  - Counting")
    assert only_problem(course) == (
        "course.yaml:6: item 2 of 'lessons' in the course must match "
        "'^[0-9]{2}c?-[a-z0-9]+(-[a-z0-9]+)*$', not 'Counting' (for example '06-tracepoints')"
    )


def test_lesson_listed_twice(course: Path) -> None:
    edit(course / "course.yaml", "  - 02-counting", "  - 02-counting\n  - 01-hello")
    assert only_problem(course) == "course.yaml:7: lesson '01-hello' is listed twice"


def test_version_as_a_number_says_quote_it(course: Path) -> None:
    edit(course / "course.yaml", 'version: "0.1"', "version: 0.1")
    assert only_problem(course) == (
        "course.yaml:3: 'version' in the course must be a string, not the number 0.1 "
        "(put it in quotes)"
    )


def test_missing_course_yaml(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="has no course.yaml; point --course at a course folder"):
        load_course(tmp_path)


def test_load_lesson_rejects_a_bad_id(course: Path) -> None:
    with pytest.raises(LoadError, match="must look like NN-slug"):
        load_lesson(course, "hello")


# ---------------------------------------------------------------- all problems at once


def test_every_problem_of_a_course_is_collected(course: Path) -> None:
    edit(course / LESSON, "    points: 2", "    points: two")
    (course / "lessons/02-counting/counting.md").unlink()
    edit(course / "course.yaml", "  - 02-counting", "  - 02-counting\n  - 03-maps")
    with pytest.raises(LoadError) as info:
        load_course(course)
    found = [str(e) for e in info.value.errors]
    assert len(found) == 3
    assert str(info.value) == found[0]
    assert any("'points' in check 'hello-line' must be an integer" in f for f in found)
    assert any("counting.md does not exist" in f for f in found)
    assert any("lesson '03-maps' is listed" in f for f in found)


def test_errors_have_where_and_message(course: Path) -> None:
    edit(course / LESSON, "    points: 2", "    points: two")
    with pytest.raises(LoadError) as info:
        load_course(course)
    err = info.value
    assert err.where.file == LESSON
    assert err.where.line == line_of(course / LESSON, "points: two")
    assert str(err) == f"{err.where}: {err.message}"


# ---------------------------------------------------------------- challenges


def _add_challenge(course: Path, prerequisites: str) -> Path:
    shutil.copytree(course / "lessons" / "02-counting", course / "lessons" / "01c-hello-more")
    path = course / "lessons" / "01c-hello-more" / "lesson.yaml"
    edit(path, "title: Counting\n", f"title: More hello\n{prerequisites}")
    edit(course / "course.yaml", "  - 01-hello\n", "  - 01-hello\n  - 01c-hello-more\n")
    return path


def test_a_challenge_is_found_by_its_code_and_builds_on_its_lesson(course: Path) -> None:
    _add_challenge(course, "prerequisites: [01-hello]\n")
    loaded = load_course(course)
    assert loaded.lesson("01c").id == "01c-hello-more" and loaded.lesson("01").id == "01-hello"
    assert loaded.lesson("1").id == "01-hello" and loaded.lesson("hello-more").challenge


def test_a_challenge_must_name_its_lesson_among_its_prerequisites(course: Path) -> None:
    _add_challenge(course, "")
    assert only_problem(course) == (
        "lessons/01c-hello-more/lesson.yaml:1: 01c-hello-more is a challenge of 01-hello: "
        "name it in prerequisites, so the course lists the challenge after the lesson"
    )
