"""Lesson text versus reality: documented output must have the shape of
what the probe really prints (the BUG-027 class), and the documented pytest
command must be the one the course runs (the BUG-026 class)."""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from checks.api import CheckError, cite, generic_kind, lines_of, shorten
from checks.context import Context
from checks.pytest import course_command, is_python, normalise_argv, typed_command
from checks.static import import_findings, nested_loop_findings
from runner.course.markdown import Fence, fenced_blocks
from runner.model import Verdict

_SHELL_INFOS = {"bash", "sh", "console", "shell", "shell-session", "zsh"}


def doc_output_blocks(markdown: str, section: str | None = None) -> list[Fence]:
    """The ```output blocks, optionally only under heading `section`."""
    return [block for block in fenced_blocks(markdown, section) if block.lang == "output"]


# A documented output line becomes a shape: <placeholder> and ... match
# anything, numbers match any number, hex any hex, runs of blanks any blanks.
_SHAPE_TOKEN = re.compile(
    r"(?P<any><[^<>]*>|\.\.\.|…)"
    r"|(?P<hex>0[xX][0-9a-fA-F]+|\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{8,}\b)"
    r"|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<space>\s+)"
)
_SHAPES = {
    "any": ".*?",
    "hex": r"(?:0[xX])?[0-9a-fA-F]+",
    "num": r"-?\d+(?:\.\d+)?",
    "space": r"\s+",
}


def output_shape(line: str) -> re.Pattern:
    """The regex a real output line must fully match to have this doc line's shape."""
    parts: list[str] = []
    pos = 0
    text = line.strip()
    for m in _SHAPE_TOKEN.finditer(text):
        parts.append(re.escape(text[pos : m.start()]))
        parts.append(_SHAPES[m.lastgroup or "any"])
        pos = m.end()
    parts.append(re.escape(text[pos:]))
    return re.compile("".join(parts))


def shape_text(line: str) -> str:
    """A documented line as the learner should read it: numbers become
    <number>, hex <hex>, placeholders and ... stay, blanks become one space."""
    parts: list[str] = []
    pos = 0
    text = line.strip()
    for m in _SHAPE_TOKEN.finditer(text):
        parts.append(text[pos : m.start()])
        group = m.lastgroup or "any"
        parts.append({"hex": "<hex>", "num": "<number>", "space": " "}.get(group, m.group(0)))
        pos = m.end()
    parts.append(text[pos:])
    return shorten("".join(parts), 100)


def _closest(doc_line: str, out: list[str]) -> str | None:
    """The printed line most like the documented one, to show what differs."""
    candidates = list(dict.fromkeys(out))[:5000]  # distinct lines; bounded work on a flood
    found = difflib.get_close_matches(doc_line, candidates, n=1, cutoff=0.5)
    return found[0] if found else None


def _lesson_text(ctx: Context) -> tuple[str, str]:
    """(markdown, name to cite) of the lesson text."""
    if ctx.lesson is None:
        raise CheckError(
            "This check reads the lesson text, which is not available when "
            "re-grading a recording without the course."
        )
    path = Path(ctx.lesson.text)
    if not path.is_absolute() and not path.exists():
        path = Path(ctx.lesson.dir) / path
    try:
        return path.read_text(encoding="utf-8"), path.name
    except OSError as exc:
        raise CheckError(f"The lesson text {path} cannot be read ({exc.strerror}).") from None


