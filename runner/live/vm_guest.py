"""The guest half of `runner.live.vm`: runs inside the VM as root.

Reads the jobs file the host wrote, makes tracefs/debugfs available, detects
this (guest) kernel's facts once, runs each job with `runner.live.execute`, and
writes each Recording as `<key>.json` (or a one-sentence `<key>.error`) into
the shared read-write folder. Progress goes to stdout with a prefix the host
recognises; `done.json` last says the guest got through its list.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from runner.live.vm import DONE_FILE, PROGRESS_PREFIX


def say(message: str) -> None:
    print(f"{PROGRESS_PREFIX}{message}", flush=True)


def write_atomic(path: Path, text: str) -> None:
    """The host may look at the folder at any time: never show half a file."""
    partial = path.with_name(path.name + ".part")
    partial.write_text(text)
    os.replace(partial, path)


def _one_sentence(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else 'no message'}"


# What a probe and a workload import first. The guest reads the host's files
# over 9p, and a cold first import under emulation can take longer than the
# runner waits for a workload to report (30 s): read them all once, up front.
WARM_UP = (
    "import bcc, jsonschema, pytest, runner.live.execute, runner.workloads as w; w.all_workloads()"
)


def warm_up(python: str) -> None:
    started = time.monotonic()
    try:
        subprocess.run([python, "-c", WARM_UP], capture_output=True, timeout=600, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        say(f"warning: warming up the interpreter failed ({error})")
        return
    say(f"interpreter warmed up in {time.monotonic() - started:.0f} s")


def guest_main(jobs_file: Path, outdir: Path) -> int:
    release = platform.release()
    say(f"guest up: kernel {release}")
    spec: dict[str, Any] = json.loads(jobs_file.read_text())

    # Everything is many times slower under emulation: give workloads longer
    # to start (read when runner.workloads is first imported, just below).
    os.environ.setdefault("EBPF_COURSE_WORKLOAD_START_TIMEOUT", "120")
    from runner.course.load import load_lesson
    from runner.live import host
    from runner.live.execute import run_lesson

    problem = host.ensure_tracefs()
    if problem:
        say(f"warning: {problem}")
    # No feature trials here: under software emulation each trial compiles a
    # program (~10-50 s), and the lesson's own run is the real trial. Features
    # left unknown do not mark a step unsupported.
    facts = host.detect(try_attach=False, cache_dir=outdir / "host-cache")
    facts["features"] = {}
    say(f"host facts: bcc {facts.get('bcc_version')}, headers {facts.get('headers')}")
    course_dir = Path(spec["course_dir"])
    warm_up(spec["python"])

    jobs = spec["jobs"]
    for n, job in enumerate(jobs, 1):
        key, lesson_id, probe = job["key"], job["lesson_id"], Path(job["probe"])
        say(f"job {n}/{len(jobs)} {key}: running {lesson_id} with {probe.name}")
        t0 = time.monotonic()
        try:
            lesson = load_lesson(course_dir, lesson_id)  # only what this job needs
            stop_after = None
            if job.get("stop_early"):  # a mutant is killed at its first failing step
                from runner.grade import run_failed

                stop_after = lambda rec, step, lesson=lesson: run_failed(lesson, rec, step.id)  # noqa: E731
            recording = run_lesson(
                lesson,
                probe,
                python=spec["python"],
                host=facts,
                only=job.get("only"),
                stop_after=stop_after,
            )
            recording.where = f"vm:{release}"
            write_atomic(outdir / f"{key}.json", json.dumps(recording.to_dict()))
            say(f"job {n}/{len(jobs)} {key}: done in {time.monotonic() - t0:.0f} s")
        except Exception as error:  # one job's failure must not lose the others
            traceback.print_exc(file=sys.stderr)
            write_atomic(outdir / f"{key}.error", _one_sentence(error))
            say(f"job {n}/{len(jobs)} {key}: failed: {_one_sentence(error)}")
    write_atomic(outdir / DONE_FILE, json.dumps({"release": release, "jobs": len(jobs)}))
    return 0
