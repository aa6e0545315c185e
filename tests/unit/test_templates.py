"""runner.templates: one syntax for a run's args/command and a check's params,
checked at load time (file:line) and filled with one error type."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from recordings import PID, judge, make_ctx, make_run, truth

from checks.context import TemplateError as ChecksTemplateError
from runner import templates
from runner.course.load import LoadError, load_course
from runner.model import Recording, Run
from runner.templates import TemplateError, expand, expand_text, lookup

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "courses"
LESSON = "lessons/01-hello/lesson.yaml"


def values(**overrides: object) -> dict[str, object]:
    found = {
        "workload": truth(opens=3, counts={"read": 2}),
        "run": make_run(["x"], run_id="main"),
        "host": {"cpus": 2, "kernel_release": "6.18"},
        "runs": {"tests": make_run([], run_id="tests", exit_code=1)},
    }
    found.update(overrides)
    return found


# ---------------------------------------------------------------- filling


def test_a_whole_placeholder_keeps_the_values_type() -> None:
    assert expand("{workload.pid}", values()) == PID
    assert expand("{workload.facts.opens}", values()) == 3
    assert expand("{run.duration}", values()) == 5.2
    assert expand("{workload.facts.counts}", values()) == {"read": 2}


def test_placeholders_inside_text_become_text() -> None:
    assert expand("pid={workload.pid} cpus={host.cpus}", values()) == f"pid={PID} cpus=2"
    assert expand_text("{workload.pid}", values()) == str(PID)  # argv items are text
    assert expand_text("{x}", {"x": [12, 13]}) == "12,13"


def test_lists_and_mappings_are_filled_inside() -> None:
    got = expand({"where": {"pid": "{workload.pid}"}, "n": ["{host.cpus}", 4], "k": 1}, values())
    assert got == {"where": {"pid": PID}, "n": [2, 4], "k": 1}


def test_runs_are_read_by_id_including_dashes() -> None:
    runs = {"with-filter": make_run([], run_id="with-filter", exit_code=3)}
    assert expand("{runs.with-filter.exit_code}", values(runs=runs)) == 3


def test_a_missing_name_is_one_sentence_naming_the_template() -> None:
    with pytest.raises(TemplateError) as info:
        lookup("workload.facts.opnes", values())
    message = str(info.value)
    assert message == (
        "The template {workload.facts.opnes} cannot be filled: {workload.facts} has no "
        "'opnes' (it has 'opens' or 'counts')."
    )
    assert "\n" not in message and message.count(". ") == 0


def test_an_absent_root_says_why() -> None:
    with pytest.raises(TemplateError, match=r"^The template \{workload.pid\} cannot be filled: "
                       r"this run started no workload\.$"):  # fmt: skip
        expand("{workload.pid}", values(workload=None))


def test_an_unrecorded_value_and_an_unknown_root_are_errors() -> None:
    run = Run(id="main", exit_code=None, signal=9)
    with pytest.raises(TemplateError, match=r"\{run.exit_code\} was not recorded"):
        lookup("run.exit_code", values(run=run))
    with pytest.raises(TemplateError, match=r"names nothing here \(it can use \{workload\}"):
        lookup("python", values())


def test_methods_and_private_attributes_are_not_fields() -> None:
    for dotted in ("run.err", "run.__class__", "workload._x"):
        with pytest.raises(TemplateError):
            lookup(dotted, values())


def test_the_error_is_a_value_error_and_the_checks_name_is_the_same_type() -> None:
    assert issubclass(TemplateError, ValueError)
    assert ChecksTemplateError is TemplateError


def test_a_check_kind_gets_the_sentence_as_its_error_verdict() -> None:
    ctx = make_ctx(make_run(["pid=1"]))  # no workload recorded
    verdict = judge("output.line", {"pattern": "pid={workload.pid}"}, ctx)
    assert verdict.status == "error"
    assert verdict.message == (
        "The template {workload.pid} cannot be filled: this run started no workload."
    )


def test_context_fills_from_the_recording() -> None:
    ctx = make_ctx(make_run(["x"], workload=truth(opens=3)))
    ctx.recording.host["cpus"] = 4
    assert ctx.expand(["{workload.facts.opens}", "{host.cpus}"]) == [3, 4]
    assert ctx.lookup("run.id") == "main"
    assert isinstance(ctx.recording, Recording)


# ---------------------------------------------------------------- at load time


def test_roots_are_data_per_place() -> None:
    assert templates.roots_for("run") == ["python", "probe", "dir", "workload", "host", "runs"]
    assert templates.roots_for("check") == ["workload", "run", "host", "runs"]


@pytest.mark.parametrize(
    ("text", "place", "problem"),
    [
        ("{wokload.pid}", "run", "uses an unknown template {wokload.pid} (did you mean "
         "'workload'?)"),
        ("{zzz}", "check", "uses an unknown template {zzz} (templates start with workload, run, "
         "host or runs)"),
        ("{python}", "check", "uses {python}, which a check's params cannot use (they can use "
         "{workload}, {run}, {host} or {runs})"),
        ("{run.duration}", "run", "uses {run.duration}, which a run's args and command cannot use "
         "(they can use {python}, {probe}, {dir}, {workload}, {host} or {runs})"),
        ("{workload.pid", "run", "has a malformed template '{workload.pid' (write a name and "
         "dotted parts in braces, such as {workload.pid})"),
        ("x{workload..pid}", "check", "has a malformed template '{workload..pid}' (write a name "
         "and dotted parts in braces, such as {workload.pid})"),
        ("{runs.tset.exit_code}", "check", "uses {runs.tset.exit_code}, but there is no run "
         "'tset' to read (did you mean 'test'?)"),
    ],
)  # fmt: skip
def test_problems_found_at_load_time(text: str, place: templates.Place, problem: str) -> None:
    assert templates.problems(text, place, runs=["main", "test"]) == [problem]


def test_regex_and_c_braces_are_not_templates() -> None:
    for text in (r"^\d{3}$", r"x{2,}", "struct s { int pid; }", "{ printf(); }", "{probe}"):
        assert templates.problems(text, "run") == [], text


@pytest.fixture
def course(tmp_path: Path) -> Path:
    dest = tmp_path / "course"
    shutil.copytree(FIXTURES / "good", dest)
    return dest


def _only_problem(course: Path) -> str:
    with pytest.raises(LoadError) as info:
        load_course(course)
    assert len(info.value.errors) == 1, [str(e) for e in info.value.errors]
    return str(info.value.errors[0])


def _edit(path: Path, old: str, new: str) -> int:
    """Replace `old` once and return the line it was on."""
    text = path.read_text()
    assert old in text, f"fixture changed: {old!r} not in {path}"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1))
    return line


def test_load_rejects_an_unknown_root_with_file_and_line(course: Path) -> None:
    line = _edit(course / LESSON, '"{workload.pid}"', '"{wokload.pid}"')
    assert _only_problem(course) == (
        f"{LESSON}:{line}: item 3 of 'args' in run 'main' uses an unknown template "
        "{wokload.pid} (did you mean 'workload'?)"
    )


def test_load_rejects_a_check_template_a_check_cannot_fill(course: Path) -> None:
    line = _edit(course / LESSON, "min: 1}", 'min: "{python}"}')
    assert _only_problem(course) == (
        f"{LESSON}:{line}: 'min' in the params of check 'hello-line' uses {{python}}, which a "
        "check's params cannot use (they can use {workload}, {run}, {host} or {runs})"
    )


def test_load_rejects_a_workload_template_when_the_run_has_none(course: Path) -> None:
    line = _edit(course / LESSON, "command: [", 'command: ["{workload.pid}", ')
    assert _only_problem(course) == (
        f"{LESSON}:{line}: item 1 of 'command' in run 'tests' uses {{workload.pid}}, but "
        "run 'tests' has no workload"
    )
