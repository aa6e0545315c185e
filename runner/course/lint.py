"""`course lint`: an author's mistakes found in seconds, without running a probe.

Each rule reads the course's files and returns Problems (file:line, what is
wrong, how to fix it). Most rules are pure functions of text; the only
subprocess is pytest's collection of the solution's tests, in a temporary
copy (`collect_problems`). What needs a live run is left to `course
validate`: that the documented expected output is what the solution
prints (docs.expected_output), that the starter and each wrong variant
fail (LIVE_ONLY says so in every report).

Rules, in the order a lesson is read (`RULES` names them):

- files:    no symbolic link and nothing stray in lessons/ID/ and solutions/ID/
            (ALLOWED, plus the files the text links to);
- load:     lesson.yaml against the schema and the lesson's own sense, by the
            loader (runner.course.load): its errors already carry file:line;
- text:     a `#` title, a goal (a `## Goal` section or an introduction) and the
            skeleton's sections (REQUIRED_SECTIONS), none empty;
- snippets: every ```python block parses, nests no event loop and imports only
            what resolves and is declared (checks.static);
- pytest:   every pytest command in a shell block is the lesson's own command
            and collects at least one test that is not skipped, against the
            solution's tests;
- links:    every relative link resolves inside the course, every
            "lesson NN" / `course check NN` names a lesson of the course;
- hints:    the lesson has hints and none is blank, no check's hint is blank;
- templates: `{workload.x}` / `{run.x}` name fields a recording has (the loader
            checks only what a template starts with);
- starter:  the starter probe.py has a TODO.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from runner.course.markdown import fenced_blocks, source_lines
from runner.course.yamldoc import LoadError, read_doc, relative, symlink_problems, unique
from runner.model import LESSON_ID, Lesson, id_answers_to

RULES = (
    "course",
    "files",
    "load",
    "text",
    "snippets",
    "pytest",
    "links",
    "hints",
    "templates",
    "starter",
)
REQUIRED_SECTIONS = ("Concepts", "Steps", "Expected output", "Troubleshooting")
# A challenge (NNc-slug) states a goal and leaves the steps to the learner;
# its concepts and troubleshooting are its lesson's.
CHALLENGE_SECTIONS = ("Expected output",)
LIVE_ONLY = (
    "Lint runs no probe: that the documented expected output is what the solution prints "
    "(docs.expected_output), that the starter fails and that each wrong variant fails the "
    "check it names are `course validate`'s job."
)
# What may sit in a lesson's folders besides the files its text links to.
# Generated caches (__pycache__, .pytest_cache) are ignored, never reported.
ALLOWED = {
    "lessons": ("lesson.yaml", "README.md", "probe.py", "tests/*.py"),
    "solutions": ("probe.py", "tests/*.py", "wrong/*.py"),
}
IGNORED_DIRS = {"__pycache__", ".pytest_cache"}
COLLECT_TIMEOUT = 60.0
_PYTHON_INFOS = {"python", "py", "python3"}
_SHELL_INFOS = {"bash", "sh", "console", "shell", "shell-session", "zsh"}


@dataclass(frozen=True)
class Problem:
    """One thing to fix: where (relative to the course folder), what, how."""

    file: str
    line: int
    message: str
    fix: str
    rule: str
    lesson: str | None = None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message} Fix: {self.fix}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LintReport:
    course: Path
    lessons: list[str]
    problems: list[Problem] = field(default_factory=list)
    not_checked: str = LIVE_ONLY

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": 1,
            "status": "pass" if self.ok else "fail",
            "course": str(self.course),
            "lessons": self.lessons,
            "problems": [p.to_dict() for p in self.problems],
            "not_checked": self.not_checked,
        }


class CourseUnreadable(Exception):
    """There is no course to lint at all (exit 2): one sentence."""


# ---------------------------------------------------------------- entry point


def lint(
    course_dir: Path,
    keys: Sequence[str] | None = None,
    *,
    collect: bool = True,
    python: str = sys.executable,
) -> LintReport:
    """Lint the lessons named by `keys` (id, number or slug; default: every
    lesson folder) of the course in `course_dir`. CourseUnreadable when the
    folder holds no course or a key names no lesson."""
    course_dir = Path(course_dir).resolve()
    if not (course_dir / "course.yaml").is_file():
        raise CourseUnreadable(
            f"{course_dir} has no course.yaml; point --course at a course folder."
        )
    listed, problems = course_problems(course_dir)
    found = lesson_folders(course_dir)
    ids = sorted(set(found) | {i for i in listed if (course_dir / "lessons" / i).is_dir()})
    if keys:
        chosen = []
        for key in keys:
            match = _find(key, ids)
            if match is None:
                known = ", ".join(ids) or "none"
                raise CourseUnreadable(
                    f"There is no lesson {key!r} in {course_dir} (lessons: {known}); give an "
                    "id, number or slug."
                )
            chosen.append(match)
        ids = list(dict.fromkeys(chosen))
        problems = [p for p in problems if p.lesson in ids]
    numbers = {int(i[:2]) for i in set(found) | set(listed) if LESSON_ID.match(i)}
    # prerequisites are judged against course.yaml's order (unknown when it lists none)
    order = list(dict.fromkeys(i for i in listed if LESSON_ID.match(i))) or None
    _load_registries()  # before the threads: the registries import their modules on first use
    results: list[list[Problem]] = []
    with ThreadPoolExecutor(max_workers=4) as pool:  # pytest collection waits on subprocesses
        futures = [
            pool.submit(
                lint_lesson, course_dir, i, numbers, collect=collect, python=python, order=order
            )
            for i in ids
        ]
        results = [f.result() for f in futures]
    for found_problems in results:
        problems += found_problems
    # A course-wide problem (a broken plugin) is reported once, not once per lesson.
    return LintReport(course_dir, ids, unique_problems(problems))


def _load_registries() -> None:
    import checks
    from runner.workloads import all_workloads

    checks.all_kinds()
    all_workloads()
    import checks.docs  # noqa: F401  (the pytest-command logic)
    import checks.static  # noqa: F401


def _find(key: str, ids: Iterable[str]) -> str | None:
    return next((lesson_id for lesson_id in ids if id_answers_to(lesson_id, key)), None)


def lesson_folders(course_dir: Path) -> list[str]:
    folder = course_dir / "lessons"
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if LESSON_ID.match(p.name))


# ---------------------------------------------------------------- course.yaml


def course_problems(course_dir: Path) -> tuple[list[str], list[Problem]]:
    """(the lesson ids course.yaml lists, problems of course.yaml)."""
    from runner.course.schema_errors import published_schema, schema_problems

    try:
        doc, errors = read_doc(course_dir / "course.yaml", course_dir)
    except LoadError as exc:
        return [], [_from_load(e, None, "course") for e in exc.errors]
    if not isinstance(doc.data, dict):
        msg = "course.yaml must be a mapping with title, version and lessons."
        return [], [Problem("course.yaml", 1, msg, _fix("course", msg), "course")]
    errors += schema_problems(doc, "the course", doc.data, published_schema("course"))
    problems = [_from_load(e, None, "course") for e in errors]
    listed = [i for i in doc.data.get("lessons") or [] if isinstance(i, str)]
    for n, lesson_id in enumerate(listed):
        if LESSON_ID.match(lesson_id) and not (course_dir / "lessons" / lesson_id).is_dir():
            line = doc.where(("lessons", n)).line
            problems.append(
                Problem(
                    "course.yaml",
                    line,
                    f"course.yaml lists {lesson_id}, but lessons/{lesson_id}/ does not exist.",
                    f"create it with `course new {lesson_id}` or remove the line.",
                    "course",
                    lesson_id,
                )
            )
    if listed:
        for lesson_id in lesson_folders(course_dir):
            if lesson_id not in listed:
                problems.append(
                    Problem(
                        f"lessons/{lesson_id}/lesson.yaml",
                        1,
                        f"lessons/{lesson_id}/ is not in course.yaml's lessons, so no learner "
                        "sees it.",
                        f"add `  - {lesson_id}` to the lessons list in course.yaml.",
                        "course",
                        lesson_id,
                    )
                )
    return listed, problems


# ---------------------------------------------------------------- one lesson


def lint_lesson(
    course_dir: Path,
    lesson_id: str,
    lesson_numbers: set[int],
    *,
    collect: bool = True,
    python: str = sys.executable,
    order: list[str] | None = None,
) -> list[Problem]:
    lesson_dir = course_dir / "lessons" / lesson_id
    solution_dir = course_dir / "solutions" / lesson_id
    links = symlink_problems(course_dir, lesson_dir, solution_dir)
    problems = [_from_load(e, lesson_id, "files") for e in links]
    if links:
        return problems  # nothing is read through a link (the loader refuses them too)
    lesson: Lesson | None = None
    from runner.course.load import load_lesson

    try:
        lesson = load_lesson(course_dir, lesson_id, order=order)
    except LoadError as exc:
        problems += [_from_load(e, lesson_id, "load") for e in exc.errors]
    raw = _raw_lesson(course_dir, lesson_id)
    text_name = raw.get("text", "README.md") if isinstance(raw.get("text"), str) else "README.md"
    text_path = lesson_dir / text_name
    text = _read(text_path)
    text_file = relative(text_path, course_dir)
    if text is not None:
        problems += text_problems(text, text_file, lesson_id)
        problems += snippet_problems(text, text_file, lesson_id)
        problems += link_problems(text, text_path, course_dir, lesson_id, lesson_numbers)
        problems += pytest_problems(
            text, text_file, lesson, course_dir, lesson_id, collect=collect, python=python
        )
    linked = set(_linked_files(text, text_path)) if text is not None else set()
    problems += stray_problems(course_dir, lesson_id, text_name, linked)
    problems += hint_problems(course_dir, lesson_id)
    problems += template_field_problems(course_dir, lesson_id)
    problems += starter_problems(course_dir, lesson_id)
    seen: set[str] = set()
    out = []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


def _read(path: Path) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None  # the loader says the file is missing
    with os.fdopen(fd, "rb") as handle:
        return handle.read(2_000_000).decode("utf-8", errors="replace")


def _raw_lesson(course_dir: Path, lesson_id: str) -> dict[str, Any]:
    try:
        doc, _ = read_doc(course_dir / "lessons" / lesson_id / "lesson.yaml", course_dir)
    except LoadError:
        return {}
    return doc.data if isinstance(doc.data, dict) else {}


# ---------------------------------------------------------------- loader errors

# The loader's sentences say what is wrong; most say how to fix it too. The
# fix shown beside them, by what they say.
_LOAD_FIXES: list[tuple[str, str]] = [
    (r"is not valid YAML", "correct the YAML syntax at that line (quote values holding ': ')."),
    (r"unknown check kind", "use one of the kinds listed in docs/authoring.md."),
    (r"unknown workload kind", "use one of the workloads listed in docs/contracts.md."),
    (
        r"not a valid regular expression",
        "fix the regex (test it with python -c 'import re; re.compile(...)').",
    ),
    (r"must-fail", "name one of the lesson's check ids in the `# must-fail:` line."),
    (r"symbolic link", "replace the link with a copy of the file it points to."),
    (
        r"is not allowed|unexpected|not a key|unknown key",
        "remove or rename the key; docs/authoring.md lists the keys.",
    ),
    (r"does not exist", "create the file or correct its name."),
    (
        r"not a heading of",
        "name a heading of the lesson text as written (without the #s), or add that heading.",
    ),
    (
        r"prerequisite",
        "list only lessons that come earlier in course.yaml's lessons (by their NN-slug id).",
    ),
    (r"is used twice|listed twice|duplicate key", "give each item its own id (keys once)."),
    (
        r"template|placeholder|\{",
        "use only the placeholders docs/contracts.md lists for that field.",
    ),
]


def _fix(rule: str, message: str) -> str:
    for pattern, fix in _LOAD_FIXES:
        if re.search(pattern, message):
            return fix
    return "change the value as the message says; docs/authoring.md describes every key."


def _from_load(error: LoadError, lesson_id: str | None, rule: str) -> Problem:
    message = error.message.rstrip(".") + "."
    return Problem(
        error.where.file, error.where.line, message, _fix(rule, message), rule, lesson_id
    )


# ---------------------------------------------------------------- files


def _allowed(rel: str, patterns: Iterable[str]) -> bool:
    from fnmatch import fnmatchcase

    return any(fnmatchcase(rel, p) and rel.count("/") == p.count("/") for p in patterns)


def stray_problems(
    course_dir: Path, lesson_id: str, text_name: str, linked: set[Path]
) -> list[Problem]:
    """Files no rule names: a lesson folder holds the lesson, nothing else
    (a forgotten notes.txt or core dump would be copied to every learner)."""
    problems = []
    for top in ("lessons", "solutions"):
        folder = course_dir / top / lesson_id
        allowed = (*ALLOWED[top], text_name) if top == "lessons" else ALLOWED[top]
        if not folder.is_dir():
            continue
        for dirpath, dirs, files in os.walk(folder):
            dirs[:] = sorted(d for d in dirs if d not in IGNORED_DIRS)
            for name in sorted(files):
                path = Path(dirpath) / name
                rel = path.relative_to(folder).as_posix()
                if _allowed(rel, allowed) or path.resolve() in linked:
                    continue
                shown = relative(path, course_dir)
                problems.append(
                    Problem(
                        shown,
                        1,
                        f"{shown} is not part of a lesson ({top}/{lesson_id}/ may hold "
                        f"{', '.join(allowed)} and files its text links to).",
                        "delete it, or link to it from the lesson text if learners need it.",
                        "files",
                        lesson_id,
                    )
                )
    return problems


# ---------------------------------------------------------------- text


def _heading_lines(text: str) -> list[tuple[int, int, str]]:
    """(level, 1-based line, text) of every top-level ATX/Setext heading."""
    from runner.course.markdown import _MD

    found = []
    tokens = _MD.parse(text)
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.level == 0 and tok.map:
            title = tokens[i + 1].content.strip() if i + 1 < len(tokens) else ""
            found.append((int(tok.tag[1:]), tok.map[0] + 1, title))
    return found


def text_problems(text: str, file: str, lesson_id: str | None = None) -> list[Problem]:
    """A title, a goal and the skeleton's sections, each with something in it."""
    problems: list[Problem] = []

    def add(line: int, message: str, fix: str) -> None:
        problems.append(Problem(file, line, message, fix, "text", lesson_id))

    if not text.strip():
        add(1, f"{file} is empty.", "start from the skeleton `course new` writes.")
        return problems
    headings = _heading_lines(text)
    lines = source_lines(text)
    first = next((n for n, line in enumerate(lines, 1) if line.strip()), 1)
    if not headings or headings[0][0] != 1 or headings[0][1] != first:
        add(
            first,
            f"{file} does not open with a `# ` title.",
            "make its first line `# <Lesson title>`.",
        )
    twos = [(line, title) for level, line, title in headings if level == 2]
    names = {title.casefold(): line for line, title in twos}

    def body(start: int, level: int) -> str:
        """The text under the heading on line `start`, up to the next heading
        of `level` or higher (its subsections count)."""
        after = [line for lv, line, _ in headings if line > start and lv <= level]
        end = min(after) - 1 if after else len(lines)
        return "\n".join(lines[start:end]).strip()

    intro_end = twos[0][0] - 1 if twos else len(lines)
    intro_start = headings[0][1] if headings and headings[0][0] == 1 else 0
    intro = "\n".join(lines[intro_start:intro_end]).strip()
    if "goal" not in names and not intro:
        add(
            intro_start or 1,
            f"{file} states no goal (no `## Goal` section and no introduction under the title).",
            "add a `## Goal` section saying what the learner's probe will do.",
        )
    if "goal" in names and not body(names["goal"], 2):
        add(
            names["goal"],
            "The `## Goal` section is empty.",
            "say what the learner's probe will do.",
        )
    match = LESSON_ID.match(lesson_id or "")
    required = CHALLENGE_SECTIONS if match and match.group(2) else REQUIRED_SECTIONS
    for wanted in required:
        line = names.get(wanted.casefold())
        if line is None:
            at = twos[-1][0] if twos else len(lines)
            add(
                at,
                f"{file} has no `## {wanted}` section.",
                f"add `## {wanted}` (the skeleton `course new` writes has every section).",
            )
        elif not body(line, 2):
            add(line, f"The `## {wanted}` section is empty.", f"write the {wanted.lower()}.")
    return problems


