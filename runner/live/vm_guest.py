"""The guest half of `runner.live.vm`: runs inside the VM as root.

Reads the jobs file the host wrote, makes tracefs/debugfs available, detects
this (guest) kernel's facts once, runs each job with `runner.live.execute`, and
writes each Recording as `<key>.json` (or a one-sentence `<key>.error`) into
the shared read-write folder. Progress goes to stdout with a prefix the host
recognises; `done.json` last says the guest got through its list.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from runner.live.vm import DONE_FILE, PROGRESS_PREFIX
from runner.model import Lesson, Recording


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


# The learner of `--kernels` runs: an unprivileged user whose only way to
# root is the README's narrow sudoers rule. virtme-ng gives the guest a
# throw-away overlay over /etc, so adding them changes nothing on the host.
LEARNER = "ebpfc-learner"
LEARNER_HOME = Path("/tmp/ebpfc-learner")


def add_learner(python: str) -> int:
    """Create the learner (passwd, group, shadow, home) and their one sudo
    rule; returns their uid."""
    import pwd

    from runner.live.privilege import sudoers_rule

    taken = {entry.pw_uid for entry in pwd.getpwall()}
    uid = next(n for n in range(1500, 60000) if n not in taken)
    with open("/etc/passwd", "a") as f:
        f.write(f"{LEARNER}:x:{uid}:{uid}:course learner:{LEARNER_HOME}:/bin/sh\n")
    with open("/etc/group", "a") as f:
        f.write(f"{LEARNER}:x:{uid}:\n")
    with open("/etc/shadow", "a") as f:  # "*": no password; sudo's account check passes
        f.write(f"{LEARNER}:*:20000:0:99999:7:::\n")
    LEARNER_HOME.mkdir(parents=True, exist_ok=True)
    os.chown(LEARNER_HOME, uid, uid)
    rule = Path("/etc/sudoers.d/ebpf-course")
    rule.write_text(sudoers_rule(LEARNER, python))
    rule.chmod(0o440)
    return uid


def trials_needed(lessons: list[Lesson]) -> list[str]:
    """The features whose trial the jobs' lessons judge a report against
    (lesson 00's environment facts): only those are tried in the guest,
    each a compile of tens of seconds under emulation."""
    from runner.live.host_facts import FEATURES

    wanted = set()
    for lesson in lessons:
        for check in lesson.checks:
            if check.kind == "environment.fact":
                fact = str(check.params.get("fact"))
                wanted.add("bpf" if fact == "ready" else fact)
    return [name for name in FEATURES if name in wanted]


def guest_facts(lessons: list[Lesson], cache_dir: Path) -> dict[str, Any]:
    """This guest's host facts, with just the feature trials the lessons need
    (no trial marks a step unsupported: the lesson's own run is the trial)."""
    from runner.live import host

    os.environ.setdefault("EBPF_COURSE_FEATURE_TIMEOUT", "900")
    needed = trials_needed(lessons)
    facts = host.detect(try_attach=bool(needed), cache_dir=cache_dir, only=needed or None)
    if not needed:
        facts["features"] = {}
    else:
        say(f"feature trials for {', '.join(needed)}: {_trial_words(facts)}")
    return facts


def _trial_words(facts: dict[str, Any]) -> str:
    features = facts.get("features") or {}
    return ", ".join(
        f"{name} {'ok' if value.get('ok') else 'no'}" for name, value in features.items()
    )


def slowed(lesson: Lesson, ready_floor: float) -> Lesson:
    """The lesson with each step given at least `ready_floor` seconds to get
    ready, and its wall-clock limit as much longer: what a step may take
    after its ready line (the checks' windows) is unchanged."""
    runs = []
    for run in lesson.runs:
        extra = max(0.0, ready_floor - run.ready_timeout)
        runs.append(
            dataclasses.replace(
                run, ready_timeout=run.ready_timeout + extra, timeout=run.timeout + extra
            )
        )
    return dataclasses.replace(lesson, runs=runs)


def guest_main(jobs_file: Path, outdir: Path) -> int:
    release = platform.release()
    say(f"guest up: kernel {release}")
    spec: dict[str, Any] = json.loads(jobs_file.read_text())
    if spec.get("learner"):
        return _as_learner(spec, jobs_file, outdir)

    # Everything is many times slower under emulation: give workloads longer
    # to start (read when runner.workloads is first imported, just below).
    os.environ.setdefault("EBPF_COURSE_WORKLOAD_START_TIMEOUT", "120")
    os.environ.setdefault("EBPF_COURSE_STOP_GRACE", str(spec.get("stop_grace", 0)))
    from runner.course.load import load_lesson
    from runner.live import host
    from runner.live.execute import run_lesson

    problem = host.ensure_tracefs()
    if problem:
        say(f"warning: {problem}")
    course_dir = Path(spec["course_dir"])
    ids = sorted({job["lesson_id"] for job in spec["jobs"]})
    facts = guest_facts([load_lesson(course_dir, lid) for lid in ids], outdir / "host-cache")
    say(f"host facts: bcc {facts.get('bcc_version')}, headers {facts.get('headers')}")
    warm_up(spec["python"])

    def record(job: dict[str, Any]) -> Recording:
        lesson = load_lesson(course_dir, job["lesson_id"])  # only what this job needs
        lesson = slowed(lesson, float(spec.get("ready_floor", 0)))
        stop_after = None
        if job.get("stop_early"):  # a mutant is killed at its first failing step
            from runner.grade import run_failed

            stop_after = lambda rec, step, lesson=lesson: run_failed(lesson, rec, step.id)  # noqa: E731
        return run_lesson(
            lesson,
            Path(job["probe"]),
            python=spec["python"],
            host=facts,
            only=job.get("only"),
            stop_after=stop_after,
        )

    return run_jobs(spec["jobs"], record, outdir, release)


def run_jobs(
    jobs: list[dict[str, Any]],
    record: Callable[[dict[str, Any]], Recording],
    outdir: Path,
    release: str,
) -> int:
    """Record each job (as root or as the learner: `record` says how) into
    `outdir`, saying each step; `done.json` last."""
    for n, job in enumerate(jobs, 1):
        key = job["key"]
        say(f"job {n}/{len(jobs)} {key}: running {job['lesson_id']} with {Path(job['probe']).name}")
        t0 = time.monotonic()
        try:
            recording = record(job)
            recording.where = f"vm:{release}"
            write_atomic(outdir / f"{key}.json", json.dumps(recording.to_dict()))
            say(f"job {n}/{len(jobs)} {key}: done in {time.monotonic() - t0:.0f} s")
        except Exception as error:  # one job's failure must not lose the others
            traceback.print_exc(file=sys.stderr)
            write_atomic(outdir / f"{key}.error", _one_sentence(error))
            say(f"job {n}/{len(jobs)} {key}: failed: {_one_sentence(error)}")
    write_atomic(outdir / DONE_FILE, json.dumps({"release": release, "jobs": len(jobs)}))
    return 0


def _as_learner(spec: dict[str, Any], jobs_file: Path, outdir: Path) -> int:
    """As root: mount tracefs and add the learner; then run the jobs as them."""
    from runner.live import host

    problem = host.ensure_tracefs()
    if problem:
        say(f"warning: {problem}")
    add_learner(spec["python"])
    say(f"running the jobs as {LEARNER}, who has only the README's sudoers rule")
    argv = [spec["python"], "-m", "runner.live.vm", "guest-learner", str(jobs_file), str(outdir)]
    env = {**os.environ, "HOME": str(LEARNER_HOME), "USER": LEARNER, "LOGNAME": LEARNER}
    return subprocess.run(["runuser", "-u", LEARNER, "--", *argv], env=env, check=False).returncode


def learner_main(jobs_file: Path, outdir: Path) -> int:
    """As the learner: each job through the application layer a learner's
    `course check` uses (runner.session), which reaches root through sudo."""
    release = platform.release()
    spec: dict[str, Any] = json.loads(jobs_file.read_text())
    os.environ.setdefault("EBPF_COURSE_WORKLOAD_START_TIMEOUT", "120")
    os.environ.setdefault("EBPF_COURSE_STOP_GRACE", str(spec.get("stop_grace", 0)))
    from runner.course.load import load_course
    from runner.session import Session
    from runner.workspace import Workspace

    course = load_course(Path(spec["course_dir"]))
    ids = {job["lesson_id"] for job in spec["jobs"]}
    mine = [lesson for lesson in course.lessons if lesson.id in ids]

    def detect(*, try_attach: bool, cache_dir: Path | None = None) -> dict[str, Any]:
        return guest_facts(mine, cache_dir or LEARNER_HOME / "host-cache")

    session = Session(
        course,
        Workspace(LEARNER_HOME / "workspace"),
        python=spec["python"],
        detect=detect,
        on_warning=lambda text: say(f"warning: {text}"),
    )
    facts = session.host()
    say(f"host facts: bcc {facts.get('bcc_version')}, sudo {facts.get('sudo')}, uid {os.getuid()}")
    warm_up(spec["python"])

    def record(job: dict[str, Any]) -> Recording:
        return session.record(
            slowed(session.lesson(job["lesson_id"]), float(spec.get("ready_floor", 0))),
            Path(job["probe"]),
            only=job.get("only"),
            stop_early=bool(job.get("stop_early")),
        )

    return run_jobs(spec["jobs"], record, outdir, release)
