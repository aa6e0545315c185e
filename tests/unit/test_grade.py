"""Grading is a pure function of a recording: verdicts decided by the run
itself (unsupported, not ready, timed out, runner error) come before kinds."""

from pathlib import Path

import checks
from runner.grade import grade, overall_status
from runner.model import CheckSpec, Lesson, Line, Recording, Run, RunSpec, Verdict


@checks.kind("test.grade.lines", {"properties": {"min": {"type": "integer"}}})
def _at_least(params, ctx):
    n = len(ctx.run.out())
    ok = n >= params["min"]
    return Verdict("pass" if ok else "fail", f"saw {n} lines", params["min"], n)


@checks.kind("test.grade.boom")
def _boom(params, ctx):
    raise RuntimeError("kaboom")


def lesson(*specs: CheckSpec) -> Lesson:
    return Lesson(
        id="99-test",
        number=99,
        slug="test",
        title="Test",
        dir=Path("."),
        text=Path("README.md"),
        starter=Path("probe.py"),
        solution=None,
        tests_dir=None,
        runs=[RunSpec(id="main", ready="^Attached", ready_timeout=5, timeout=9)],
        checks=list(specs),
    )


def recording(**run_fields) -> Recording:
    run_fields.setdefault("ready", run_fields.get("stop_reason") != "not-ready")
    run = Run(id="main", **run_fields)
    return Recording(lesson="99-test", probe_path="p.py", probe_source="", runs={"main": run})


LINES = [Line(0.1, "out", "a"), Line(0.2, "out", "b")]
SPEC = CheckSpec(id="two", kind="test.grade.lines", params={"min": 2}, points=3, hint="h")


def test_pass_awards_points_and_hides_hint():
    report = grade(lesson(SPEC), recording(lines=LINES, stop_reason="exited"))
    assert report.status == "pass"
    assert (report.score, report.max_score) == (3, 3)
    assert report.checks[0].hint == ""


def test_fail_awards_nothing_and_shows_hint():
    report = grade(lesson(SPEC), recording(lines=LINES[:1], stop_reason="exited"))
    assert report.status == "fail"
    assert report.score == 0
    assert report.checks[0].hint == "h"
    assert (report.checks[0].expected, report.checks[0].observed) == (2, 1)


def test_not_ready_is_a_timeout_naming_the_pattern():
    report = grade(lesson(SPEC), recording(lines=LINES, stop_reason="not-ready"))
    assert report.status == "timeout"
    assert "^Attached" in report.checks[0].message


def test_wall_clock_limit_is_a_timeout():
    report = grade(lesson(SPEC), recording(lines=LINES, stop_reason="timeout"))
    assert report.checks[0].status == "timeout"
    assert "9 s" in report.checks[0].message


def test_unsupported_run_is_unsupported_not_failed():
    report = grade(lesson(SPEC), recording(unsupported="no kprobes here"))
    assert report.status == "unsupported"
    assert report.checks[0].message == "no kprobes here"


def test_runner_error_is_error():
    report = grade(lesson(SPEC), recording(error="sudo needs a password"))
    assert report.checks[0].status == "error"


def test_missing_run_and_unknown_kind_are_errors():
    spec_other = CheckSpec(id="x", kind="test.grade.lines", params={"min": 1}, run="other")
    spec_unknown = CheckSpec(id="y", kind="no.such.kind")
    report = grade(lesson(spec_other, spec_unknown), recording(lines=LINES))
    assert [c.status for c in report.checks] == ["error", "error"]


def test_crashing_kind_is_contained():
    spec = CheckSpec(id="b", kind="test.grade.boom")
    report = grade(lesson(spec, SPEC), recording(lines=LINES, stop_reason="exited"))
    assert [c.status for c in report.checks] == ["error", "pass"]
    assert "kaboom" in report.checks[0].message


def test_overall_status_order():
    from runner.model import CheckResult

    def r(status):
        return CheckResult("i", "k", status, "", None, None, 0, 1)

    assert overall_status([r("pass"), r("fail")]) == "fail"
    assert overall_status([r("fail"), r("timeout")]) == "timeout"
    assert overall_status([r("error"), r("unsupported")]) == "unsupported"
    assert overall_status([]) == "error"


def test_recording_round_trips_through_json():
    import json

    from runner.model import WorkloadTruth

    rec = recording(
        lines=LINES,
        stop_reason="exited",
        workload=WorkloadTruth("opens", 5, 6, "ebpfc-x", facts={"opens": 3}),
    )
    again = Recording.from_dict(json.loads(json.dumps(rec.to_dict())))
    assert again == rec


def test_probe_that_ends_before_ready_fails_with_its_exit_status():
    report = grade(
        lesson(SPEC), recording(lines=LINES, stop_reason="exited", exit_code=1, ready=False)
    )
    check = report.checks[0]
    assert check.status == "fail"
    assert "exit status 1" in check.message and "^Attached" in check.message


def test_run_failed_reads_only_the_checks_of_that_run():
    from runner.grade import run_failed

    other = CheckSpec(id="other", kind="test.grade.lines", params={"min": 9}, run="later")
    both = lesson(SPEC, other)
    passing = recording(lines=LINES, stop_reason="exited")
    assert run_failed(both, passing, "main") is False  # "other" reads another run
    failing = recording(lines=LINES[:1], stop_reason="exited")
    assert run_failed(both, failing, "main") is True
    assert run_failed(both, passing, "no-such-run") is False