def snippet_problems(text: str, file: str, lesson_id: str | None = None) -> list[Problem]:
    """Every ```python block: valid, no nested event loop, declared imports
    (checks.static's rules, the ones docs.snippets applies at grading)."""
    from checks.static import import_findings, nested_loop_findings

    problems = []
    for block in fenced_blocks(text):
        if block.lang not in _PYTHON_INFOS:
            continue
        source = "\n".join(block.lines) + "\n"
        try:
            found = [
                (n, m, "rewrite the snippet so it runs as shown")
                for n, m in nested_loop_findings(source)
            ]
            found += [
                (n, m, "import only the standard library, bcc or a declared dependency")
                for n, _, m in import_findings(source, ["probe"])
            ]
        except SyntaxError as exc:
            found = [
                (
                    exc.lineno or 1,
                    f"the ```python snippet is not valid Python ({exc.msg})",
                    "correct it, or mark the block with another language if it is not Python",
                )
            ]
        for n, message, fix in sorted(found):
            message = message[0].upper() + message[1:]
            problems.append(
                Problem(
                    file,
                    block.line + n - 1,
                    message.rstrip(".") + ".",
                    fix + ".",
                    "snippets",
                    lesson_id,
                )
            )
    return problems


# ---------------------------------------------------------------- links


