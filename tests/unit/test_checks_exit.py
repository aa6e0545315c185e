"""exit.code / exit.stderr on recorded runs."""

import signal

from recordings import judge, make_ctx, make_run

BAD_FUNC = "Failed to attach kprobe to nonexistent_function_xyz123: not traceable"


def test_code_equals():
    assert judge("exit.code", {"equals": 0}, make_ctx(make_run())).status == "pass"
    v = judge("exit.code", {"equals": 0}, make_ctx(make_run(err=["boom"], exit_code=1)))
    assert v.status == "fail" and "exit code 1" in v.message and "'boom'" in v.message


def test_nonzero_passes_on_a_clear_failure_and_fails_on_success():
    ctx = make_ctx(make_run(err=[BAD_FUNC], exit_code=1))
    assert judge("exit.code", {"nonzero": True}, ctx).status == "pass"
    assert judge("exit.code", {"nonzero": True}, make_ctx(make_run())).status == "fail"


def test_killed_by_a_signal_is_not_a_nonzero_exit():
    run = make_run(exit_code=None, signal=int(signal.SIGKILL))
    v = judge("exit.code", {"nonzero": True}, make_ctx(run))
    assert v.status == "fail" and "SIGKILL" in v.message


def test_code_params_need_exactly_one_of_equals_or_nonzero():
    ctx = make_ctx(make_run())
    assert judge("exit.code", {}, ctx).status == "error"
    assert judge("exit.code", {"equals": 0, "nonzero": True}, ctx).status == "error"
    assert judge("exit.code", {"nonzero": False}, ctx).status == "error"


def test_stderr_names_the_function():
    ctx = make_ctx(make_run(err=[BAD_FUNC], exit_code=1))
    assert judge("exit.stderr", {"pattern": "nonexistent_function_xyz123"}, ctx).status == "pass"


def test_stderr_only_on_stdout_fails():
    ctx = make_ctx(make_run(out=[BAD_FUNC], err=["Traceback (most recent call last):"]))
    v = judge("exit.stderr", {"pattern": "nonexistent_function_xyz123"}, ctx)
    assert v.status == "fail" and "Traceback" in v.message


def test_stderr_bad_regex_is_an_error():
    assert judge("exit.stderr", {"pattern": "(?P<"}, make_ctx(make_run())).status == "error"
