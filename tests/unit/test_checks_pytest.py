"""pytest.workflow on recorded command runs (the BUG-026 class)."""

from pathlib import Path

from recordings import judge, make_ctx, make_lesson, make_run

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
    assert v.status == "fail" and "1 learner test failed" in v.message
    assert "test_format: AssertionError" in v.message
    assert "skip" not in v.message  # the advice fits the failure
    out = ["ERROR tests/test_probe.py", "========= 1 error in 0.12s =========="]
    assert judge("pytest.workflow", {}, pytest_run(*out, exit_code=2)).status == "fail"


def test_too_few_tests_fail():
    v = judge("pytest.workflow", {"min_tests": 3}, pytest_run("2 passed in 0.1s"))
    assert v.status == "fail" and "at least 3 passing tests" in v.message


def test_no_summary_is_a_fail_when_pytest_broke_and_an_error_otherwise():
    v = judge(
        "pytest.workflow", {}, pytest_run("/usr/bin/python: No module named pytest", exit_code=1)
    )
    assert v.status == "fail" and "exit code 1" in v.message
    assert judge("pytest.workflow", {}, pytest_run("hello")).status == "error"


def test_command_shown_is_the_lessons_template(tmp_path):
    spec = RunSpec(id="tests", command=["{python}", "-m", "pytest", "-rA", "tests"])
    ctx = pytest_run("1 skipped in 0.01s")
    ctx.lesson = make_lesson(tmp_path, "", [spec])
    v = judge("pytest.workflow", {}, ctx)
    assert "`python -m pytest -rA tests`" in v.message


def test_bad_params_are_an_error():
    assert (
        judge("pytest.workflow", {"min_tests": 0}, pytest_run("1 passed in 0.1s")).status == "error"
    )


# Real `python -m pytest -q tests` output (tests/unit/data/pytest, paths made generic).
DATA = Path(__file__).parent / "data" / "pytest"


def recorded(name, exit_code, tmp_path=None):
    ctx = pytest_run(*(DATA / f"{name}.txt").read_text().splitlines(), exit_code=exit_code)
    if tmp_path is not None:
        spec = RunSpec(id="tests", command=["{python}", "-m", "pytest", "-q", "tests"])
        ctx.lesson = make_lesson(tmp_path, "", [spec])
    return ctx


def test_a_failing_test_is_named_with_its_reason(tmp_path):
    v = judge("pytest.workflow", {}, recorded("failed", 1, tmp_path))
    assert v.status == "fail"
    assert "2 learner tests failed: test_sched_switch_gets_its_own_program: AssertionError" in (
        v.message
    )
    assert "assert 'ctx switch: 17 -> 0' == 'context switch: 17 -> 0'" in v.message
    assert "test_switch_line" in v.message and "`./course test 99`" in v.message
    assert "collected no tests" not in v.message and "skip" not in v.message
    assert len(v.observed["failures"]) == 2


def test_a_missing_tests_folder_is_named():
    # BUG: this said "collected no tests ... check that the test file is named test_*.py"
    v = judge("pytest.workflow", {}, recorded("missing", 4))
    assert v.status == "fail"
    assert v.message.startswith("There is no tests folder next to the probe")
    assert "test_*.py" not in v.message and v.observed["missing"] == "tests"


def test_a_probe_that_exits_at_import_is_named_with_its_line(tmp_path):
    # BUG: pytest's INTERNALERROR (SystemExit while importing) read as "collected no tests"
    v = judge("pytest.workflow", {}, recorded("internal", 3, tmp_path))
    assert v.status == "fail"
    assert "probe.py line 203: `import sys; sys.exit(main())` raised SystemExit: 2" in v.message
    assert 'if __name__ == "__main__":' in v.message and "`./course test 99`" in v.message
    assert "test_*.py" not in v.message


def test_a_probe_that_raises_at_import_is_named_with_its_line():
    v = judge("pytest.workflow", {}, recorded("import", 2))
    assert v.status == "fail"
    assert "could not import tests/test_probe.py" in v.message
    assert "RuntimeError: boom at import" in v.message
    assert 'probe.py line 203: `raise RuntimeError("boom at import")`' in v.message


def test_some_skipped_tests_fail_even_when_the_rest_pass():
    v = judge("pytest.workflow", {}, pytest_run("..s", "2 passed, 1 skipped in 0.1s"))
    assert v.status == "fail" and "1 skipped" in v.message and "every one must run" in v.message