_LINK_MD = None


def _links(text: str) -> list[tuple[int, str]]:
    """(1-based line, target) of every inline link and image."""
    global _LINK_MD
    from markdown_it import MarkdownIt

    if _LINK_MD is None:
        _LINK_MD = MarkdownIt("commonmark").enable("table")
    found = []
    for tok in _LINK_MD.parse(text):
        if tok.type != "inline" or not tok.children or not tok.map:
            continue
        line = tok.map[0] + 1
        for child in tok.children:
            if child.type == "softbreak" or child.type == "hardbreak":
                line += 1
            target = child.attrGet("href") if child.type == "link_open" else None
            if child.type == "image":
                target = child.attrGet("src")
            if isinstance(target, str):
                found.append((line, target))
    return found


def _relative_target(target: str) -> str | None:
    if not target or target.startswith("#") or re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target):
        return None  # an anchor, a URL, mailto: ...
    return target.split("#", 1)[0].split("?", 1)[0] or None


def _linked_files(text: str, text_path: Path) -> list[Path]:
    out = []
    for _, target in _links(text):
        rel = _relative_target(target)
        if rel and not rel.startswith("/"):
            out.append((text_path.parent / rel).resolve())
    return out


# "lesson 06", "Lessons 01 and 02" (the first), `course check 03 --vm`
_LESSON_REF = re.compile(
    r"\blessons?\s+(\d{2})\b|\bcourse\s+(?:check|run|hint|solution|reset|validate\s+--lesson|"
    r"start\s+--lesson)\s+(\d{2})\b",
    re.IGNORECASE,
)


