"""output.line / output.absent / output.every on recorded runs."""

from recordings import judge, make_ctx, make_run

OUT = ["Attached kprobe to: do_sys_openat2", "call 1", "call 2", "Kprobe detached. Exiting."]


def ctx(out=OUT, err=()):
    return make_ctx(make_run(out, err))


def test_line_passes_when_enough_lines_match():
    v = judge("output.line", {"pattern": r"^call \d+$", "min": 2}, ctx())
    assert v.status == "pass"
    assert v.observed["matching"] == 2


def test_line_fails_when_too_few_match_and_says_what_was_seen():
    v = judge("output.line", {"pattern": r"^call \d+$", "min": 3}, ctx())
    assert v.status == "fail"
    assert "at least 3 lines" in v.message and "saw 2" in v.message
    assert v.expected["min"] == 3 and v.observed["matching"] == 2


def test_line_fails_above_max():
    v = judge("output.line", {"pattern": "call", "max": 1}, ctx())
    assert v.status == "fail" and "at most 1 line" in v.message


def test_line_reads_the_chosen_stream():
    c = ctx(out=["nothing"], err=["Attached kprobe to: x"])
    assert judge("output.line", {"pattern": "^Attached"}, c).status == "fail"
    assert judge("output.line", {"pattern": "^Attached", "stream": "err"}, c).status == "pass"
    assert judge("output.line", {"pattern": "^Attached", "stream": "any"}, c).status == "pass"


def test_line_message_stays_short_on_a_flood():
    flood = [f"noise {i} " + "x" * 500 for i in range(10_000)]
    v = judge("output.line", {"pattern": "^Attached"}, ctx(out=flood))
    assert v.status == "fail" and len(v.message) < 400


def test_bad_regex_is_an_error_not_a_raise():
    v = judge("output.line", {"pattern": "call ("}, ctx())
    assert v.status == "error" and "does not compile" in v.message


def test_bad_params_are_an_error():
    assert judge("output.line", {"pattern": "x", "min": "two"}, ctx()).status == "error"
    assert judge("output.line", {"pattern": "x", "colour": "red"}, ctx()).status == "error"
    assert judge("output.line", {}, ctx()).status == "error"
    assert judge("output.line", {"pattern": "x", "stream": "stdout"}, ctx()).status == "error"
    assert judge("output.line", {"pattern": "x", "min": 3, "max": 1}, ctx()).status == "error"


def test_template_that_cannot_be_filled_is_an_error():
    v = judge("output.line", {"pattern": "pid={workload.pid}"}, ctx())
    assert v.status == "error" and "template" in v.message


def test_absent_passes_and_fails():
    assert judge("output.absent", {"pattern": "Traceback"}, ctx()).status == "pass"
    v = judge("output.absent", {"pattern": "unknown"}, ctx(out=["pid=1 comm=unknown"]))
    assert v.status == "fail" and "pid=1 comm=unknown" in v.message


def test_every_passes_with_ignored_banner():
    params = {"pattern": r"^call \d+$", "ignore": ["^Attached", "^Kprobe detached"]}
    assert judge("output.every", params, ctx()).status == "pass"


def test_every_fails_on_a_stray_line():
    v = judge("output.every", {"pattern": r"^call \d+$", "ignore": ["^Attached"]}, ctx())
    assert v.status == "fail" and "1 of 3" in v.message and "Kprobe detached" in v.message


def test_every_fails_when_nothing_matched():
    v = judge("output.every", {"pattern": "call", "ignore": [".*"]}, ctx())
    assert v.status == "fail" and "at least 1 line" in v.message


def test_every_bad_ignore_regex_is_an_error():
    assert judge("output.every", {"pattern": "x", "ignore": ["["]}, ctx()).status == "error"


def test_line_says_when_the_output_cap_dropped_lines():
    run = make_run(["noise"] * 3, stdout_lines=50_000, dropped=49_997)
    v = judge("output.line", {"pattern": "^Detached"}, make_ctx(run))
    assert v.status == "fail" and "output cap dropped 49997 lines" in v.message


# A traceback as Python prints it, ending in `last`.
def traceback(last, *, before=()):
    return [
        *before,
        "Traceback (most recent call last):",
        '  File "/work/probe.py", line 61, in <lambda>',
        "    bpf['events'].open_ring_buffer(lambda ctx, data, size: print(line(data)))",
        "                                                             ^^^^^^^^^^",
        last,
    ]


def test_no_traceback_passes_on_a_clean_stderr():
    v = judge("output.no_traceback", {}, ctx(err=["Detaching...", "warning: something"]))
    assert v.status == "pass" and v.observed["tracebacks"] == 0


def test_no_traceback_fails_on_a_crash_and_names_the_exception():
    err = traceback("NameError: name 'ev' is not defined")
    v = judge("output.no_traceback", {}, make_ctx(make_run(OUT, err, signals_sent=["INT"])))
    assert v.status == "fail" and "NameError: name 'ev' is not defined" in v.message


def test_no_traceback_forgives_the_runners_ctrl_c_inside_a_callback():
    # bcc's idiom: Ctrl+C landing inside a ctypes callback prints this, and the
    # probe goes on; it is the runner's stop, not the learner's bug.
    err = traceback(
        "KeyboardInterrupt",
        before=["Exception ignored on calling ctypes callback function: <function <lambda>>"],
    )
    v = judge("output.no_traceback", {}, make_ctx(make_run(OUT, err, signals_sent=["INT"])))
    assert v.status == "pass" and "1 KeyboardInterrupt" in v.message


def test_no_traceback_does_not_forgive_an_interrupt_the_runner_never_sent():
    err = traceback("KeyboardInterrupt")
    v = judge("output.no_traceback", {}, make_ctx(make_run(OUT, err, signals_sent=[])))
    assert v.status == "fail" and "KeyboardInterrupt" in v.message


def test_no_traceback_judges_each_of_chained_tracebacks():
    err = [
        *traceback("KeyboardInterrupt"),
        "",
        "During handling of the above exception, another exception occurred:",
        "",
        *traceback("ValueError: I/O operation on closed file."),
    ]
    v = judge("output.no_traceback", {}, make_ctx(make_run(OUT, err, signals_sent=["INT"])))
    assert v.status == "fail" and "ValueError" in v.message and "1 traceback" in v.message
