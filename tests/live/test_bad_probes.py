"""Misbehaving probes end to end through `course check --json`: they hang,
flood, fork, print escape sequences, fake results, crash, or are not
Python. Each must end with an honest verdict, nothing left running, and
the learner's progress file intact.

Each probe is written into the test's own folder, so its path is a marker
no other process has: a /proc scan for it finds anything it left behind."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runner import cli
from runner.live.host import detect
from runner.model import Recording
from runner.progress import Progress
from runner.workspace import Workspace

pytestmark = [pytest.mark.live, pytest.mark.usefixtures("needs_bpf")]

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "courses" / "cli"
COURSE_BIN = Path(sys.executable).parent / "course"
LINE_CAP = 20_000  # runner.live.execute's default: lines kept per run


# ---------------------------------------------------------------- helpers


@pytest.fixture(scope="session")
def host_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Feature trials load programs for seconds; do them once per session."""
    cache = Workspace(tmp_path_factory.mktemp("host")).cache_dir
    detect(cache_dir=cache)
    return cache


@pytest.fixture
def workspace(tmp_path: Path, host_cache: Path) -> Path:
    """A workspace whose progress already holds other work, which no bad
    probe may lose."""
    root = tmp_path / "ws"
    shutil.copytree(host_cache, Workspace(root).cache_dir)
    progress, _ = Progress.load(Workspace(root).progress_path)
    progress.reveal_hint("02-kprobe")
    progress.lessons["02-kprobe"].status = "passed"
    progress.save()
    return root