def link_problems(
    text: str, text_path: Path, course_dir: Path, lesson_id: str | None, numbers: set[int]
) -> list[Problem]:
    file = relative(text_path, course_dir)
    problems = []
    for line, target in _links(text):
        rel = _relative_target(target)
        if rel is None:
            continue
        if rel.startswith("/"):
            problems.append(
                Problem(
                    file,
                    line,
                    f"The link {target!r} is an absolute path.",
                    "link relative to the lesson text, inside the course.",
                    "links",
                    lesson_id,
                )
            )
            continue
        resolved = (text_path.parent / rel).resolve()
        if not resolved.is_relative_to(course_dir):
            problems.append(
                Problem(
                    file,
                    line,
                    f"The link {target!r} leads outside the course.",
                    "link only to files of the course (learners get only those).",
                    "links",
                    lesson_id,
                )
            )
        elif not resolved.exists():
            problems.append(
                Problem(
                    file,
                    line,
                    f"The link {target!r} leads to nothing: {relative(resolved, course_dir)} "
                    "does not exist.",
                    "correct the path or add the file.",
                    "links",
                    lesson_id,
                )
            )
    for n, raw in enumerate(source_lines(text), 1):
        for m in _LESSON_REF.finditer(raw):
            number = int(m.group(1) or m.group(2))
            if number not in numbers:
                have = ", ".join(f"{x:02d}" for x in sorted(numbers))
                problems.append(
                    Problem(
                        file,
                        n,
                        f"{m.group(0)!r} refers to lesson {number:02d}, which this "
                        f"course does not have (lessons: {have}).",
                        "name an existing lesson, or write the lesson first.",
                        "links",
                        lesson_id,
                    )
                )
    return problems