@generic_kind(
    "docs.expected_output", {"properties": {"section": {"type": "string", "minLength": 1}}}
)
def docs_expected_output(params: dict[str, Any], ctx: Context) -> Verdict:
    """Every line of each `output` fenced block in the lesson text (optionally only
    under heading `section`) has the shape of some stdout line of the run:
    `<...>` and `...` match anything, numbers any number, hex any hex; a line
    that is just `...` is skipped."""
    markdown, name = _lesson_text(ctx)
    section = params.get("section")
    blocks = doc_output_blocks(markdown, section)
    where = f" under the heading {section!r}" if section else ""
    if not blocks:
        return Verdict(
            "fail",
            f"{name} has no ```output block{where}, so its documented output cannot be checked; "
            f"add one showing what the solution prints.",
            {"blocks": ">= 1"},
            {"blocks": 0},
        )
    out = [line.strip() for line in lines_of(ctx.run, "out")]
    checked = 0
    for block in blocks:
        start = block.line
        for offset, doc_line in enumerate(block.lines):
            if not doc_line.strip() or doc_line.strip() in ("...", "…"):
                continue
            checked += 1
            shape = output_shape(doc_line)
            if not any(shape.fullmatch(line) for line in out):
                closest = _closest(doc_line.strip(), out)
                printed = (
                    f"the closest line it printed is {shorten(closest, 100)!r}"
                    if closest
                    else f"it printed {cite(out)}"
                    if out
                    else "it printed nothing on stdout"
                )
                return Verdict(
                    "fail",
                    f"Your probe printed no line shaped like {shape_text(doc_line)!r} (the "
                    f"expected output, {name} line {start + offset}); {printed}. Print that "
                    f"shape: <number> is any number, other <...> any text.",
                    {"line": start + offset, "doc": doc_line.strip(), "shape": shape.pattern},
                    {"stdout_lines": len(out), "closest": closest, "examples": out[:3]},
                )
    return Verdict(
        "pass",
        f"All {checked} documented output lines in {name} match the probe's real output.",
        {"doc_lines": checked},
        {"stdout_lines": len(out)},
    )


def _shell_commands(lines: Sequence[str], console: bool) -> list[tuple[int, list[str]]]:
    """(offset, argv) of each simple command in a shell block: continuation
    lines joined, prompts and comments dropped, `a && b; c | d` split."""
    commands: list[tuple[int, list[str]]] = []
    pending, first = "", 0
    for offset, raw in enumerate(lines):
        line = raw.strip()
        if not pending:
            first = offset
            if console:
                if not line.startswith(("$ ", "# ")):
                    continue  # output, not a command
                line = line[2:]
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line, pending = pending + line, ""
        try:
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.commenters = "#"
            lexer.whitespace_split = True
            tokens = list(lexer)
        except ValueError:
            continue  # unbalanced quotes: not a command we can compare
        argv: list[str] = []
        for token in [*tokens, ";"]:
            if token and set(token) <= set("();<>|&"):
                if argv:
                    commands.append((first, argv))
                argv = []
            else:
                argv.append(token)
    return commands


def _without_env(argv: list[str]) -> list[str]:
    while argv and re.fullmatch(r"[A-Za-z_]\w*=.*", argv[0]):
        argv = argv[1:]  # VAR=value prefixes
    return argv


def course_test(argv: list[str]) -> tuple[str, list[str]] | None:
    """(lesson key, pytest args) of `course test NN [ARGS]` or `./course test NN`
    (global --course/--workspace options allowed), else None."""
    argv = _without_env(argv)
    if not argv or Path(argv[0]).name != "course":
        return None
    rest = argv[1:]
    while len(rest) >= 2 and rest[0] in ("--course", "--workspace"):
        rest = rest[2:]
    if len(rest) < 2 or rest[0] != "test":
        return None
    return rest[1], rest[2:]


def runs_pytest(argv: list[str]) -> bool:
    argv = _without_env(argv)
    if not argv:
        return False
    if course_test(argv) is not None:
        return True
    if Path(argv[0]).name in ("pytest", "py.test"):
        return True
    return is_python(argv[0]) and argv[1:3] == ["-m", "pytest"]


def _names_lesson(key: str, lesson: Any) -> bool:
    return bool(lesson.answers_to(key))


