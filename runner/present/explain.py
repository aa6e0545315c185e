"""bcc, clang, verifier and attach errors, explained in plain words.

`explain(stderr_text, source)` matches what a probe printed against a table
of known failures (each learned from a real broken probe, see
tests/live/broken_probes/) and returns hints: what went wrong, how to fix
it, and where possible the line of the learner's file it is about. Lines
are found by the TEXT clang or the verifier quote, not by their numbers:
bcc adds lines of its own (tracepoint structs) and rewrites the program
before the verifier sees it, so `/virtual/main.c:16` is rarely line 16 of
the learner's C.

The rules themselves (patterns, titles, causes, fixes) are data in
runner.present.explain_rules; this module matches them and finds the line.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from typing import Any, Literal

from runner.present.explain_rules import KERNEL_READ_OF_USER, OVERRULED, RULES, Rule

__all__ = ["RULES", "Hint", "Rule", "explain", "format_hints"]

LineOf = Literal["file", "bpf-text", ""]


@dataclass(frozen=True)
class Hint:
    title: str
    cause: str
    fix: str
    line: int | None = None  # see line_of
    id: str = ""  # stable name of the rule, for tests and docs
    line_of: LineOf = ""  # "file": line of the probe file; "bpf-text": of the C text
    c_line: int | None = None  # line within the BPF C text (1 = its first line)

    def location(self, filename: str = "your probe") -> str:
        """Say which line: 'probe.py line 12 (line 4 of the BPF text)'."""
        if self.line is None:
            return ""
        if self.line_of == "file":
            extra = f" (line {self.c_line} of the BPF text)" if self.c_line else ""
            return f"{filename} line {self.line}{extra}"
        return f"line {self.line} of the BPF text"


# ---------------------------------------------------------------- finding the line


_CLANG_LOCATION = re.compile(r"^(?P<file>\S+?):(?P<line>\d+):(?P<col>\d+): (?:error|warning): ")
_VERIFIER_SOURCE = re.compile(r"^; (?P<text>.*?) @ \S+:\d+\s*$")
_TRACEBACK_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
_LIBRARY_PATH = re.compile(r"/(?:bcc|ctypes|lib/python3[\d.]*|dist-packages|site-packages)/")


def _text_lines(text: str) -> list[str]:
    return text.splitlines()


def _line_index(text: str, position: int) -> int:
    return text.count("\n", 0, position)


def _quoted_by_clang(lines: list[str], at: int) -> tuple[str | None, int | None]:
    """The source text clang quotes under its location line at or before `at`,
    and the line number clang gives (in bcc's /virtual/main.c)."""
    for index in range(at, -1, -1):
        match = _CLANG_LOCATION.match(lines[index])
        if match:
            quoted = lines[index + 1] if index + 1 < len(lines) else None
            return quoted, int(match.group("line"))
    return None, None


def _quoted_by_verifier(lines: list[str], at: int) -> str | None:
    """The last '; <C statement> @ main.c:N' line before the verifier's complaint."""
    for index in range(at, -1, -1):
        match = _VERIFIER_SOURCE.match(lines[index])
        if match and match.group("text").strip():
            return match.group("text")
    return None


def _traceback_line(lines: list[str]) -> int | None:
    """The innermost traceback frame in the learner's code (not bcc, not ctypes)."""
    found = None
    for line in lines:
        match = _TRACEBACK_FRAME.match(line)
        if match and not _LIBRARY_PATH.search(match.group("file")):
            found = int(match.group("line"))
    return found


def _c_texts(source: str) -> list[tuple[int, int]]:
    """(first, last) file lines of string constants that look like C programs."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # not Python: the source is the C text itself
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "\n" in node.value and re.search(r"[{};]", node.value):
                spans.append((node.lineno, node.end_lineno or node.lineno))
    return spans


def _find_in_source(source: str, quoted: str, near: int | None) -> int | None:
    """The source line whose text is `quoted` (whitespace-insensitive). When
    several match, take the one closest to `near` from below: bcc only ever
    ADDS lines before the learner's, so its numbers are too large, not small."""
    want = " ".join(quoted.split())
    if not want:
        return None
    candidates = [
        number
        for number, line in enumerate(source.splitlines(), start=1)
        if " ".join(line.split()) == want
    ]
    if not candidates:
        return None
    if near is None or len(candidates) == 1:
        return candidates[0]
    below = [c for c in candidates if c <= near]
    return max(below) if below else candidates[0]


def _first_source_line(source: str, pattern: str) -> int | None:
    for number, line in enumerate(source.splitlines(), start=1):
        if re.search(pattern, line):
            return number
    return None


def _place(source: str | None, file_line: int | None, raw_c_line: int | None) -> dict[str, Any]:
    """Hint fields for a file line (when the source is known) or a C-text line."""
    if source is None:
        if raw_c_line is None:
            return {}
        return {"line": raw_c_line, "line_of": "bpf-text", "c_line": raw_c_line}
    if file_line is None:
        return {}
    spans = _c_texts(source)
    if not spans and _looks_like_c(source):
        return {"line": file_line, "line_of": "bpf-text", "c_line": file_line}
    c_line = next((file_line - a + 1 for a, b in spans if a <= file_line <= b), None)
    return {"line": file_line, "line_of": "file", "c_line": c_line}


def _looks_like_c(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return True
    return False


def _locate(rule: Rule, text: str, match: re.Match[str], source: str | None) -> dict[str, Any]:
    """Where the hint points: by the rule's strategy, else by its source_line
    regex (which may name the match's groups, e.g. the helper's name)."""
    place = _locate_by_output(rule, text, match.start(), source)
    if place or source is None or not rule.source_line:
        return place
    groups = {k: re.escape(v) for k, v in match.groupdict().items() if v}
    try:
        pattern = (
            rule.source_line.format_map(groups) if "{" in rule.source_line else rule.source_line
        )
    except (KeyError, ValueError, IndexError):
        return {}
    found = _first_source_line(source, pattern)
    return _place(source, found, None) if found else {}


def _locate_by_output(rule: Rule, text: str, at: int, source: str | None) -> dict[str, Any]:
    lines = _text_lines(text)
    index = _line_index(text, at)
    if rule.locate == "clang":
        quoted, clang_line = _quoted_by_clang(lines, index)
        if rule.clang_warning:
            warning = re.search(rule.clang_warning, text, re.M)
            if not warning:
                return {}
            quoted, clang_line = _quoted_by_clang(lines, _line_index(text, warning.start()))
        if quoted is None or source is None:
            return {}  # without the source: bcc's numbering includes its own lines
        return _place(source, _find_in_source(source, quoted, _estimate(source, clang_line)), None)
    if rule.locate == "verifier":
        quoted = _quoted_by_verifier(lines, index)
        if quoted is None or source is None:
            return {}
        return _place(source, _find_in_source(source, quoted, None), None)
    if rule.locate == "traceback":
        found = _traceback_line(lines)
        if found is None:
            return {}
        if source is None:
            return {"line": found, "line_of": "file"}
        return _place(source, found, None)
    return {}


def _estimate(source: str, clang_line: int | None) -> int | None:
    """Where clang's number would land in the file if bcc added nothing."""
    if clang_line is None:
        return None
    spans = _c_texts(source)
    if not spans:
        return clang_line
    first = min(spans, key=lambda span: span[0])[0]
    return first + clang_line - 1


# ---------------------------------------------------------------- the entry point


def _render(template: str, groups: dict[str, str | None]) -> str:
    values = {k: (v or "?").strip("'") for k, v in groups.items()}
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError):
        return template


def _hint(rule: Rule, match: re.Match[str] | None, place: dict[str, Any]) -> Hint:
    groups = match.groupdict() if match else {}
    return Hint(
        title=rule.title,
        cause=_render(rule.cause, groups),
        fix=_render(rule.fix, groups),
        id=rule.id,
        **place,
    )


def explain(
    stderr_text: str, source: str | None = None, *, host: dict[str, Any] | None = None
) -> list[Hint]:
    """Hints for a probe's error output, most specific first.

    `source` is the probe file's text (Python with the C inside, or C
    alone); with it, hints point at lines of that file. `host` (runner.live.host
    facts) settles questions the text alone cannot, e.g. whether "not
    permitted" came from a non-root run.
    """
    text = stderr_text.replace("\r\n", "\n")
    hints: list[Hint] = []
    fallbacks: list[Hint] = []
    for rule in RULES:
        match = re.search(rule.pattern, text, re.MULTILINE)
        if not match:
            continue
        if rule.source_pattern and not (source and re.search(rule.source_pattern, source)):
            continue
        if rule.when is not None and not rule.when(host, match):
            continue
        hint = _hint(rule, match, _locate(rule, text, match, source))
        (fallbacks if rule.fallback else hints).append(hint)
    if source is not None:
        rule = KERNEL_READ_OF_USER
        line = _first_source_line(source, rule.source_line or "")
        if line is not None:
            hints.append(_hint(rule, None, _place(source, line, None)))
    return _dedupe(hints or fallbacks)


def _dedupe(hints: list[Hint]) -> list[Hint]:
    """One hint per cause: the first (most specific) rule wins its family."""
    present = {h.id for h in hints}
    dropped: set[str] = set().union(*(OVERRULED.get(i, set()) for i in present))
    return [h for h in hints if h.id not in dropped]


def format_hints(hints: list[Hint], filename: str = "your probe") -> str:
    """Plain text for the CLI: one block per hint."""
    blocks = []
    for hint in hints:
        where = hint.location(filename)
        head = f"{hint.title}" + (f" ({where})" if where else "")
        blocks.append(f"{head}\n  why: {hint.cause}\n  fix: {hint.fix}")
    return "\n\n".join(blocks)
