"""Kernel drift in function names (runner/live/ksyms.py and lesson.yaml's
`kernel_functions`): 7.0 renamed do_filp_open to do_file_open, which the
kernel matrix found on Debian's 7.2. The runner records the name the kernel
has as host.kernel_functions.<role>; runs' args and checks' params use it,
so a probe on 7.2 is asked for, and judged on, do_file_open."""

from __future__ import annotations

from pathlib import Path

from runner.course.load import load_course
from runner.grade import grade
from runner.live import ksyms
from runner.model import Line, Recording, Run

REPO = Path(__file__).resolve().parents[2]
KALLSYMS = """\
0000000000000000 T do_sys_openat2
0000000000000000 t do_file_open
0000000000000000 D some_data_symbol
0000000000000000 t path_openat.isra.0
0000000000000000 t nf_hook_slow	[nf_tables]
"""


def test_text_symbols_are_the_functions_only(tmp_path: Path) -> None:
    path = tmp_path / "kallsyms"
    path.write_text(KALLSYMS)
    names = ksyms.text_symbols(path)
    assert names == {"do_sys_openat2", "do_file_open", "path_openat.isra.0", "nf_hook_slow"}
    assert ksyms.text_symbols(tmp_path / "missing") is None


def test_the_first_name_the_kernel_has_is_chosen_else_the_first() -> None:
    alternatives = {"open": ["do_filp_open", "do_file_open"], "gone": ["a_fn", "b_fn"]}
    chosen = ksyms.choose(alternatives, {"do_file_open", "do_filp_open"})
    assert chosen["open"] == "do_filp_open"  # the order is the lesson's preference
    assert ksyms.choose(alternatives, {"do_file_open"}) == {"open": "do_file_open", "gone": "a_fn"}
    assert ksyms.choose(alternatives, None)["open"] == "do_filp_open"


def test_this_kernel_lists_the_functions_of_kallsyms() -> None:
    names = ksyms.text_symbols()
    assert names is not None and "vfs_read" in names  # every kernel of the matrix has it


def _lesson_01_run(function: str, kernel_has: str) -> Recording:
    """A recording of lesson 01's main run printing lines for `function` on a
    kernel whose open function is `kernel_has`."""
    lines = [Line(0.1, "out", f"Attached kprobe to: {function}")]
    lines += [Line(0.2 + i / 10, "out", f"[42] ebpfc-open called {function}") for i in range(3)]
    run = Run(id="main", argv=["probe.py", kernel_has, "-d", "0"], lines=lines, exit_code=0)
    return Recording(
        lesson="01-hello-kprobe",
        probe_path="probe.py",
        probe_source="",
        host={"kernel_functions": {"open": kernel_has}},
        runs={"main": run},
    )


def _status(recording: Recording, check_id: str) -> str:
    lesson = load_course(REPO).lesson("01-hello-kprobe")
    report = grade(lesson, recording)
    return next(c.status for c in report.checks if c.id == check_id)


def test_lesson_01_asks_for_and_judges_the_function_this_kernel_has() -> None:
    lesson = load_course(REPO).lesson("01-hello-kprobe")
    assert lesson.kernel_functions == {"open": ["do_filp_open", "do_file_open"]}
    assert lesson.run_spec("main").args[0] == "{host.kernel_functions.open}"
    assert _status(_lesson_01_run("do_file_open", "do_file_open"), "banner") == "pass"


def test_a_banner_for_the_old_name_fails_on_a_kernel_that_renamed_it() -> None:
    assert _status(_lesson_01_run("do_filp_open", "do_file_open"), "banner") == "fail"


def test_a_recording_from_before_the_alternatives_is_judged_on_the_first_name() -> None:
    recording = _lesson_01_run("do_filp_open", "do_filp_open")
    recording.host = {}
    assert _status(recording, "banner") == "pass"