def write_probe(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / "probes" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def check(
    capsys: pytest.CaptureFixture[str], workspace: Path, lesson: str, probe: Path, record: Path
) -> tuple[int, dict, str]:
    """`course check LESSON --file PROBE --json --save-progress --record RECORD`."""
    code = cli.main(
        [
            *("--course", str(FIXTURE), "--workspace", str(workspace)),
            *("check", lesson, "--file", str(probe), "--json", "--save-progress"),
            *("--record", str(record)),
        ]
    )
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, json.loads(out), out


def left_running(marker: Path) -> list[int]:
    """Processes (not zombies) whose command line names `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if str(marker).encode() in cmdline and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def progress_intact(workspace: Path, lesson: str, status: str = "failing") -> None:
    """The progress file loads cleanly, kept the earlier work, counted this run."""
    progress, warning = Progress.load(Workspace(workspace).progress_path)
    assert warning is None
    assert progress.state("02-kprobe").status == "passed"
    assert progress.state("02-kprobe").hints_revealed == 1
    state = progress.state(lesson)
    assert (state.status, state.attempts) == (status, 1)
    assert not list(Workspace(workspace).progress_path.parent.glob("*.corrupt-*"))


def main_run(record: Path):
    return Recording.from_dict(json.loads(record.read_text())).runs["main"]


# ---------------------------------------------------------------- hangs


def test_probe_that_hangs_before_ready_times_out_and_is_killed(capsys, tmp_path, workspace) -> None:
    probe = write_probe(
        tmp_path,
        "hang.py",
        """\
        import signal, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        while True:
            time.sleep(60)
        """,
    )
    record = tmp_path / "run.json"
    code, report, _ = check(capsys, workspace, "01", probe, record)
    assert code == 1
    assert report["status"] == "timeout"
    assert {c["status"] for c in report["checks"]} == {"timeout"}
    assert "never printed a line matching" in report["checks"][0]["message"]
    run = main_run(record)
    assert run.stop_reason == "not-ready" and run.signal == signal.SIGKILL
    assert left_running(probe) == []
    progress_intact(workspace, "01-opens")


def test_probe_that_ignores_sigint_after_ready_is_killed(capsys, tmp_path, workspace) -> None:
    probe = write_probe(
        tmp_path,
        "stubborn.py",
        """\
        import signal, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("Attached, and staying", flush=True)
        while True:
            time.sleep(60)
        """,
    )
    record = tmp_path / "run.json"
    code, report, _ = check(capsys, workspace, "01", probe, record)
    assert code == 1 and report["status"] == "fail"
    run = main_run(record)
    assert run.ready and run.signal == signal.SIGKILL
    # the recording says which signals it took, and the learner is told why
    assert run.signals_sent == ["INT", "TERM", "KILL"]
    (note,) = [n for n in report["explanations"] if n["title"] == "Your probe ignored Ctrl+C"]
    assert "SIGTERM and then SIGKILL" in note["cause"] and "KeyboardInterrupt" in note["fix"]
    assert left_running(probe) == []
    progress_intact(workspace, "01-opens")


def test_probe_that_stops_on_sigint_gets_no_ctrl_c_note(capsys, tmp_path, workspace) -> None:
    probe = write_probe(
        tmp_path,
        "polite.py",
        """        import time
        print("Attached", flush=True)
        try:
            while True:
                time.sleep(60)
        except KeyboardInterrupt:
            print("Detached after 0 events.")
        """,
    )
    record = tmp_path / "run.json"
    code, report, _ = check(capsys, workspace, "01", probe, record)
    assert main_run(record).signals_sent == ["INT"]
    assert not [n for n in report["explanations"] if "Ctrl+C" in n["title"]]


# ---------------------------------------------------------------- a background job


def test_check_started_as_a_background_job_still_stops_the_probe_with_sigint(
    tmp_path: Path, host_cache: Path
) -> None:
    """`cmd &` in a non-interactive shell ignores SIGINT in the job, and an
    ignored signal survives exec: the probe would never see Ctrl+C, be killed
    before its summary, and lesson 08 would fail. The runner resets it."""
    repo = Path(__file__).resolve().parents[2]
    workspace = tmp_path / "ws"
    shutil.copytree(host_cache, Workspace(workspace).cache_dir)
    out = tmp_path / "report.json"
    command = (
        f"{COURSE_BIN} --workspace {workspace} check 08 "
        f"--file {repo / 'solutions/08-combining/probe.py'} --json --record {tmp_path / 'r.json'}"
        f" > {out} & wait"
    )
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    report = json.loads(out.read_text())
    failing = [(c["id"], c["message"]) for c in report["checks"] if c["status"] != "pass"]
    assert done.returncode == 0 and report["score"] == report["max_score"], failing
    runs = json.loads((tmp_path / "r.json").read_text())["runs"]
    stopped = [r for r in runs.values() if r["signals_sent"]]
    assert stopped and all(r["signals_sent"] == ["INT"] for r in stopped), stopped


# ---------------------------------------------------------------- explanations


def test_a_keyerror_of_the_probes_own_dict_is_not_called_a_map_name_problem(
    capsys, tmp_path, workspace
) -> None:
    probe = write_probe(
        tmp_path,
        "own_keyerror.py",
        """        from bcc import BPF

        b = BPF(text="BPF_HASH(counts, u32, u64);")
        table = b["counts"]  # the map exists
        names = {"openat": 257}
        print(names["open"])
        """,
    )
    record = tmp_path / "run.json"
    code, report, _ = check(capsys, workspace, "01", probe, record)
    titles = [n["title"] for n in report["explanations"]]
    assert "no map of that name" not in titles, report["explanations"]
    crash = next(n for n in report["explanations"] if n["title"].startswith("Your probe stopped"))
    assert "KeyError" in crash["cause"] and crash["line"] == 6


# ---------------------------------------------------------------- floods


FLOOD = """\
import sys
N = {n}
out = sys.stdout
for i in range(N):
    out.write(f"open pid={{i}} file=/flood/{{i}}\\n")
out.write(f"Detached after {{N}} events.\\n")
"""


def course_max_rss_kb(argv: list[str], out: Path) -> tuple[int, int]:
    """Run `course ARGV`; (exit code, peak RSS of it and its children in KiB)."""
    with out.open("w") as sink:
        proc = subprocess.Popen([str(COURSE_BIN), *argv], stdout=sink, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_maxrss


def test_flood_counts_exactly_and_memory_stays_bounded(tmp_path, workspace) -> None:
    n = 500_000
    small = write_probe(tmp_path, "small.py", FLOOD.format(n=1_000))
    flood = write_probe(tmp_path, "flood.py", FLOOD.format(n=n))
    rss = {}
    for probe in (small, flood):
        record = tmp_path / f"{probe.stem}.json"
        argv = [
            *("--course", str(FIXTURE), "--workspace", str(workspace)),
            *("check", "03", "--file", str(probe), "--json", "--record", str(record)),
        ]
        code, rss[probe.stem] = course_max_rss_kb(argv, tmp_path / f"{probe.stem}.out")
        assert code == 0, (tmp_path / f"{probe.stem}.out").read_text()
    report = json.loads((tmp_path / "flood.out").read_text())
    assert report["status"] == "pass"  # the summary's count is exact despite the cap
    assert {c["id"]: c["status"] for c in report["checks"]} == {
        "total": "pass",
        "exits-clean": "pass",
    }
    run = main_run(tmp_path / "flood.json")
    assert run.stop_reason == "exited" and run.exit_code == 0
    assert run.stdout_lines == n + 1 and run.stderr_lines == 0
    assert len(run.lines) == LINE_CAP and run.dropped == n + 1 - LINE_CAP
    assert run.lines[-1].text == f"Detached after {n} events."  # the tail survives
    # 500x the output must not cost the runner anywhere near 500x the memory:
    # keeping every line would take well over 100 MB more.
    assert rss["flood"] < rss["small"] + 60_000, rss
    assert left_running(flood) == []


# ---------------------------------------------------------------- children


def test_child_that_outlives_the_probe_is_gone_after_the_run(capsys, tmp_path, workspace) -> None:
    probe = write_probe(
        tmp_path,
        "forker.py",
        """\
        import os, signal, time
        child = os.fork()
        if child == 0:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            time.sleep(3600)
            os._exit(0)
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        print(f"Attached; child pid={child}", flush=True)
        signal.sigwait({signal.SIGINT})
        print("leaving my child behind", flush=True)
        """,
    )
    record = tmp_path / "run.json"
    code, report, _ = check(capsys, workspace, "01", probe, record)
    assert code == 1 and report["status"] == "fail"
    run = main_run(record)
    child = int(run.lines[0].text.rsplit("=", 1)[1])
    assert run.exit_code == 0  # the parent itself ended normally
    assert left_running(probe) == []  # the child shares the marker in its command line
    assert not alive(child)
    progress_intact(workspace, "01-opens")


def test_child_in_its_own_session_is_gone_after_the_run(capsys, tmp_path, workspace) -> None:
    probe = write_probe(
        tmp_path,
        "escaper.py",
        """\
        import os, time
        if os.fork() == 0:
            os.setsid()  # leaves the probe's process group
            if os.fork() == 0:
                time.sleep(600)
                os._exit(0)
            os._exit(0)
        os.wait()
        print("open pid=1 file=/x")
        print("Detached after 1 events.")
        """,
    )
    try:
        code, report, _ = check(capsys, workspace, "03", probe, tmp_path / "run.json")
        assert code == 0 and report["status"] == "pass"
        progress_intact(workspace, "03-summary", status="passed")
        assert left_running(probe) == []
    finally:
        for pid in left_running(probe):  # what this test started, by pid
            os.kill(pid, signal.SIGKILL)


# ---------------------------------------------------------------- untrusted text


def test_escape_sequences_are_stripped_from_report_and_json(capsys, tmp_path, workspace) -> None:
    probe = write_probe(
        tmp_path,
        "ansi.py",
        r"""
        import signal, sys
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        print("\x1b[1;32mAttached\x1b[0m", flush=True)
        signal.sigwait({signal.SIGINT})
        print("\x1b]0;pwned title\x07\x1b[2J\x1b[Hopen pid=1 file=/x\x1b[0m \u202eevil\u202c")
        print("\x1b[31mDetached after 1 events.\x1b[0m", flush=True)
        print("\x1b[41mred alert\x1b[0m", file=sys.stderr)
        print("\x9b31mC1 escape", file=sys.stderr)
        """,
    )
    record = tmp_path / "run.json"
    code, report, raw_json = check(capsys, workspace, "01", probe, record)
    assert code == 1 and report["status"] == "fail"
    # (the recording also keeps the probe's source verbatim: that is the
    # learner's own file, not output, so only its captured lines are checked)
    kept = json.dumps(json.loads(record.read_text())["runs"])
    for text in (raw_json, json.dumps(report, ensure_ascii=False), kept):
        assert "\x1b" not in text and "\\u001b" not in text and "\\u009b" not in text
        assert "\u202e" not in text and "\\u202e" not in text
    texts = [line.text for line in main_run(record).lines]
    assert "Attached" in texts and "open pid=1 file=/x evil" in texts
    assert "Detached after 1 events." in texts and "red alert" in texts
    code = cli.main(["--course", str(FIXTURE), "grade", str(record)])
    text_report = capsys.readouterr().out
    assert code == 1 and "\x1b" not in text_report and "\x9b" not in text_report
    progress_intact(workspace, "01-opens")


def test_fake_pass_lines_and_fake_events_fail(capsys, tmp_path, workspace) -> None:
    probe = write_probe(
        tmp_path,
        "fake.py",
        """\
        import signal, sys
        pid = sys.argv[1]  # the workload's pid is no secret; what it opens is
        print("PASS")
        print("All checks passed.")
        print("01-opens: PASS  3/3 points")
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        print("Attached to syscalls:sys_enter_openat", flush=True)
        signal.sigwait({signal.SIGINT})
        for _ in range(3):
            print(f"open pid={pid} file=/tmp/ebpfc-wl-guess/ebpfc-marker-00000000")
        print("Detached after 3 events.", flush=True)
        """,
    )
    record = tmp_path / "run.json"
    code, report, _ = check(capsys, workspace, "01", probe, record)
    assert code == 1 and report["status"] == "fail"
    checks = {c["id"]: c for c in report["checks"]}
    assert checks["marker-open"]["status"] == "fail"
    assert checks["marker-open"]["points"] == 0
    assert report["score"] < report["max_score"]
    progress_intact(workspace, "01-opens")


# ---------------------------------------------------------------- crashes


def test_crash_in_bcc_gets_a_one_sentence_explanation(capsys, tmp_path, workspace) -> None:
    probe = write_probe(
        tmp_path,
        "crash.py",
        """\
        from bcc import BPF

        # clang rejects this program: the identifier is never declared
        bpf = BPF(text="int f(void *ctx) { return undeclared_thing; }")
        print("Attached", flush=True)
        """,
    )
    record = tmp_path / "run.json"
    code, report, _ = check(capsys, workspace, "01", probe, record)
    assert code == 1 and report["status"] in ("fail", "error")
    notes = report["explanations"]
    crash = next(n for n in notes if n["title"] == "Your probe stopped with an exception")
    assert crash["line"] == 4 and "Failed to compile BPF module" in crash["cause"]
    for note in notes:
        assert note["title"] and note["cause"] and "\n" not in note["cause"] + note["fix"]
    stderr = "\n".join(main_run(record).err())
    assert "undeclared_thing" in stderr
    if importlib.util.find_spec("runner.present.explain") is not None:
        explained = [n for n in notes if n is not crash]
        assert any("undeclared_thing" in n["cause"] for n in explained), notes
    progress_intact(workspace, "01-opens")


def test_crash_explanation_is_shown_under_the_text_report(capsys, tmp_path, workspace) -> None:
    probe = write_probe(
        tmp_path,
        "raises.py",
        """\
        def main():
            raise RuntimeError("the map was never created")


        main()
        """,
    )
    code = cli.main(
        [
            *("--course", str(FIXTURE), "--workspace", str(workspace)),
            *("check", "03", "--file", str(probe), "--save-progress"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "Why it may have failed:" in out
    assert (
        "Your probe stopped with an exception (line 2): It raised RuntimeError: "
        "the map was never created at line 2 of the probe." in out
    )
    progress_intact(workspace, "03-summary")


def test_probe_that_is_not_python_gets_a_clear_message(capsys, tmp_path, workspace) -> None:
    probe = write_probe(
        tmp_path,
        "broken.py",
        """\
        from bcc import BPF

        print("Attached", flush=True
        """,
    )
    record = tmp_path / "run.json"
    code, report, _ = check(capsys, workspace, "01", probe, record)
    # It ended before the workload ran, so checks on the workload's facts
    # cannot be judged (error); none passes.
    assert code == 1 and report["status"] in ("fail", "error") and report["score"] == 0
    note = next(n for n in report["explanations"] if n["title"] == "Your probe is not valid Python")
    assert note["line"] == 3 and "SyntaxError" in note["cause"]
    assert main_run(record).stop_reason == "exited"
    assert left_running(probe) == []
    progress_intact(workspace, "01-opens")
