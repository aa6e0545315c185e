"""`course new NN-slug [--from NN]`: a lesson that loads, lints and validates
from its first minute, for an author to fill in.

From scratch the lesson is a small but real one: a tracepoint on
`syscalls:sys_enter_openat` filtered to the workload's pid, checked against
the `open-marker` workload's ground truth and the kernel's own view
(kernel.program). It has every file a lesson has: lesson.yaml with each field
commented, the text skeleton (goal, concepts, steps, expected output, learner
tests, troubleshooting), a starter with TODOs, the solution, learner tests
that start skipped (unskipped in the solution) and one wrong variant. With
`--from`, an existing lesson's files are copied instead, its id and number
renamed in them.

Nothing is overwritten: an existing lesson folder is refused. The new id is
added to course.yaml's lesson order (a line inserted, comments kept)."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from runner.course.yamldoc import LoadError, read_doc
from runner.model import LESSON_ID as ANY_LESSON_ID
from runner.model import id_answers_to

LESSON_ID = re.compile(r"^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)$")
_COPY_IGNORE = shutil.ignore_patterns("__pycache__", ".pytest_cache", "*.pyc")


class ScaffoldError(Exception):
    """The lesson cannot be made (one sentence: what, and what to do)."""


@dataclass
class Scaffolded:
    lesson_id: str
    files: list[Path] = field(default_factory=list)  # created, relative to the course
    course_yaml_line: int | None = None  # where the id went in course.yaml, if added


def new_lesson(course_dir: Path, lesson_id: str, *, from_lesson: str | None = None) -> Scaffolded:
    """Create lessons/<id>/ and solutions/<id>/ in the course at `course_dir`."""
    course_dir = Path(course_dir).resolve()
    match = LESSON_ID.match(lesson_id)
    if not match:
        raise ScaffoldError(
            f"{lesson_id!r} is not a lesson id; use two digits, a dash and a lowercase slug, "
            "for example 09-ring-buffers."
        )
    if not (course_dir / "course.yaml").is_file():
        raise ScaffoldError(f"{course_dir} has no course.yaml; point --course at a course folder.")
    number = match.group(1)
    taken = [
        p.name
        for top in ("lessons", "solutions")
        for p in sorted((course_dir / top).glob(f"{number}-*"))
    ]
    for top in ("lessons", "solutions"):
        if (course_dir / top / lesson_id).exists() or (course_dir / top / lesson_id).is_symlink():
            raise ScaffoldError(
                f"{top}/{lesson_id} already exists; the course does not overwrite a lesson "
                "(pick another id, or delete the folder first)."
            )
    if taken:
        raise ScaffoldError(
            f"Lesson number {number} is taken by {taken[0]}; pick a free number, since "
            "`course check NN` finds lessons by it."
        )
    source = _source_lesson(course_dir, from_lesson) if from_lesson else None
    result = Scaffolded(lesson_id)
    written: list[Path] = []
    try:
        if source is None:
            files = skeleton(lesson_id)
            for rel, text in files.items():
                path = course_dir / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "x", encoding="utf-8") as handle:  # never overwrite
                    handle.write(text)
                written.append(path)
        else:
            written += _copy_lesson(course_dir, source, lesson_id)
        result.course_yaml_line = add_to_course_yaml(course_dir / "course.yaml", lesson_id)
    except OSError as exc:
        for top in ("lessons", "solutions"):
            shutil.rmtree(course_dir / top / lesson_id, ignore_errors=True)
        raise ScaffoldError(f"Cannot write the lesson ({exc.strerror}): {exc.filename}.") from None
    result.files = [p.relative_to(course_dir) for p in written]
    return result


def _source_lesson(course_dir: Path, key: str) -> str:
    ids = sorted(p.name for p in (course_dir / "lessons").iterdir() if ANY_LESSON_ID.match(p.name))
    for lesson_id in ids:
        if id_answers_to(lesson_id, key):
            return lesson_id
    raise ScaffoldError(
        f"--from {key}: the course has no such lesson (lessons: {', '.join(ids) or 'none'})."
    )


def _copy_lesson(course_dir: Path, source: str, lesson_id: str) -> list[Path]:
    """Copy lessons/<source>/ and solutions/<source>/, renaming the lesson in
    their text files; links are not followed (the loader refuses them)."""
    old_number, new_number = source[:2], lesson_id[:2]
    written: list[Path] = []
    for top in ("lessons", "solutions"):
        src, dst = course_dir / top / source, course_dir / top / lesson_id
        if not src.is_dir():
            continue
        shutil.copytree(src, dst, symlinks=True, ignore=_COPY_IGNORE)
        for path in sorted(dst.rglob("*")):
            if path.is_file() and not path.is_symlink():
                written.append(path)
                if path.suffix in (".md", ".yaml", ".py"):
                    text = path.read_text(encoding="utf-8")
                    path.write_text(_rename(text, source, lesson_id, old_number, new_number))
    yaml = course_dir / "lessons" / lesson_id / "lesson.yaml"
    if yaml.is_file():
        title = _title(lesson_id)
        text = yaml.read_text(encoding="utf-8")
        text = re.sub(r"(?m)^title:.*$", f"title: {title}", text, count=1)
        yaml.write_text(text, encoding="utf-8")
    return written


def _rename(text: str, old_id: str, new_id: str, old_number: str, new_number: str) -> str:
    text = text.replace(old_id, new_id)
    text = re.sub(rf"(?i)\b(lesson\s+){old_number}\b", rf"\g<1>{new_number}", text)
    text = re.sub(
        rf"\b(course\s+(?:check|run|test|hint|solution|reset)\s+){old_number}\b",
        rf"\g<1>{new_number}",
        text,
    )
    return re.sub(rf"(?m)^# {old_number}\b", f"# {new_number}", text)


def _title(lesson_id: str) -> str:
    slug = lesson_id[3:].replace("-", " ")
    return slug[:1].upper() + slug[1:]


def add_to_course_yaml(path: Path, lesson_id: str) -> int | None:
    """Insert `lesson_id` into course.yaml's `lessons:` list, in number order,
    keeping the file's comments and layout. Returns the line it went on
    (None when it was listed already or the list cannot be found)."""
    try:
        doc, _ = read_doc(path, path.parent)
    except LoadError as exc:
        raise ScaffoldError(f"{exc}; fix course.yaml first (`course lint` shows why).") from None
    data = doc.data if isinstance(doc.data, dict) else {}
    listed = data.get("lessons")
    if not isinstance(listed, list) or lesson_id in listed:
        return None
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if not listed:
        return None
    key_line = doc.where(("lessons",), key=True).line
    item_lines = [doc.where(("lessons", i)).line for i in range(len(listed))]
    if item_lines[0] == key_line:  # a flow list: lessons: [a, b]
        row = lines[key_line - 1]
        before = [x for x in listed if isinstance(x, str) and x < lesson_id]
        items = [str(x) for x in listed]
        items.insert(len(before), lesson_id)
        lines[key_line - 1] = re.sub(r"\[.*\]", "[" + ", ".join(items) + "]", row, count=1)
        path.write_text("".join(lines), encoding="utf-8")
        return key_line
    later = [
        n for n, x in zip(item_lines, listed, strict=True) if isinstance(x, str) and x > lesson_id
    ]
    at = later[0] if later else item_lines[-1] + 1
    template = lines[item_lines[-1] - 1]
    indent = template[: len(template) - len(template.lstrip())]
    if not lines[-1].endswith("\n") and at > len(lines):
        lines[-1] += "\n"
    lines.insert(at - 1, f"{indent}- {lesson_id}\n")
    path.write_text("".join(lines), encoding="utf-8")
    return at


# ---------------------------------------------------------------- the skeleton


def skeleton(lesson_id: str) -> dict[str, str]:
    """{path relative to the course: text} of a new lesson from scratch."""
    number = lesson_id[:2]
    values = {"@@ID@@": lesson_id, "@@NN@@": number, "@@TITLE@@": _title(lesson_id)}

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace(key, value)
        return text

    tests_starter = _TESTS.replace(
        "@@SKIP@@", 'pytestmark = pytest.mark.skip(reason="delete this line to run the tests")\n\n'
    )
    return {
        f"lessons/{lesson_id}/lesson.yaml": fill(_LESSON_YAML),
        f"lessons/{lesson_id}/README.md": fill(_README),
        f"lessons/{lesson_id}/probe.py": fill(_STARTER),
        f"lessons/{lesson_id}/tests/test_probe.py": fill(tests_starter),
        f"solutions/{lesson_id}/probe.py": fill(_SOLUTION),
        f"solutions/{lesson_id}/tests/test_probe.py": fill(_TESTS.replace("@@SKIP@@", "")),
        f"solutions/{lesson_id}/wrong/no_count.py": fill(_WRONG),
    }


_LESSON_YAML = r"""# yaml-language-server: $schema=../../schema/lesson.schema.json
# Lesson @@ID@@, made by `course new`. Every field is explained in docs/authoring.md;
# `course lint @@NN@@` checks this file in seconds, `course validate --lesson @@NN@@` runs it.