@generic_kind("docs.pytest_command", {"properties": {}})
def docs_pytest_command(params: dict[str, Any], ctx: Context) -> Verdict:
    """Every command in a `bash`, `sh` or `console` fenced block of the lesson text that runs
    the learner tests (`./course test NN [ARGS]`, or pytest itself) runs exactly the run's
    command, with a bare `python` only where `./course test` cannot say it; the lesson
    documents at least one."""
    markdown, name = _lesson_text(ctx)
    want = course_command(ctx)
    typed = typed_command(want, ctx)
    shown = typed or shlex.join(want)
    found: list[tuple[int, list[str]]] = []
    for block in fenced_blocks(markdown):
        if block.lang in _SHELL_INFOS:
            console = block.lang in ("console", "shell-session")
            commands = _shell_commands(block.lines, console=console)
            found += [(block.line + off, argv) for off, argv in commands if runs_pytest(argv)]
    expected = {"command": want, "documented_as": shown}
    observed = [{"line": n, "command": argv} for n, argv in found]
    if not found:
        return Verdict(
            "fail",
            f"{name} documents no command that runs the learner tests in a ```bash block; add "
            f"`{shown}`.",
            expected,
            observed,
        )
    for number, argv in found:
        via_course = course_test(argv)
        if via_course is not None:
            key, extra = via_course
            if ctx.lesson is not None and not _names_lesson(key, ctx.lesson):
                return Verdict(
                    "fail",
                    f"{name} line {number} runs `{shlex.join(argv)}`, the tests of another "
                    f"lesson; document `{shown}`.",
                    expected,
                    observed,
                )
            from runner.lesson_shell import test_argv

            lesson_dir = Path(ctx.lesson.dir) if ctx.lesson is not None else Path(".")
            runs = test_argv("python", lesson_dir, extra)
        else:
            runs = normalise_argv(_without_env(argv))
            if typed is not None and runs == want:
                return Verdict(
                    "fail",
                    f"{name} line {number} runs `{shlex.join(argv)}`, but in a learner's shell "
                    f"`python` is not the course's interpreter (it lacks bcc or pytest); "
                    f"document `{typed}`, which runs that with the course's interpreter.",
                    expected,
                    observed,
                )
        if runs != want:
            return Verdict(
                "fail",
                f"{name} line {number} runs `{shlex.join(argv)}`, but the course runs "
                f"`{shlex.join(want)}`; document `{shown}`.",
                expected,
                observed,
            )
    return Verdict(
        "pass", f"{name} documents the command the course runs: `{shown}`.", expected, observed
    )


_PYTHON_INFOS = {"python", "py", "python3"}


@generic_kind(
    "docs.snippets",
    {"properties": {"local": {"type": "array", "items": {"type": "string", "minLength": 1}}}},
    needs_run=False,
)
def docs_snippets(params: dict[str, Any], ctx: Context) -> Verdict:
    """Every `python` fenced block of the lesson text is valid Python, starts no event
    loop inside a running one, and imports only what resolves and is declared;
    `local` (default [probe]) names modules beside the learner's file."""
    markdown, name = _lesson_text(ctx)
    local = params.get("local", ["probe"])
    problems: list[dict[str, Any]] = []
    blocks = [block for block in fenced_blocks(markdown) if block.lang in _PYTHON_INFOS]
    for block in blocks:
        start, source = block.line, "\n".join(block.lines) + "\n"
        try:
            found = [(n, m) for n, m in nested_loop_findings(source)]
            found += [(n, m) for n, _, m in import_findings(source, local)]
        except SyntaxError as exc:
            found = [(exc.lineno or 1, f"the snippet is not valid Python ({exc.msg})")]
        problems += [{"line": start + n - 1, "message": m} for n, m in sorted(found)]
    expected = {"problems": 0}
    if problems:
        first = problems[0]
        more = f" ({len(problems) - 1} more after it)" if len(problems) > 1 else ""
        return Verdict(
            "fail",
            f"{name} line {first['line']}: {first['message']}{more}.",
            expected,
            problems,
        )
    return Verdict(
        "pass",
        f"All {len(blocks)} Python snippets in {name} are valid, import only declared modules "
        f"and nest no event loops."
        if blocks
        else f"{name} has no ```python snippets to check.",
        expected,
        problems,
    )