# ---------------------------------------------------------------- pytest commands


def documented_pytest_commands(text: str) -> list[tuple[int, list[str]]]:
    """(line, argv) of every pytest command in the text's shell blocks
    (checks.docs decides what a shell command is and whether it runs pytest)."""
    from checks.docs import _shell_commands, runs_pytest

    found = []
    for block in fenced_blocks(text):
        if block.lang in _SHELL_INFOS:
            console = block.lang in ("console", "shell-session")
            for offset, argv in _shell_commands(block.lines, console=console):
                if runs_pytest(argv):
                    found.append((block.line + offset, argv))
    return found


def pytest_problems(
    text: str,
    file: str,
    lesson: Lesson | None,
    course_dir: Path,
    lesson_id: str,
    *,
    collect: bool = True,
    python: str = sys.executable,
) -> list[Problem]:
    """The documented pytest commands: the lesson's own (judged by the very
    check grading uses, docs.pytest_command), and each collects at least one
    test that is not skipped against the solution's tests."""
    commands = documented_pytest_commands(text)
    problems = []
    if lesson is not None:
        problems += _command_problems(lesson, file, lesson_id, commands)
    if not collect:
        return problems
    solution_dir = course_dir / "solutions" / lesson_id
    lesson_dir = course_dir / "lessons" / lesson_id
    for line, argv in {tuple(a): (n, a) for n, a in commands}.values():
        outcome = collect_tests(solution_dir, _as_run(argv, lesson_dir), python=python)
        if outcome is None:
            continue
        runnable, total, detail = outcome
        if runnable < 1:
            if total:
                what = f"{total} tests, all skipped,"
            else:
                what = f"no test ({detail})" if detail else "no test"
            problems.append(
                Problem(
                    file,
                    line,
                    f"`{shlex.join(argv)}` collects {what} against the solution "
                    f"(solutions/{lesson_id}/tests).",
                    "give the solution unskipped tests the command finds (tests/test_*.py "
                    "with test_ functions), or correct the command's path.",
                    "pytest",
                    lesson_id,
                )
            )
    return problems