# The title in the lesson list.
title: @@TITLE@@
# Kernel features the live runs need; on a host without one the lesson is
# "unsupported" there (and runs with --vm). kprobes, uprobes, tracepoints, ...
requires: [tracepoints]
# The lesson text (default README.md), inside this folder.
text: README.md
# What the lesson list shows (optional, but every lesson of the embedded course has them):
# about how many minutes a learner needs, reading and probe together ("~25 min") ...
minutes: 25
# ... how hard it is for someone who did its prerequisites: beginner, intermediate, advanced ...
difficulty: beginner
# ... what it teaches, in a few short phrases (`course list --json` shows them) ...
concepts: [syscall tracepoints, filtering by pid in the kernel, perf buffer events]
# ... and the ids of the lessons it builds on; each must come earlier in course.yaml's
# lessons, e.g. [06-tracepoints].
prerequisites: []
# `course hint @@NN@@` reveals these one at a time: the gentlest first.
hints:
  - TRACEPOINT_PROBE(syscalls, sys_enter_openat) runs for every openat() on the machine;
    keep only the calls of TARGET_PID (the upper 32 bits of bpf_get_current_pid_tgid()).
  - Copy the file name with bpf_probe_read_user_str(&ev.filename, sizeof(ev.filename),
    args->filename) and send the event with events.perf_submit(args, &ev, sizeof(ev)).
  - Count the events you print, and print the count last.
