"""Split lesson markdown at `##` headings.

Textual's Markdown widget builds one widget per block, so a long lesson is
rendered one section at a time; this module only decides where sections
start (never inside a fenced code block, where `##` is a shell comment)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_H1 = re.compile(r"^#\s+(.+?)\s*#*\s*$")
_H2 = re.compile(r"^##\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Section:
    title: str
    body: str  # markdown, including its own `##` heading line


def split_sections(markdown: str, *, intro_title: str = "Introduction") -> list[Section]:
    """Cut `markdown` before every level-2 heading outside code fences.

    Text before the first `##` becomes a section titled by the `#` heading
    (or `intro_title`); an empty intro is dropped. Never returns an empty list.
    """
    sections: list[Section] = []
    title = intro_title
    chunk: list[str] = []
    fence: str | None = None

    carried: list[str] = []  # a title-only intro goes on top of the first section

    def flush() -> None:
        nonlocal carried
        if not sections and chunk and all(not ln.strip() or _H1.match(ln) for ln in chunk):
            carried = list(chunk)
            return
        body = "\n".join(carried + chunk).strip("\n")
        carried = []
        if body.strip():
            sections.append(Section(title, body + "\n"))

    for line in markdown.splitlines():
        opened = _FENCE.match(line)
        if opened:
            marker = opened.group(1)
            if fence is None:
                fence = marker[0] * len(marker)
            elif marker.startswith(fence):
                fence = None
        elif fence is None:
            heading = _H2.match(line)
            if heading:
                flush()
                title, chunk = heading.group(1), []
            elif not sections and not "".join(chunk).strip() and (h1 := _H1.match(line)):
                title = h1.group(1)
        chunk.append(line)
    flush()
    return sections or [Section(intro_title, markdown)]
