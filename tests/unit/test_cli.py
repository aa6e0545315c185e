"""The `course` CLI without root or BPF: usage errors, re-grading recorded
runs, hints, solutions, reset, list, and where --course/--workspace may go.

Host detection loads BPF programs, so tests that reach it replace
`runner.live.host.detect` with fixed facts; the VM cannot boot in a unit test,
so the VM tests replace `runner.live.vm`'s entry points and check the CLI's use
of them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner import cli
from runner.course.load import load_course
from runner.grade import grade
from runner.model import Recording
from runner.progress import Progress

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "courses" / "cli"
COURSE_BIN = Path(sys.executable).parent / "course"
MARKER = "/tmp/ebpfc-wl-test/ebpfc-marker-0123abcd"
PID = 4242
REPORT_KEYS = {"version", "lesson", "status", "score", "max_score", "checks"}
CHECK_KEYS = {"id", "kind", "status", "message", "expected", "observed", "points"}
HOST = {
    "kernel_release": "6.18.0-test",
    "features": {
        "tracepoints": {"ok": True, "reason": ""},
        "kprobes": {"ok": False, "reason": "this kernel was built without CONFIG_KPROBES"},
    },
}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    return tmp_path / "ws"


@pytest.fixture
def fake_host(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Fixed host facts instead of loading BPF programs to find them out."""
    monkeypatch.setattr("runner.live.host.detect", lambda **_: json.loads(json.dumps(HOST)))
    return HOST


def course(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run `course ARGV` in-process; (exit code, stdout, stderr)."""
    try:
        code = cli.main([str(a) for a in argv])
    except SystemExit as exc:  # argparse's own exits (--help, bad options)
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def base(workspace: Path, course_dir: Path = FIXTURE) -> list[str]:
    return ["--course", str(course_dir), "--workspace", str(workspace)]


def one_sentence_error(err: str) -> None:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("course: ")


def recording(
    events: int = 3, summary: int | None = 3, stderr: tuple[str, ...] = (), exit_code: int = 0
) -> dict:
    """A recorded run of lesson 01-opens, written by hand."""
    out = ["Attached to syscalls:sys_enter_openat"]
    out += [f"open pid={PID} file={MARKER}"] * events
    if summary is not None:
        out.append(f"Detached after {summary} events.")
    lines = [{"t": i / 100, "stream": "out", "text": text} for i, text in enumerate(out)]
    lines += [{"t": 1.0, "stream": "err", "text": text} for text in stderr]
    return {
        "version": 1,
        "lesson": "01-opens",
        "probe_path": "/home/learner/ebpf-course/01-opens/probe.py",
        "probe_source": "print('hello')\n",
        "host": {},
        "runs": {
            "main": {
                "id": "main",
                "argv": ["/usr/bin/python3", "probe.py", str(PID)],
                "lines": lines,
                "stdout_lines": len(out),
                "stderr_lines": len(stderr),
                "exit_code": exit_code,
                "duration": 1.5,
                "ready": True,
                "ready_at": 0.0,
                "stop_reason": "stopped",
                "workload": {
                    "kind": "open-marker",
                    "pid": PID,
                    "tid": PID,
                    "comm": "ebpfc-marker",
                    "started_ns": 1,
                    "ended_ns": 2,
                    "facts": {"path": MARKER, "opens": 3},
                },
            }
        },
    }


def write_recording(tmp_path: Path, data: dict, name: str = "run.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path


def save_result(workspace: Path, data: dict) -> None:
    """Record a graded run in the workspace's progress, as `course check` does."""
    lesson = load_course(FIXTURE).lesson("01")
    assert lesson is not None
    progress, warning = Progress.load(workspace / ".course" / "progress.json")
    assert warning is None
    progress.record(grade(lesson, Recording.from_dict(data)))
    progress.save()


# ---------------------------------------------------------------- help


SUBCOMMANDS = sorted(
    next(
        action.choices for action in cli.build_parser()._actions if isinstance(action.choices, dict)
    )
)


def test_every_subcommand_is_covered() -> None:
    assert set(SUBCOMMANDS) >= {"check", "run", "grade", "hint", "solution", "reset", "list"}


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_help_for_every_subcommand(capsys, name: str) -> None:
    code, out, err = course(capsys, name, "--help")
    assert code == 0 and err == ""
    assert out.startswith(f"usage: course {name}")
    assert "--course DIR" in out and "--workspace DIR" in out


def test_top_level_help_lists_subcommands(capsys) -> None:
    code, out, _ = course(capsys, "--help")
    assert code == 0
    for name in SUBCOMMANDS:
        assert f"    {name} " in out


# ---------------------------------------------------------------- usage errors


def test_serve_on_a_port_in_use_is_one_sentence(capsys, workspace) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = course(capsys, *base(workspace), "serve", "--port", port)
    assert code == 2 and out == ""
    one_sentence_error(err)
    assert f"Port {port} on 127.0.0.1 is in use" in err


def test_serve_starts_the_tui_with_the_same_options(tmp_path) -> None:
    import shlex

    from runner.serve import start_command

    argv = shlex.split(start_command("course", str(tmp_path / "ws")))
    assert argv[:3] == [sys.executable, "-m", "runner.cli"] and argv[-1] == "start"
    assert argv[3:7] == [
        "--course",
        str(Path("course").resolve()),
        "--workspace",
        str(tmp_path / "ws"),
    ]


def test_unknown_lesson_is_one_sentence(capsys, workspace) -> None:
    code, out, err = course(capsys, *base(workspace), "hint", "99")
    assert code == 2 and out == ""
    one_sentence_error(err)
    assert "There is no lesson '99'" in err and "course list" in err


def test_malformed_lesson_yaml_names_file_and_line(capsys, tmp_path, workspace) -> None:
    copy = tmp_path / "course"
    shutil.copytree(FIXTURE, copy)
    yaml_file = copy / "lessons" / "01-opens" / "lesson.yaml"
    text = yaml_file.read_text().replace("title: Opens of one process", "title: [unclosed")
    yaml_file.write_text(text)
    code, out, err = course(capsys, *base(workspace, copy), "hint", "01")
    assert code == 2 and out == ""
    one_sentence_error(err)
    assert "lessons/01-opens/lesson.yaml:" in err


def test_missing_probe_file(capsys, workspace) -> None:
    code, out, err = course(capsys, *base(workspace), "check", "01", "--file", "nope.py")
    assert code == 2 and out == ""
    one_sentence_error(err)
    assert "There is no file nope.py" in err


def test_not_a_course_folder(capsys, tmp_path, workspace) -> None:
    code, _, err = course(capsys, *base(workspace, tmp_path), "list")
    assert code == 2
    one_sentence_error(err)
    assert "has no course.yaml" in err


def test_unknown_option_exits_2(capsys) -> None:
    code, out, err = course(capsys, "hint", "01", "--bogus")
    assert code == 2 and out == ""
    assert "unrecognized arguments: --bogus" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("{not json", "is not a recorded run (Expecting property name"),
        ("[1, 2]", "is not a recorded run (it is not a JSON object)"),
        ('{"runs": {}}', "is not a recorded run (no 'lesson')"),
        (
            '{"lesson": "01-opens", "runs": {"main": {"id": "main", "lines": [{"x": 1}]}}}',
            "unexpected keyword argument 'x'",
        ),
        (b"\xff\xfe\x00garbage", "is not a recorded run"),
        ('{"lesson": "77-gone", "runs": {}}', "records lesson '77-gone'"),
    ],
)
def test_corrupt_recording_for_grade(capsys, tmp_path, workspace, content, says) -> None:
    path = tmp_path / "run.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    code, out, err = course(capsys, *base(workspace), "grade", path)
    assert code == 2 and out == ""
    one_sentence_error(err)
    assert says in err