# The live steps, in order. Each starts the probe as [python, probe.py, *args]
# (or runs `command` instead); placeholders come from the workload's ground truth.
runs:
  - id: main                    # the run checks read unless they say `run:`
    args: [-p, "{workload.pid}", -d, "0"]
    ready: '^Attached to syscalls:sys_enter_openat$'  # the workload starts after this line
    ready_timeout: 30           # seconds to wait for it
    # A workload with a known pid and comm that does exactly what it reports:
    # open-marker opens one unique file `count` times (facts: path, opens).
    workload: {kind: open-marker, params: {count: {random: [3, 9]}, noise: true}}
    stop: after-workload        # SIGINT once the workload is done and `settle` passed
    settle: 1.0
    timeout: 40                 # wall-clock limit of the step
  - id: tests                   # the learner's own tests, as the text documents them
    command: ["{python}", -m, pytest, -q, tests]
    timeout: 60
# What is scored: a kind (docs/authoring.md lists them) with params, points, a hint
# shown when the check fails and the section of the text to read then: a heading of
# README.md as written after its #s (any level; case does not matter).
checks:
  - id: attached
    kind: output.line
    hint: Print "Attached to syscalls:sys_enter_openat" (flushed) once the program is loaded.
    section: Steps
    params: {pattern: '^Attached to syscalls:sys_enter_openat$'}
  - id: marker-opens
    kind: events.match
    points: 3
    hint: Print one line "[<pid>] open <filename>" per openat of the target process, no more.
    section: One tracepoint, one process
    params:
      pattern: '^\[(?P<pid>\d+)\] open (?P<filename>.*)$'
      where: {pid: "{workload.pid}", filename: "{workload.facts.path}"}
      min: "{workload.facts.opens}"
      max: "{workload.facts.opens}"
  - id: events-total
    kind: counts.total
    hint: End with "Detached after N opens." where N is the number of event lines you printed.
    section: Steps
    params: {total: '^Detached after (?P<n>\d+) opens\.$', count: '^\[\d+\] open '}
  - id: kernel-hook
    kind: kernel.program
    hint: The lines must come from a BPF program the kernel runs at syscalls:sys_enter_openat.
    section: One tracepoint, one process
    params:
      attach: [tracepoint:syscalls:sys_enter_openat]
      min_runs: "{workload.facts.opens}"
  - id: imports
    kind: static.imports
    hint: Import only what the course environment provides (bcc, the standard library).
    section: Steps
  - id: learner-tests
    kind: pytest.workflow
    run: tests
    hint: Delete the pytestmark skip line in tests/test_probe.py, then make the tests pass.
    section: Learner tests
  - id: pytest-command
    kind: docs.pytest_command
    run: tests
    section: Learner tests
  - id: expected-output
    kind: docs.expected_output
    hint: Print the lines in the shape the lesson's "Expected output" shows.
    section: Expected output
"""

_README = r"""# Lesson @@NN@@: @@TITLE@@

## Goal

Write `probe.py -p PID -d N`: a tracer that prints one line for every file
the process PID opens, and how many there were.

## Concepts

### One tracepoint, one process

`syscalls:sys_enter_openat` fires for every `openat()` on the machine. The
BPF program keeps only the calls of the process it was asked about and
sends each one to Python through a perf buffer.

## Steps

1. Open `probe.py`: argument parsing and the perf buffer loop are done.
2. In `PROGRAM`, return early unless the caller is `TARGET_PID`, copy the
   file name with `bpf_probe_read_user_str` and submit the event.