def _as_run(argv: list[str], lesson_dir: Path) -> list[str]:
    """What a documented command runs: `./course test NN ARGS` is the lesson's
    `python -m pytest -q tests ARGS` (runner.lesson_shell)."""
    from checks.docs import course_test

    via_course = course_test(argv)
    if via_course is None:
        return list(argv)
    from runner.lesson_shell import test_argv

    return test_argv("python", lesson_dir, via_course[1])


def _command_problems(
    lesson: Lesson, file: str, lesson_id: str, commands: list[tuple[int, list[str]]]
) -> list[Problem]:
    import checks
    from checks.context import Context
    from runner.model import Recording, Run

    kind = checks.get("docs.pytest_command")
    specs = {c.run for c in lesson.checks if c.kind == "docs.pytest_command"}
    problems = []
    for spec in lesson.runs:
        if spec.id not in specs or not spec.command:
            continue
        run = Run(id=spec.id, argv=list(spec.command))
        ctx = Context(Recording(lesson.id, "", ""), run, lesson)
        verdict = kind.func({}, ctx) if kind else None
        if verdict is None or verdict.status == "pass":
            continue
        line = 1
        match = re.search(r" line (\d+)", verdict.message)
        if match:
            line = int(match.group(1))
        elif commands:
            line = commands[0][0]
        message = re.sub(r"^\S+ line \d+ ", "It ", verdict.message)
        problems.append(
            Problem(
                file,
                line,
                message,
                "document the command the lesson's run executes, as the message says.",
                "pytest",
                lesson_id,
            )
        )
    return problems