def test_grade_of_a_missing_file(capsys, tmp_path, workspace) -> None:
    code, _, err = course(capsys, *base(workspace), "grade", tmp_path / "none.json")
    assert code == 2
    one_sentence_error(err)
    assert "There is no file" in err


def test_corrupt_progress_is_kept_aside_with_a_warning(capsys, workspace) -> None:
    state = workspace / ".course"
    state.mkdir(parents=True)
    (state / "progress.json").write_text('{"version": 1, "lessons": {"01-opens": 5}}')
    code, out, err = course(capsys, *base(workspace), "hint", "01")
    assert code == 0 and "Hint 1/2" in out
    assert err.startswith("warning: Your progress file") and "moved to" in err
    aside = list(state.glob("progress.json.corrupt-*"))
    assert len(aside) == 1
    assert aside[0].read_text() == '{"version": 1, "lessons": {"01-opens": 5}}'
    progress, warning = Progress.load(state / "progress.json")
    assert warning is None and progress.state("01-opens").hints_revealed == 1


def test_entry_point_prints_no_traceback(tmp_path, workspace) -> None:
    path = write_recording(tmp_path, {"lesson": 1})
    done = subprocess.run(
        [str(COURSE_BIN), *base(workspace), "grade", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert "Traceback" not in done.stderr and done.stderr.startswith("course: ")


def test_a_closed_output_pipe_ends_quietly(tmp_path, workspace) -> None:
    path = write_recording(tmp_path, recording())
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `course grade ... | head` after head has gone
    try:
        done = subprocess.run(
            [str(COURSE_BIN), *base(workspace), "grade", str(path), "--json"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert done.returncode == cli.EXIT_BROKEN_PIPE
    assert done.stderr == ""


# ---------------------------------------------------------------- grade


def test_grade_passing_recording_json_shape(capsys, tmp_path, workspace) -> None:
    path = write_recording(tmp_path, recording())
    code, out, err = course(capsys, *base(workspace), "grade", path, "--json")
    assert code == 0 and err == ""
    report = json.loads(out)
    assert REPORT_KEYS <= set(report)
    assert (report["version"], report["lesson"], report["status"]) == (1, "01-opens", "pass")
    assert (report["score"], report["max_score"]) == (3, 3)
    assert [c["id"] for c in report["checks"]] == ["marker-open", "total"]
    for check in report["checks"]:
        assert CHECK_KEYS <= set(check)
        assert check["status"] == "pass"
    assert [c["kind"] for c in report["checks"]] == ["events.match", "counts.total"]
    assert [c["points"] for c in report["checks"]] == [2, 1]
    assert report["explanations"] == []


def test_an_error_under_json_is_json_on_stdout_and_a_sentence_on_stderr(
    capsys, tmp_path, workspace
) -> None:
    gone = str(tmp_path / "gone.json")
    code, out, err = course(capsys, *base(workspace), "grade", gone, "--json")
    assert code == cli.EXIT_ENV
    assert json.loads(out) == {"status": "error", "error": err.strip().removeprefix("course: ")}
    assert "gone.json" in err and "Traceback" not in err


def test_grade_failing_recording(capsys, tmp_path, workspace) -> None:
    path = write_recording(tmp_path, recording(events=2, summary=2))
    code, out, _ = course(capsys, *base(workspace), "grade", path, "--json")
    assert code == 1
    report = json.loads(out)
    assert report["status"] == "fail" and report["score"] == 1
    by_id = {c["id"]: c for c in report["checks"]}
    assert by_id["marker-open"]["status"] == "fail" and by_id["marker-open"]["points"] == 0
    assert by_id["marker-open"]["expected"] and by_id["marker-open"]["observed"]
    assert by_id["total"]["status"] == "pass"


def test_grade_text_output(capsys, tmp_path, workspace) -> None:
    path = write_recording(tmp_path, recording(summary=4))
    code, out, _ = course(capsys, *base(workspace), "grade", path)
    assert code == 1
    assert out.startswith("01-opens: FAIL  2/3 points")
    assert "✓ PASS        marker-open (2/2)" in out and "✗ FAIL        total (0/1)" in out
    assert "All checks passed." not in out


def test_grade_does_not_touch_progress(capsys, tmp_path, workspace) -> None:
    path = write_recording(tmp_path, recording())
    course(capsys, *base(workspace), "grade", path)
    assert not (workspace / ".course" / "progress.json").exists()


def test_grade_explains_a_crashed_probe(capsys, tmp_path, workspace) -> None:
    data = recording(events=0, summary=None, exit_code=1)
    probe = data["probe_path"]
    data["runs"]["main"]["lines"] += [
        {"t": 0.5, "stream": "err", "text": text}
        for text in (
            "Traceback (most recent call last):",
            f'  File "{probe}", line 12, in <module>',
            "    main()",
            f'  File "{probe}", line 7, in main',
            "    print(undefined_name)",
            "NameError: name 'undefined_name' is not defined",
        )
    ]
    path = write_recording(tmp_path, data)
    code, out, _ = course(capsys, *base(workspace), "grade", path, "--json")
    assert code == 1
    notes = json.loads(out)["explanations"]
    crash = next(n for n in notes if n["title"] == "Your probe stopped with an exception")
    assert crash["line"] == 7
    assert "NameError: name 'undefined_name' is not defined" in crash["cause"]
    code, out, _ = course(capsys, *base(workspace), "grade", path)
    assert "Why it may have failed:" in out and "(line 7)" in out and "Fix: " in out


# Recorded from a real run of a probe whose BPF text clang rejects.
CLANG_FAILURE = [
    "/virtual/main.c:1:27: error: use of undeclared identifier 'undeclared_thing'",
    "int f(void *ctx) { return undeclared_thing; }",
    "                          ^",
    "1 error generated.",
    "Traceback (most recent call last):",
    '  File "/home/learner/ebpf-course/01-opens/probe.py", line 4, in <module>',
    '    bpf = BPF(text="int f(void *ctx) { return undeclared_thing; }")',
    '  File "/usr/lib/python3/dist-packages/bcc/__init__.py", line 479, in __init__',
    '    raise Exception("Failed to compile BPF module %s" % (src_file or "<text>"))',
    "Exception: Failed to compile BPF module <text>",
]


def test_grade_explains_a_bcc_compile_failure(capsys, tmp_path, workspace) -> None:
    data = recording(events=0, summary=None, exit_code=1, stderr=tuple(CLANG_FAILURE))
    data["probe_source"] = (
        "from bcc import BPF\n\n# clang rejects this\n"
        'bpf = BPF(text="int f(void *ctx) { return undeclared_thing; }")\n'
    )
    path = write_recording(tmp_path, data)
    code, out, _ = course(capsys, *base(workspace), "grade", path, "--json")
    assert code == 1
    notes = json.loads(out)["explanations"]
    crash = notes[-1]
    assert crash["title"] == "Your probe stopped with an exception" and crash["line"] == 4
    assert "Exception: Failed to compile BPF module <text>" in crash["cause"]
    explained = notes[:-1]  # runner.present.explain's hints come first
    assert explained and "undeclared_thing" in explained[0]["cause"]
    assert set(explained[0]) == {"title", "cause", "fix", "line"}


def test_grade_explains_a_file_that_is_not_python(capsys, tmp_path, workspace) -> None:
    probe = "/home/learner/ebpf-course/01-opens/probe.py"
    stderr = (
        f'  File "{probe}", line 3',
        '    print("Attached", flush=True',
        "         ^",
        "SyntaxError: '(' was never closed",
    )
    data = recording(events=0, summary=None, exit_code=1, stderr=stderr)
    path = write_recording(tmp_path, data)
    code, out, _ = course(capsys, *base(workspace), "grade", path, "--json")
    assert code == 1
    notes = json.loads(out)["explanations"]
    note = next(n for n in notes if n["title"] == "Your probe is not valid Python")
    assert note["line"] == 3 and "SyntaxError: '(' was never closed" in note["cause"]


def _notes_of_an_early_exit(capsys, tmp_path, workspace, stderr: tuple[str, ...]) -> list[dict]:
    """`course grade --json`'s explanations for a probe that exited with
    status 2 before its ready line, saying `stderr`."""
    data = recording(events=0, summary=None, exit_code=2, stderr=stderr)
    main = data["runs"]["main"]
    main["lines"] = [ln for ln in main["lines"] if ln["stream"] == "err"]
    main.update(ready=False, ready_at=None, stop_reason="exited", workload=None)
    path = write_recording(tmp_path, data)
    code, out, _ = course(capsys, *base(workspace), "grade", path, "--json")
    assert code == 1
    return json.loads(out)["explanations"]


def test_grade_explains_a_probe_that_ended_before_ready(capsys, tmp_path, workspace) -> None:
    notes = _notes_of_an_early_exit(capsys, tmp_path, workspace, ("no such tracepoint",))
    note = next(n for n in notes if n["title"] == "Your probe ended before it was ready")
    assert "status 2" in note["cause"] and "'no such tracepoint'" in note["cause"]


def test_grade_names_the_options_a_probe_refused(capsys, tmp_path, workspace) -> None:
    """A starter without the option the lesson passes (08c's -c) ends at once:
    the note names the option, not "keep the probe running"."""
    stderr = (
        "usage: probe.py [-h] [-p PID|NAME] [-s SYSCALL] [-d DURATION]",
        "probe.py: error: unrecognized arguments: -c",
    )
    notes = _notes_of_an_early_exit(capsys, tmp_path, workspace, stderr)
    titles = [n["title"] for n in notes]
    assert "Your probe ended before it was ready" not in titles
    note = next(n for n in notes if n["title"].startswith("Your probe does not take the options"))
    assert "argparse refused -c" in note["cause"] and "status 2" in note["cause"]
    assert "Add -c to your probe's parse_args" in note["fix"]


def test_a_stopped_probe_is_not_called_a_crash(capsys, tmp_path, workspace) -> None:
    data = recording(events=2, summary=None)
    data["runs"]["main"]["lines"] += [
        {"t": 0.5, "stream": "err", "text": "Traceback (most recent call last):"},
        {"t": 0.5, "stream": "err", "text": "KeyboardInterrupt"},
    ]
    path = write_recording(tmp_path, data)
    code, out, _ = course(capsys, *base(workspace), "grade", path, "--json")
    assert code == 1
    titles = [n["title"] for n in json.loads(out)["explanations"]]
    assert "Your probe stopped with an exception" not in titles


# ---------------------------------------------------------------- hints, solution, reset


def test_hint_reveals_one_more_each_call_and_persists(capsys, workspace) -> None:
    code, out, _ = course(capsys, *base(workspace), "hint", "01")
    assert code == 0
    assert out.splitlines() == ["Hint 1/2: Filter on the pid given as the first argument."]
    progress, _ = Progress.load(workspace / ".course" / "progress.json")
    assert progress.state("01-opens").hints_revealed == 1
    code, out, _ = course(capsys, "hint", "01", *base(workspace))
    lines = out.splitlines()
    assert lines[:2] == [
        "Hint 1/2: Filter on the pid given as the first argument.",
        'Hint 2/2: Print "Detached after N events." when Ctrl+C arrives.',
    ]
    assert "last hint" in lines[2]
    code, again, _ = course(capsys, *base(workspace), "hint", "01")
    assert code == 0 and again == out  # nothing more to reveal


def test_lesson_without_hints(capsys, workspace) -> None:
    code, out, _ = course(capsys, *base(workspace), "hint", "02")
    assert code == 0 and out == "02-kprobe has no hints.\n"


def test_solution_refused_before_passing(capsys, workspace) -> None:
    code, out, err = course(capsys, *base(workspace), "solution", "01")
    assert code == 1 and out == ""
    assert "--force" in err and "Traceback" not in err


def test_solution_refused_after_a_failing_run(capsys, workspace) -> None:
    save_result(workspace, recording(events=1, summary=1))
    code, out, _ = course(capsys, *base(workspace), "solution", "01")
    assert code == 1 and out == ""


def test_solution_with_force(capsys, workspace) -> None:
    code, out, _ = course(capsys, *base(workspace), "solution", "01", "--force")
    assert code == 0
    assert out == (FIXTURE / "solutions" / "01-opens" / "probe.py").read_text()


def test_solution_after_a_passing_run(capsys, workspace) -> None:
    save_result(workspace, recording())
    code, out, _ = course(capsys, *base(workspace), "solution", "01")
    assert code == 0
    assert out == (FIXTURE / "solutions" / "01-opens" / "probe.py").read_text()


def test_reset_restores_the_starter_and_keeps_the_learners_file(capsys, workspace) -> None:
    starter = (FIXTURE / "lessons" / "01-opens" / "probe.py").read_text()
    code, out, _ = course(capsys, *base(workspace), "reset", "01")
    probe = workspace / "01-opens" / "probe.py"
    assert code == 0 and out == "Restored the starter of 01-opens.\n"
    assert probe.read_text() == starter
    probe.write_text("# my own work\n")
    code, out, _ = course(capsys, *base(workspace), "reset", "01")
    assert code == 0 and "your file was kept as" in out
    backups = list(probe.parent.glob("probe.py.*.bak"))
    assert len(backups) == 1 and backups[0].read_text() == "# my own work\n"
    assert str(backups[0]) in out
    assert probe.read_text() == starter


# ---------------------------------------------------------------- list, global options


def test_list_json_states(capsys, workspace, fake_host) -> None:
    code, out, _ = course(capsys, *base(workspace), "list", "--json")
    assert code == 0
    rows = {row["id"]: row for row in json.loads(out)["lessons"]}
    assert rows["01-opens"]["status"] == "not-started"
    assert rows["02-kprobe"]["status"] == "unsupported"
    assert "CONFIG_KPROBES" in rows["02-kprobe"]["unsupported_reason"]
    save_result(workspace, recording(events=1, summary=1))
    rows = {
        r["id"]: r
        for r in json.loads(course(capsys, *base(workspace), "list", "--json")[1])["lessons"]
    }
    assert (rows["01-opens"]["status"], rows["01-opens"]["score"]) == ("failing", 1)
    save_result(workspace, recording())
    rows = {
        r["id"]: r
        for r in json.loads(course(capsys, *base(workspace), "list", "--json")[1])["lessons"]
    }
    assert (rows["01-opens"]["status"], rows["01-opens"]["score"]) == ("passed", 3)
    assert rows["01-opens"]["max_score"] == 3


def test_list_text_says_how_to_run_unsupported(capsys, workspace, fake_host) -> None:
    code, out, _ = course(capsys, *base(workspace), "list")
    assert code == 0
    line = next(line for line in out.splitlines() if "02-kprobe" in line)
    assert "unsupported" in line and "--vm" in line


@pytest.mark.parametrize(
    "order",
    [
        ["{c}", "{w}", "hint", "01"],
        ["hint", "01", "{c}", "{w}"],
        ["{c}", "hint", "01", "{w}"],
        ["{w}", "hint", "{c}", "01"],
    ],
)
def test_course_and_workspace_before_or_after_the_subcommand(capsys, tmp_path, order) -> None:
    workspace = tmp_path / "elsewhere"
    words = {"{c}": ["--course", str(FIXTURE)], "{w}": ["--workspace", str(workspace)]}
    argv = [part for word in order for part in words.get(word, [word])]
    code, out, err = course(capsys, *argv)
    assert code == 0 and err == "" and out.startswith("Hint 1/2")
    progress, _ = Progress.load(workspace / ".course" / "progress.json")
    assert progress.state("01-opens").hints_revealed == 1


def test_workspace_from_the_environment(capsys, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("EBPF_COURSE_WORKSPACE", str(tmp_path / "env-ws"))
    code, _, _ = course(capsys, "--course", FIXTURE, "hint", "01")
    assert code == 0
    assert (tmp_path / "env-ws" / ".course" / "progress.json").is_file()


# ---------------------------------------------------------------- kernels and VMs


def test_unsupported_lesson_without_vm_says_use_vm(capsys, workspace, fake_host) -> None:
    code, out, err = course(capsys, *base(workspace), "check", "02")
    assert code == 2 and out == ""
    one_sentence_error(err)
    assert "run it with --vm" in err and "CONFIG_KPROBES" in err


def test_no_privileges_is_not_sent_to_the_vm(capsys, workspace, monkeypatch) -> None:
    reason = "loading BPF needs root: run `sudo -v` once, then try again"
    features = {name: {"ok": False, "reason": reason} for name in ("bpf", "tracepoints")}
    monkeypatch.setattr("runner.live.host.detect", lambda **_: {"features": features})
    code, out, err = course(capsys, *base(workspace), "check", "01")
    assert code == 2 and out == ""
    one_sentence_error(err)
    assert "sudo -v" in err and "--vm" not in err


def test_run_refuses_an_unsupported_lesson_too(capsys, workspace, fake_host) -> None:
    code, _, err = course(capsys, *base(workspace), "run", "02")
    assert code == 2 and "run it with --vm" in err


def test_vm_auto_when_no_vm_can_boot(capsys, workspace, fake_host, monkeypatch) -> None:
    monkeypatch.setattr(
        "runner.live.vm.vm_available",
        lambda *_: (False, "QEMU is missing: run `sudo apt-get install qemu-system-x86`."),
    )
    code, out, err = course(capsys, *base(workspace), "check", "02", "--vm", "auto")
    assert code == 2 and out == ""
    one_sentence_error(err)
    assert "Cannot use the VM: QEMU is missing" in err


class FakeVm:
    """Stands in for runner.live.vm.run_in_vm: records the jobs and returns what a
    kprobe probe would print (the solution attaches, the starter does not)."""

    def __init__(self) -> None:
        self.jobs: list = []

    def __call__(self, course_dir, jobs, *, python, on_progress=None, timeout=None):
        self.jobs = list(jobs)
        assert on_progress is not None
        on_progress("booting test kernel")
        result = {}
        for job in jobs:
            attaches = "attach_kprobe" in Path(job.probe_path).read_text()
            text = "Attached to do_sys_openat2" if attaches else "TODO"
            data = recording()
            data["lesson"], data["where"] = job.lesson_id, "vm:6.1.0-test"
            data["runs"]["main"]["lines"] = [{"t": 0.1, "stream": "out", "text": text}]
            result[job.key] = Recording.from_dict(data)
        return result


@pytest.fixture
def fake_vm(monkeypatch: pytest.MonkeyPatch) -> FakeVm:
    fake = FakeVm()
    monkeypatch.setattr("runner.live.vm.vm_available", lambda *_: (True, "VM kernel 6.1.0-test."))
    monkeypatch.setattr("runner.live.vm.run_in_vm", fake)
    return fake


def test_check_vm_auto_runs_an_unsupported_lesson_in_the_vm(
    capsys, workspace, fake_host, fake_vm
) -> None:
    code, out, err = course(capsys, *base(workspace), "check", "02", "--vm", "auto", "--json")
    assert [(j.lesson_id, Path(j.probe_path).name) for j in fake_vm.jobs] == [
        ("02-kprobe", "probe.py")
    ]
    assert Path(fake_vm.jobs[0].probe_path) == workspace / "02-kprobe" / "probe.py"
    assert "[vm] booting test kernel" in err
    report = json.loads(out)
    assert report["where"] == "vm:6.1.0-test"
    # the workspace copy is the starter, which the fake VM runs as "TODO"
    assert code == 1 and report["status"] == "fail"


def test_validate_in_the_vm_uses_plain_job_keys(capsys, workspace, fake_host, fake_vm) -> None:
    code, out, _ = course(capsys, *base(workspace), "validate", "--lesson", "02", "--vm", "--json")
    keys = [job.key for job in fake_vm.jobs]
    assert keys and all(key.replace("-", "").replace("_", "").isalnum() for key in keys)
    assert len(set(keys)) == len(keys)
    result = json.loads(out)
    cases = {o["case"]: o["status"] for o in result["lessons"]["02-kprobe"]}
    assert cases == {"solution": "pass", "starter": "pass"}
    assert code == 0


def test_doctor_json_includes_tracefs_advice(capsys, workspace, fake_host, monkeypatch) -> None:
    advice = "tracefs is not mounted, so bcc cannot find tracepoints: run `sudo mount ...`"
    monkeypatch.setattr("runner.live.host.ensure_tracefs", lambda: advice)
    code, out, _ = course(capsys, *base(workspace), "doctor", "--json")
    assert code == 0
    facts = json.loads(out)
    assert facts["tracefs_advice"] == advice and facts["kernel_release"] == "6.18.0-test"


# ---------------------------------------------------------------- advice said once

# Host facts as detected on a kernel built without kprobes: the reason is
# runner.live.host's own sentence (it carries no advice; the CLI adds it).
NO_KPROBES = {
    "kernel_release": "6.18.44-fc-v1045",
    "root": True,
    "sudo": "root",
    "features": {
        "kprobes": {
            "ok": False,
            "reason": __import__("runner.live.host", fromlist=["x"]).kprobes_missing_reason(
                "# CONFIG_KPROBES is not set\n", False
            ),
        },
        "tracepoints": {"ok": True, "reason": ""},
        "bpf": {"ok": True, "reason": ""},
    },
}


def advice_count(text: str) -> int:
    """How many times the way out is given (each piece of advice names --vm)."""
    return text.count("--vm")


@pytest.fixture
def no_kprobes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("runner.live.host.detect", lambda **_: json.loads(json.dumps(NO_KPROBES)))
    monkeypatch.setattr("runner.live.host.ensure_tracefs", lambda: None)


def test_list_gives_the_vm_advice_once(capsys, workspace, no_kprobes) -> None:
    code, out, _ = course(capsys, *base(workspace), "list")
    assert code == 0
    line = next(line for line in out.splitlines() if "02-kprobe" in line)
    assert "CONFIG_KPROBES" in line and advice_count(line) == 1, line


def test_check_of_an_unsupported_lesson_gives_the_advice_once(capsys, workspace, no_kprobes):
    code, out, err = course(capsys, *base(workspace), "check", "02")
    assert code == 2 and out == ""
    one_sentence_error(err)
    assert "CONFIG_KPROBES" in err and advice_count(err) == 1, err


def test_validate_gives_the_vm_advice_once(capsys, workspace, no_kprobes) -> None:
    # The real runner: an unsupported step is marked without running anything.
    code, out, _ = course(capsys, *base(workspace), "validate", "--lesson", "02")
    assert code == 0
    lines = out.splitlines()
    assert [line.split()[1] for line in lines[:-1]] == ["UNSUPPORTED", "UNSUPPORTED"]
    assert all("CONFIG_KPROBES" in line and advice_count(line) == 0 for line in lines[:-1])
    assert lines[-1].startswith("0 passed, 0 failed, 2 unsupported here")
    assert advice_count(out) == 1, out


def test_six_concurrent_hint_commands_lose_no_update(tmp_path: Path) -> None:
    """`course hint 08` six times at once: the lock around read-modify-write
    keeps every reveal (without it, concurrent saves overwrite each other)."""
    argv = [sys.executable, "-m", "runner.cli", "--workspace", str(tmp_path), "hint", "08"]
    procs = [
        subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE) for _ in range(6)
    ]
    errors = [p.communicate(timeout=60)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    saved = json.loads((tmp_path / ".course" / "progress.json").read_text())
    assert saved["lessons"]["08-combining"]["hints_revealed"] == 6


# ---------------------------------------------------------------- check output, test, open


class FakeRun:
    """Stands in for runner.live.execute.run_lesson: prints a flood of lines
    through on_line (as a busy probe does) and returns the passing recording."""

    def __init__(self, lines: int = 8000) -> None:
        self.lines = lines

    def __call__(self, lesson, probe, *, python, host, on_line=None, on_event=None, **_):
        from runner.model import Line

        if on_event is not None:
            on_event("main", "started")
        for i in range(self.lines):
            if on_line is not None:
                on_line("main", Line(i / 1000, "out", f"noise line {i}"))
        return Recording.from_dict(recording())


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch, fake_host) -> FakeRun:
    fake = FakeRun()
    monkeypatch.setattr("runner.live.execute.run_lesson", fake)
    monkeypatch.setattr("runner.live.host.ensure_tracefs", lambda: None)
    return fake


def test_check_shows_the_verdict_not_the_probes_output(capsys, workspace, fake_run) -> None:
    # BUG: `course check 06` printed 8,000 lines of probe output before the result
    code, out, err = course(capsys, *base(workspace), "check", "01")
    assert code == 0, err
    lines = (out + err).splitlines()
    assert len(lines) < 30, lines
    assert "noise line" not in out + err
    assert out.splitlines()[0].startswith("01-opens: PASS")
    assert "[main] running" in err  # the progress (plain lines: stderr is not a terminal)
    # the first check on an empty workspace says where the starter went, once
    assert f"copied the starter of 01-opens to {workspace / '01-opens' / 'probe.py'}" in err
    course(capsys, *base(workspace), "check", "01")
    assert "copied the starter" not in capsys.readouterr().err


def test_check_verbose_and_run_stream_every_line(capsys, workspace, fake_run) -> None:
    fake_run.lines = 50
    code, out, err = course(capsys, *base(workspace), "check", "01", "--verbose")
    assert code == 0 and out.count("[main] noise line") == 50
    assert "marker-open" in out  # every check listed
    code, out, _ = course(capsys, *base(workspace), "run", "01")
    assert out.count("[main] noise line") == 50


def test_check_lists_only_the_failing_checks(capsys, workspace, fake_run, monkeypatch) -> None:
    data = recording(summary=5)
    monkeypatch.setattr("runner.live.execute.run_lesson", lambda *a, **k: Recording.from_dict(data))
    code, out, _ = course(capsys, *base(workspace), "check", "01")
    assert code == 1
    assert "total" in out and "marker-open" not in out
    assert "1 of 2 checks passed; --verbose lists every check." in out


def test_progress_line_is_rewritten_in_place_on_a_terminal() -> None:
    import io

    from runner.model import Line

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    progress = cli._StepProgress(tty)
    progress.TTY_INTERVAL = 0.0
    for i in range(3):
        progress.line("main", Line(0.0, "out", str(i)))
    progress.close()
    text = tty.getvalue()
    assert "\n" not in text and text.count("\r") >= 4
    assert "[main] running, 3 lines" in text and text.endswith("\r\x1b[K")

    plain = io.StringIO()
    progress = cli._StepProgress(plain)
    for i in range(500):
        progress.line("main", Line(0.0, "out", str(i)))
    progress.line("tests", Line(0.0, "out", "x"))
    progress.close()
    assert "\r" not in plain.getvalue()
    assert plain.getvalue().splitlines() == ["[main] running, 0 lines", "[tests] running, 0 lines"]


def test_course_test_runs_pytest_with_the_course_interpreter(capsys, workspace, tmp_path) -> None:
    code, _, err = course(capsys, *base(workspace), "test", "01")
    assert code == 2 and "has no learner tests" in err
    course_dir = tmp_path / "course"
    shutil.copytree(FIXTURE, course_dir)
    tests = course_dir / "lessons" / "01-opens" / "tests"
    tests.mkdir()
    (tests / "test_probe.py").write_text(
        "import sys\n\ndef test_interpreter():\n"
        f"    assert sys.executable == {sys.executable!r}\n\n"
        "def test_fails():\n    assert False\n"
    )
    result = subprocess.run(
        [str(COURSE_BIN), *base(workspace, course_dir), "test", "01", "-k", "interpreter"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 1 deselected" in result.stdout
    assert "running `python -m pytest -q tests -k interpreter`" in result.stderr
    assert (workspace / "01-opens" / "course").is_file()
    result = subprocess.run(
        [str(COURSE_BIN), *base(workspace, course_dir), "test", "01"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "1 failed, 1 passed" in result.stdout  # pytest's code


def test_course_open_uses_the_editor_or_prints_the_path(
    capsys, workspace, monkeypatch, tmp_path
) -> None:
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.delenv("EDITOR", raising=False)
    code, out, _ = course(capsys, *base(workspace), "open", "01")
    probe = workspace / "01-opens" / "probe.py"
    assert code == 0 and out.strip() == str(probe) and probe.is_file()
    seen = tmp_path / "seen"
    monkeypatch.setenv("EDITOR", "vi")
    monkeypatch.setenv("VISUAL", f"sh -c 'echo \"$0\" > {seen}'")  # VISUAL wins, shlex-split
    code, out, _ = course(capsys, *base(workspace), "open", "01")
    assert code == 0 and out.strip() == str(probe)
    assert seen.read_text().strip() == str(probe)
    monkeypatch.setenv("VISUAL", "/no/such/editor")
    code, _, err = course(capsys, *base(workspace), "open", "01")
    assert code == 2 and "Cannot start the editor '/no/such/editor'" in err


def test_check_vm_without_the_vm_tools_says_run_setup(
    capsys, workspace, fake_host, monkeypatch
) -> None:
    # BUG: it said "run `pip install 'ebpf-course[vm]'`"; the course is not on PyPI
    monkeypatch.setattr("runner.live.vm._find_vng", lambda: None)
    code, out, err = course(capsys, *base(workspace), "check", "02", "--vm")
    assert code == 2 and out == ""
    one_sentence_error(err)
    assert "virtme-ng (vng) is not installed: run `./setup.sh --vm`" in err
    assert "pip install" not in err


def test_check_vm_prints_each_progress_line_as_it_happens(
    capsys, workspace, fake_host, monkeypatch
) -> None:
    seen: list[str] = []

    def run_in_vm(course_dir, jobs, *, python, on_progress=None, timeout=None):
        for step in ("booting test kernel", "VM booted in 3 s", "job-0: running 02-kprobe"):
            on_progress(step)
            seen.append(capsys.readouterr().err)  # printed before the VM is done
        return FakeVm()(course_dir, jobs, python=python, on_progress=lambda _m: None)

    monkeypatch.setattr("runner.live.vm.vm_available", lambda *_: (True, "VM kernel 6.1.0-test."))
    monkeypatch.setattr("runner.live.vm.run_in_vm", run_in_vm)
    code, _, _ = course(capsys, *base(workspace), "check", "02", "--vm")
    assert code == 1
    assert "copied the starter of 02-kprobe" in seen[0]
    assert [s.splitlines()[-1] for s in seen] == [
        "[vm] booting test kernel",
        "[vm] VM booted in 3 s",
        "[vm] job-0: running 02-kprobe",
    ]


def test_doctor_has_a_vm_row(capsys, workspace, fake_host, monkeypatch) -> None:
    from runner.present import doctor

    ready = {
        "vng": "/x/vng",
        "qemu": "/usr/bin/qemu-system-x86_64",
        "kernel": "/boot/vmlinuz-6.1.0-57-amd64",
        "kernel_readable": True,
        "kvm": False,
        "kvm_reason": "no vmx",
    }
    label, ok, detail = doctor.vm_row(ready)
    assert (label, ok) == ("VM", True)
    assert "kernel 6.1.0-57-amd64, software emulation" in detail and "25 s" in detail
    assert "KVM; boots in about 5 s" in doctor.vm_row({**ready, "kvm": True})[2]
    label, ok, detail = doctor.vm_row({**ready, "vng": None, "kernel": None})
    assert ok is False
    assert "missing virtme-ng (vng) and a stock kernel image with matching headers" in detail
    assert detail.endswith("run `./setup.sh --vm` in the course's folder")
    monkeypatch.setattr(doctor, "vm_facts", lambda: ready)
    code, out, _ = course(capsys, *base(workspace), "doctor", "--json")
    assert code == 0 and json.loads(out)["vm"] == ready
