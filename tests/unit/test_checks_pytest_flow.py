"""pytest.workflow on recorded command runs (the BUG-026 class)."""

from recordings import judge, make_ctx, make_run

from runner.model import RunSpec

ARGV = ["/work/main/.venv/bin/python", "-m", "pytest", "-q", "tests"]


def pytest_run(*out, exit_code=0):
    return make_ctx(make_run(list(out), run_id="tests", argv=ARGV, exit_code=exit_code))


def test_tests_that_ran_and_passed_pass():
    v = judge("pytest.workflow", {"min_tests": 3}, pytest_run("...", "3 passed in 0.04s"))
    assert v.status == "pass" and "ran 3 tests" in v.message
    assert v.observed["passed"] == 3


def test_all_skipped_fails_with_the_way_out():
    v = judge("pytest.workflow", {}, pytest_run("sss", "3 skipped in 0.01s"))
    assert v.status == "fail"
    assert "remove the skip marker line" in v.message
    assert "`python -m pytest -q tests`" in v.message


def test_nothing_collected_fails():
    v = judge("pytest.workflow", {}, pytest_run("no tests ran in 0.01s", exit_code=5))
    assert v.status == "fail" and "collected no tests" in v.message
    v = judge("pytest.workflow", {}, pytest_run("2 deselected in 0.01s", exit_code=5))
    assert v.status == "fail"


def test_failures_and_collection_errors_fail():
    v = judge(
        "pytest.workflow",
        {},
        pytest_run(
            "F..",
            "FAILED tests/test_probe.py::test_format - AssertionError",
            "1 failed, 2 passed in 0.1s",
            exit_code=1,
        ),
    )
    assert v.status == "fail" and "1 failing test" in v.message and "test_format" in v.message
    out = ["ERROR tests/test_probe.py", "========= 1 error in 0.12s =========="]
    assert judge("pytest.workflow", {}, pytest_run(*out, exit_code=2)).status == "fail"


def test_too_few_tests_fail():
    v = judge("pytest.workflow", {"min_tests": 3}, pytest_run("1 passed, 2 skipped in 0.1s"))
    assert v.status == "fail" and "at least 3 passing tests" in v.message


def test_no_summary_is_a_fail_when_pytest_broke_and_an_error_otherwise():
    v = judge(
        "pytest.workflow", {}, pytest_run("/usr/bin/python: No module named pytest", exit_code=1)
    )
    assert v.status == "fail" and "exit code 1" in v.message
    assert judge("pytest.workflow", {}, pytest_run("hello")).status == "error"


def test_command_shown_is_the_lessons_template(tmp_path):
    from recordings import make_lesson

    spec = RunSpec(id="tests", command=["{python}", "-m", "pytest", "-rA", "tests"])
    ctx = pytest_run("1 skipped in 0.01s")
    ctx.lesson = make_lesson(tmp_path, "", [spec])
    v = judge("pytest.workflow", {}, ctx)
    assert "`python -m pytest -rA tests`" in v.message


def test_bad_params_are_an_error():
    assert (
        judge("pytest.workflow", {"min_tests": 0}, pytest_run("1 passed in 0.1s")).status == "error"
    )
