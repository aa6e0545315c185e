"""Lesson text versus reality: documented output must have the shape of
what the probe really prints (the BUG-027 class), and the documented pytest
command must be the one the course runs (the BUG-026 class)."""

from __future__ import annotations

import difflib
import re
import shlex
from pathlib import Path
from typing import Any

from checks._util import CheckError, cite, generic_kind, lines_of, shorten
from checks.context import Context
from checks.pytest_flow import course_command, is_python, normalise_argv
from checks.static import import_findings, nested_loop_findings
from runner.model import Verdict

# Fences may be indented (inside list items); their content is dedented by
# the fence's own indent, as CommonMark does.
_OPEN = re.compile(r"^( *)(`{3,}|~{3,})\s*([^`]*?)\s*$")
_HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_SHELL_INFOS = {"bash", "sh", "console", "shell", "shell-session", "zsh"}

Block = tuple[str, int, list[str]]  # (info word, line of first content line, lines)


def fenced_blocks(markdown: str, section: str | None = None) -> list[Block]:
    """Every fenced code block: its info word, the 1-based line number of its
    first content line and its lines. With `section`, only blocks under the
    heading with that text (case-insensitive) or its subheadings."""
    blocks: list[Block] = []
    headings: list[tuple[int, str]] = []  # the open heading path: (level, text)
    fence: tuple[str, str, int, list[str]] | None = None  # (marker, info, start, lines)
    indent = 0
    for number, line in enumerate(markdown.splitlines(), start=1):
        if fence:
            marker, info, start, body = fence
            close = re.match(r"^ *(`{3,}|~{3,})\s*$", line)
            if close and close.group(1)[0] == marker[0] and len(close.group(1)) >= len(marker):
                if section is None or any(t.lower() == section.lower() for _, t in headings):
                    blocks.append((info, start, body))
                fence = None
            else:
                stripped = len(line) - len(line.lstrip(" "))
                body.append(line[min(indent, stripped) :])
            continue
        opening = _OPEN.match(line)
        if opening:
            indent = len(opening.group(1))
            words = opening.group(3).split()
            fence = (opening.group(2), words[0].lower() if words else "", number + 1, [])
            continue
        heading = _HEADING.match(line)
        if heading:
            level = len(heading.group(1))
            headings = [h for h in headings if h[0] < level] + [(level, heading.group(2))]
    if fence and (section is None or any(t.lower() == section.lower() for _, t in headings)):
        blocks.append((fence[1], fence[2], fence[3]))  # unclosed: runs to the end
    return blocks


def doc_output_blocks(markdown: str, section: str | None = None) -> list[tuple[int, list[str]]]:
    """The ```output blocks: (line number of the first line, its lines)."""
    return [
        (start, body) for info, start, body in fenced_blocks(markdown, section) if info == "output"
    ]


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
    """Every line of each ```output block in the lesson text (optionally only
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
    for start, body in blocks:
        for offset, doc_line in enumerate(body):
            if not doc_line.strip() or doc_line.strip() in ("...", "…"):
                continue
            checked += 1
            shape = output_shape(doc_line)
            if not any(shape.fullmatch(line) for line in out):
                closest = _closest(doc_line.strip(), out)
                printed = (
                    f"the closest line it printed is {shorten(closest)!r}"
                    if closest
                    else f"it printed {cite(out)}"
                )
                return Verdict(
                    "fail",
                    f"{name} line {start + offset} shows {shorten(doc_line.strip())!r}, but no "
                    f"line the probe printed has that shape ({printed}); make the documented "
                    f"output match what the probe prints, writing <name> for values that vary.",
                    {"line": start + offset, "doc": doc_line.strip(), "shape": shape.pattern},
                    {"stdout_lines": len(out), "closest": closest, "examples": out[:3]},
                )
    return Verdict(
        "pass",
        f"All {checked} documented output lines in {name} match the probe's real output.",
        {"doc_lines": checked},
        {"stdout_lines": len(out)},
    )


def _shell_commands(lines: list[str], console: bool) -> list[tuple[int, list[str]]]:
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


def runs_pytest(argv: list[str]) -> bool:
    while argv and re.fullmatch(r"[A-Za-z_]\w*=.*", argv[0]):
        argv = argv[1:]  # VAR=value prefixes
    if not argv:
        return False
    if Path(argv[0]).name in ("pytest", "py.test"):
        return True
    return is_python(argv[0]) and argv[1:3] == ["-m", "pytest"]


@generic_kind("docs.pytest_command", {"properties": {}})
def docs_pytest_command(params: dict[str, Any], ctx: Context) -> Verdict:
    """Every command in a ```bash/sh/console block of the lesson text that runs
    pytest is exactly the run's command (`{python}` written as python or
    python3), and the lesson documents at least one."""
    markdown, name = _lesson_text(ctx)
    want = course_command(ctx)
    shown = shlex.join(want)
    found: list[tuple[int, list[str]]] = []
    for info, start, body in fenced_blocks(markdown):
        if info in _SHELL_INFOS:
            commands = _shell_commands(body, console=info in ("console", "shell-session"))
            found += [(start + off, argv) for off, argv in commands if runs_pytest(argv)]
    expected = {"command": want}
    observed = [{"line": n, "command": argv} for n, argv in found]
    if not found:
        return Verdict(
            "fail",
            f"{name} documents no pytest command in a ```bash block; add the command the course "
            f"runs: `{shown}`.",
            expected,
            observed,
        )
    for number, argv in found:
        if normalise_argv(argv) != want:
            return Verdict(
                "fail",
                f"{name} line {number} runs `{shlex.join(argv)}`, but the course runs `{shown}`; "
                f"document exactly that command.",
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
    """Every ```python block of the lesson text is valid Python, starts no event
    loop inside a running one, and imports only what resolves and is declared;
    `local` (default [probe]) names modules beside the learner's file."""
    markdown, name = _lesson_text(ctx)
    local = params.get("local", ["probe"])
    problems: list[dict[str, Any]] = []
    blocks = [
        (start, body) for info, start, body in fenced_blocks(markdown) if info in _PYTHON_INFOS
    ]
    for start, body in blocks:
        source = "\n".join(body) + "\n"
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
