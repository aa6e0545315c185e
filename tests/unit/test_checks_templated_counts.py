"""Counts may come from the ground truth: `min: "{host.cpus}"` is filled from
the recording, so one CPU line per online CPU is checkable on any machine."""

from recordings import judge, make_ctx, make_run

CPU_LINES = ["Collected 10 samples", "CPU 0: 4 samples", "CPU 1: 6 samples"]
PARAMS = {"pattern": r"^CPU \d+: \d+ samples$", "min": "{host.cpus}", "max": "{host.cpus}"}


def ctx(out, cpus):
    c = make_ctx(make_run(out))
    c.recording.host["cpus"] = cpus
    return c


def test_one_line_per_online_cpu_passes():
    assert judge("output.line", PARAMS, ctx(CPU_LINES, 2)).status == "pass"


def test_missing_cpu_line_fails():
    assert judge("output.line", PARAMS, ctx(CPU_LINES[:2], 2)).status == "fail"


def test_extra_cpu_line_fails():
    assert judge("output.line", PARAMS, ctx(CPU_LINES + ["CPU 2: 0 samples"], 2)).status == "fail"


def test_unknown_template_is_an_error_not_a_crash():
    c = make_ctx(make_run(CPU_LINES))  # no host.cpus recorded
    assert judge("output.line", PARAMS, c).status == "error"


def test_a_template_must_be_a_whole_placeholder():
    bad = dict(PARAMS, min="two")
    assert judge("output.line", bad, ctx(CPU_LINES, 2)).status == "error"