3. Finish `format_event()` so a line reads `[<pid>] open <filename>`.
4. Try it: `sudo python3 probe.py -p $$ -d 5`, then check your work with
   `course check @@NN@@`.

## Expected output

```output
Attached to syscalls:sys_enter_openat
[2396] open <path>
[2396] open <path>
Detached after 2 opens.
```

## Learner tests

The tests start skipped: open `tests/test_probe.py`, delete the line that
starts with `pytestmark = pytest.mark.skip`, then run from this lesson's
folder in your workspace:

```bash
./course test @@NN@@
```

It runs `python -m pytest -q tests` with the course's own interpreter.

## Troubleshooting

- **No line at all**: the filter compares the thread id; the process id is
  the upper 32 bits of `bpf_get_current_pid_tgid()`.
- **`filename=` is empty**: use `bpf_probe_read_user_str`, the name lives in
  the traced process's memory.
"""

_PROBE_HEAD = r'''#!/usr/bin/env python3
"""Lesson @@NN@@: print the files one process opens, with a tracepoint."""

import argparse
import time

from bcc import BPF

'''

_PROBE_TAIL = r"""

def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Print the files process PID opens.")
    parser.add_argument("-p", "--pid", type=int, required=True, help="the process to trace")
    parser.add_argument(
        "-d", "--duration", type=float, default=5, help="seconds to trace (0: until Ctrl+C)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bpf = BPF(text=PROGRAM, cflags=[f"-DTARGET_PID={args.pid}"])
    count = 0

    def on_event(cpu, data, size):
        nonlocal count
        event = bpf["events"].event(data)
        COUNT_EVENT
        print(format_event(event.pid, event.filename.decode(errors="replace")), flush=True)

    bpf["events"].open_perf_buffer(on_event)
    print("Attached to syscalls:sys_enter_openat", flush=True)
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while deadline is None or time.monotonic() < deadline:
            bpf.perf_buffer_poll(timeout=100)
    except KeyboardInterrupt:
        pass
    bpf.perf_buffer_poll(timeout=0)  # what arrived just before the stop
    print(f"Detached after {count} opens.", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
"""

_SOLUTION_PROGRAM = r'''PROGRAM = r"""
struct event_t {
    u32 pid;
    char filename[256];
};
BPF_PERF_OUTPUT(events);

TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    if (pid != TARGET_PID)
        return 0;
    struct event_t ev = {};
    ev.pid = pid;
    bpf_probe_read_user_str(&ev.filename, sizeof(ev.filename), args->filename);
    events.perf_submit(args, &ev, sizeof(ev));
    return 0;
}
"""


def format_event(pid: int, filename: str) -> str:
    return f"[{pid}] open {filename}"
'''

_STARTER_PROGRAM = r'''PROGRAM = r"""
struct event_t {
    u32 pid;
    char filename[256];
};
BPF_PERF_OUTPUT(events);

TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
    // TODO: return 0 unless the caller's process id (the upper 32 bits of
    // bpf_get_current_pid_tgid()) is TARGET_PID.
    // TODO: fill a struct event_t (pid, and the filename copied with
    // bpf_probe_read_user_str from args->filename), then
    // events.perf_submit(args, &ev, sizeof(ev)).
    return 0;
}
"""


def format_event(pid: int, filename: str) -> str:
    # TODO: "[<pid>] open <filename>"
    return ""
'''

_COUNT = "count += 1"
_SOLUTION = _PROBE_HEAD + _SOLUTION_PROGRAM + _PROBE_TAIL.replace("COUNT_EVENT", _COUNT)
_STARTER = _PROBE_HEAD + _STARTER_PROGRAM + _PROBE_TAIL.replace("COUNT_EVENT", _COUNT)
_WRONG = (
    "#!/usr/bin/env python3\n"
    "# must-fail: events-total\n"
    "# why: prints every event but forgets to count them, so the total says 0\n"
    + (_PROBE_HEAD + _SOLUTION_PROGRAM + _PROBE_TAIL.replace("COUNT_EVENT", "pass")).split("\n", 1)[
        1
    ]
)

_TESTS = r'''"""Tests of probe.py's pure helpers: no root, no BPF program is loaded."""

import importlib.util
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent
PROBE = HERE.parent / "probe.py"

@@SKIP@@
def load_probe():
    spec = importlib.util.spec_from_file_location("lesson_probe", PROBE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_pid_is_required_and_duration_has_a_default():
    probe = load_probe()
    assert probe.parse_args(["-p", "42"]).duration == 5
    with pytest.raises(SystemExit):
        probe.parse_args([])


def test_event_line():
    probe = load_probe()
    assert probe.format_event(42, "/etc/hostname") == "[42] open /etc/hostname"
'''