_PLUGIN = textwrap.dedent(
    '''
    """Counts collected tests and the ones a skip mark would skip (course lint)."""
    import json

    def pytest_collection_finish(session):
        try:
            from _pytest.skipping import evaluate_skip_marks
        except ImportError:
            evaluate_skip_marks = None
        skipped = 0
        for item in session.items:
            try:
                if evaluate_skip_marks is not None:
                    skip = evaluate_skip_marks(item) is not None
                else:
                    skip = item.get_closest_marker("skip") is not None
            except Exception:
                skip = True  # a skipif that cannot be evaluated skips nothing reliably
            skipped += skip
        print("EBPFC-LINT-COLLECT " + json.dumps({"total": len(session.items), "skipped": skipped}))
    '''
)


def collect_tests(
    solution_dir: Path, argv: list[str], *, python: str = sys.executable
) -> tuple[int, int, str] | None:
    """(tests not skipped, tests collected, pytest's last line) when `argv`
    collects against a temporary copy of the solution (probe.py, tests/);
    None when there is no solution to collect against (the loader says so)."""
    from checks.pytest import is_python

    if not (solution_dir / "probe.py").is_file():
        return None
    words = list(argv)
    while words and re.fullmatch(r"[A-Za-z_]\w*=.*", words[0]):
        words = words[1:]
    if words and is_python(words[0]):
        words = [python, *words[1:]]
    else:
        words = [python, "-m", "pytest", *words[1:]]
    with tempfile.TemporaryDirectory(prefix="ebpfc-lint-") as tmp:
        work = Path(tmp) / "lesson"
        work.mkdir()
        shutil.copy2(solution_dir / "probe.py", work / "probe.py")
        if (solution_dir / "tests").is_dir():
            shutil.copytree(
                solution_dir / "tests",
                work / "tests",
                symlinks=True,
                ignore=shutil.ignore_patterns(*IGNORED_DIRS),
            )
        plugin_dir = Path(tmp) / "plugin"
        plugin_dir.mkdir()
        (plugin_dir / "ebpfc_lint_collect.py").write_text(_PLUGIN)
        env = {**os.environ, "PYTHONPATH": str(plugin_dir), "PYTHONDONTWRITEBYTECODE": "1"}
        env.pop("PYTEST_ADDOPTS", None)
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # the learner tests need none; textual is slow
        cmd = [*words, "--collect-only", "-q", "-p", "ebpfc_lint_collect", "-p", "no:cacheprovider"]
        try:
            done = subprocess.run(
                cmd,
                cwd=work,
                env=env,
                capture_output=True,
                text=True,
                timeout=COLLECT_TIMEOUT,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return 0, 0, f"pytest did not finish: {exc}"
    out = done.stdout.splitlines()
    for line in out:
        if line.startswith("EBPFC-LINT-COLLECT "):
            import json

            counts = json.loads(line.split(" ", 1)[1])
            return counts["total"] - counts["skipped"], counts["total"], ""
    last = next((ln for ln in reversed(out + done.stderr.splitlines()) if ln.strip()), "")
    return 0, 0, last.strip()[:160]


# ---------------------------------------------------------------- hints, starter


def hint_problems(course_dir: Path, lesson_id: str) -> list[Problem]:
    path = course_dir / "lessons" / lesson_id / "lesson.yaml"
    try:
        doc, _ = read_doc(path, course_dir)
    except LoadError:
        return []  # the loader reports it
    data = doc.data if isinstance(doc.data, dict) else {}
    file = doc.file
    problems = []
    hints = data.get("hints")
    if not hints:
        where = doc.where(("hints",), key=True).line if "hints" in data else 1
        problems.append(
            Problem(
                file,
                where,
                "The lesson has no hints; a stuck learner gets nothing from `course hint`.",
                "add `hints:` with two or three sentences, the gentlest first.",
                "hints",
                lesson_id,
            )
        )
    for i, hint in enumerate(hints if isinstance(hints, list) else []):
        if isinstance(hint, str) and not hint.strip():
            problems.append(
                Problem(
                    file,
                    doc.where(("hints", i)).line,
                    f"Hint {i + 1} is blank.",
                    "write the hint or delete the item.",
                    "hints",
                    lesson_id,
                )
            )
    for i, check in enumerate(data.get("checks") if isinstance(data.get("checks"), list) else []):
        if (
            isinstance(check, dict)
            and isinstance(check.get("hint"), str)
            and not check["hint"].strip()
        ):
            problems.append(
                Problem(
                    file,
                    doc.where(("checks", i, "hint")).line,
                    f"The hint of check {check.get('id', i + 1)!r} is blank.",
                    "say what to change when this check fails, or drop the key.",
                    "hints",
                    lesson_id,
                )
            )
    return unique_problems(problems)


def _fields(cls: type) -> set[str]:
    import dataclasses

    return {f.name for f in dataclasses.fields(cls)}


def template_field_problems(course_dir: Path, lesson_id: str) -> list[Problem]:
    """`{workload.<field>}`, `{run.<field>}` and `{runs.<id>.<field>}` name a
    field the recording has (the loader checks the roots; a misspelt field
    would only fail at grading, as an error verdict)."""
    from runner import templates
    from runner.model import Run, WorkloadTruth

    try:
        doc, _ = read_doc(course_dir / "lessons" / lesson_id / "lesson.yaml", course_dir)
    except LoadError:
        return []
    known = {"workload": _fields(WorkloadTruth), "run": _fields(Run)}
    problems = []
    for section in ("runs", "checks"):
        items = doc.data.get(section) if isinstance(doc.data, dict) else None
        for i, item in enumerate(items if isinstance(items, list) else []):
            for sub, text in templates.walk(item):
                for m in templates.PLACEHOLDER.finditer(text):
                    head, *rest = m.group(1).split(".")
                    if head == "runs" and len(rest) >= 2:
                        head, rest = "run", rest[1:]
                    if head in known and rest and rest[0] not in known[head]:
                        hint = ", ".join(sorted(known[head]))
                        problems.append(
                            Problem(
                                doc.file,
                                doc.where((section, i, *sub)).line,
                                f"{m.group(0)} names no field of the {head} (it has {hint}).",
                                f"correct the field name in {m.group(0)}.",
                                "templates",
                                lesson_id,
                            )
                        )
    return problems


def starter_problems(course_dir: Path, lesson_id: str) -> list[Problem]:
    path = course_dir / "lessons" / lesson_id / "probe.py"
    text = _read(path)
    if text is None or "TODO" in text:
        return []
    return [
        Problem(
            relative(path, course_dir),
            1,
            "The starter probe.py has no TODO, so the learner cannot tell what to write.",
            "mark each place the learner fills in with a `# TODO:` comment.",
            "starter",
            lesson_id,
        )
    ]


def unique_problems(problems: list[Problem]) -> list[Problem]:
    seen: set[str] = set()
    return [p for p in problems if not (str(p) in seen or seen.add(str(p)))]


__all__ = [
    "ALLOWED",
    "LIVE_ONLY",
    "CourseUnreadable",
    "LintReport",
    "Problem",
    "REQUIRED_SECTIONS",
    "collect_tests",
    "lint",
    "lint_lesson",
    "unique",
]
