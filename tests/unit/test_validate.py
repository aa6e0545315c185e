"""The author gate judges each case by what it must do."""

from pathlib import Path

from runner.model import CheckResult, CheckSpec, Lesson, Line, Recording, Report, Run, WrongVariant
from runner.validate import Case, cases, judge

LESSON = Lesson(
    id="99-t",
    number=99,
    slug="t",
    title="T",
    dir=Path("."),
    text=Path("README.md"),
    starter=Path("lessons/99-t/probe.py"),
    solution=Path("solutions/99-t/probe.py"),
    tests_dir=None,
    wrong=[WrongVariant(Path("solutions/99-t/wrong/w.py"), "banner")],
)


def report(**statuses: str) -> Report:
    results = [
        CheckResult(k, "k", s, f"{k} {s}", None, None, int(s == "pass"), 1)
        for k, s in statuses.items()
    ]
    status = "pass" if all(s == "pass" for s in statuses.values()) else "fail"
    return Report("99-t", status, sum(r.points for r in results), len(results), results)


def test_cases_cover_solution_starter_and_wrong_variants():
    assert [c.name for c in cases(LESSON)] == ["solution", "starter", "wrong/w.py"]


def test_solution_must_pass_everything():
    case = Case("solution", LESSON.solution)
    assert judge(LESSON, case, report(banner="pass", count="pass")).status == "pass"
    bad = judge(LESSON, case, report(banner="pass", count="fail"))
    assert bad.status == "fail" and "count" in bad.message


def test_a_failing_solution_says_how_its_step_ended():
    # The matrix keeps no recording: the message is what is left to diagnose.
    lesson = Lesson(**{**LESSON.__dict__, "checks": [CheckSpec("count", "k", run="main")]})
    run = Run(
        id="main",
        lines=[Line(0.1, "out", "Attached"), Line(3.0, "err", "Exception ignored ...")],
        stdout_lines=1,
        stderr_lines=1,
        signal=15,
        stop_reason="stopped",
        signals_sent=["INT", "TERM"],
    )
    recording = Recording(lesson="99-t", probe_path="", probe_source="", runs={"main": run})
    case = Case("solution", LESSON.solution)
    bad = judge(lesson, case, report(count="fail"), recording=recording)
    assert bad.message == (
        "the reference solution does not pass 'count': count fail (step 'main': stopped, "
        "killed by SIGTERM, after the runner sent INT+TERM, 1 stdout line; its last stderr "
        "line: 'Exception ignored ...')"
    )


def test_starter_must_fail_something():
    case = Case("starter", LESSON.starter)
    assert judge(LESSON, case, report(banner="fail", count="pass")).status == "pass"
    assert judge(LESSON, case, report(banner="pass", count="pass")).status == "fail"


def test_wrong_variant_must_fail_its_named_check():
    case = Case("wrong/w.py", LESSON.wrong[0].path, "banner")
    assert judge(LESSON, case, report(banner="fail", count="pass")).status == "pass"
    # failing some other check is not enough: the named check cannot catch it
    assert judge(LESSON, case, report(banner="pass", count="fail")).status == "fail"
    assert judge(LESSON, Case("wrong/x.py", Path("x"), "nope"), report(a="fail")).status == "error"


def test_unsupported_is_never_passed():
    rep = Report(
        "99-t",
        "unsupported",
        0,
        1,
        [CheckResult("banner", "k", "unsupported", "no kprobes", None, None, 0, 1)],
    )
    out = judge(LESSON, Case("solution", LESSON.solution), rep)
    assert out.status == "unsupported" and out.message == "no kprobes"


def test_steps_for_runs_everything_for_solution_and_starter_but_only_what_a_variant_needs():
    from runner.model import CheckSpec
    from runner.validate import runs_for

    lesson = Lesson(
        id="99-t",
        number=99,
        slug="t",
        title="T",
        dir=Path("."),
        text=Path("README.md"),
        starter=Path("p.py"),
        solution=Path("s.py"),
        tests_dir=None,
        checks=[
            CheckSpec(id="banner", kind="output.line", run="main"),
            CheckSpec(id="loops", kind="static.nested_loop"),
        ],
    )
    assert runs_for(lesson, Case("solution", Path("s.py"))) is None
    assert runs_for(lesson, Case("starter", Path("p.py"))) is None
    assert runs_for(lesson, Case("wrong/a.py", Path("a.py"), "banner")) == ["main"]
    assert runs_for(lesson, Case("wrong/b.py", Path("b.py"), "loops")) == []


def test_a_mistake_that_shows_only_without_a_feature_is_unsupported_where_it_exists():
    # lesson 00's version guess is right wherever kprobes exist (6.12 in the matrix)
    case = Case("wrong/guess.py", Path("guess.py"), "banner", shows_without="kprobes")
    has = {"features": {"kprobes": {"ok": True}}}
    lacks = {"features": {"kprobes": {"ok": False, "reason": "no kprobes"}}}
    where_it_has = judge(LESSON, case, report(banner="pass"), has)
    assert where_it_has.status == "unsupported" and "kprobes" in where_it_has.message
    # without kprobes the mistake shows: passing is the check's defect again
    assert judge(LESSON, case, report(banner="pass"), lacks).status == "fail"
    assert judge(LESSON, case, report(banner="pass")).status == "fail"  # no facts: no excuse
    assert judge(LESSON, case, report(banner="fail"), has).status == "pass"
