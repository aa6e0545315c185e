"""Lesson text as CommonMark: the one place that reads markdown structure.

The docs checks need the fenced blocks (info string, content, where they
start, which headings they sit under); the TUI needs the text cut into
`##` sections. Both come from markdown-it-py's token stream, so a fence in
a list item, a `##` comment in a shell block, tildes or an unclosed fence
mean the same thing to every reader as to the renderer.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.token import Token

# Tables are block-level in the renderer (Textual uses GFM), so they are
# here too; everything else is plain CommonMark. Only block structure is
# read (a heading's text is its raw inline source), so inline parsing is
# skipped: it would double the time for nothing.
_MD = MarkdownIt("commonmark").enable("table")
_MD.core.ruler.disable(["inline", "text_join"])


@dataclass(frozen=True)
class Fence:
    """A fenced code block."""

    info: str  # the whole info string, e.g. "output x"
    lang: str  # its first word, lower-cased ("" when there is none)
    line: int  # 1-based source line of the first content line
    lines: tuple[str, ...]  # the content, dedented as CommonMark does (list items, quotes)
    headings: tuple[str, ...]  # texts of the enclosing headings, outermost first

    @property
    def heading(self) -> str | None:
        """The nearest heading above the block, if any."""
        return self.headings[-1] if self.headings else None

    def under(self, heading: str) -> bool:
        """Whether the block sits under `heading` (case-insensitive) or one of its subheadings."""
        wanted = heading.strip().casefold()
        return any(h.casefold() == wanted for h in self.headings)


@dataclass(frozen=True)
class Section:
    """A piece of the text the TUI shows at a time."""

    title: str
    body: str  # markdown, including its own `##` heading
    line: int = 1  # 1-based source line where the body starts


@dataclass(frozen=True)
class Heading:
    """A top-level heading of the text (outside lists, quotes and fences)."""

    level: int  # 1 for `#`, 2 for `##`, ...
    text: str  # its raw inline source, e.g. "TRACEPOINT_PROBE and `args`"
    line: int  # 1-based source line


def same_heading(text: str, wanted: str) -> bool:
    """How a check's `section:` names a heading: the heading's text as
    written, ignoring case and surrounding spaces (as `Fence.under` does)."""
    return text.strip().casefold() == wanted.strip().casefold()


def headings(markdown: str) -> list[Heading]:
    """Every top-level heading, in order (a `##` in a fence is not one)."""
    return [Heading(level, text, line + 1) for _, level, line, text in _headings(_tokens(markdown))]


def find_heading(markdown: str, wanted: str) -> Heading | None:
    """The first heading whose text is `wanted` (same_heading), or None."""
    return next((h for h in headings(markdown) if same_heading(h.text, wanted)), None)


def locate(sections: list[Section], wanted: str) -> tuple[int, int] | None:
    """Where heading `wanted` is shown: (index of the section that holds it,
    index of the heading among that section's own headings), or None."""
    for index, section in enumerate(sections):
        for position, heading in enumerate(headings(section.body)):
            if same_heading(heading.text, wanted):
                return index, position
    return None


def source_lines(markdown: str) -> list[str]:
    """The text's lines as markdown-it numbers them (its token maps index these)."""
    return markdown.replace("\r\n", "\n").replace("\r", "\n").split("\n")


@functools.lru_cache(maxsize=32)
def _tokens(markdown: str) -> tuple[Token, ...]:
    # Lesson texts are read again by several checks of one grading: parse once.
    return tuple(_MD.parse(markdown))


def _headings(tokens: tuple[Token, ...]) -> list[tuple[int, int, int, str]]:
    """Top-level headings: (token index, level, 0-based first line, text).

    Only headings outside lists and block quotes shape the document (and a
    cut inside a quote would break the quote)."""
    found = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.level == 0 and tok.map:
            text = tokens[i + 1].content.strip() if i + 1 < len(tokens) else ""
            found.append((i, int(tok.tag[1:]), tok.map[0], text))
    return found


def fenced_blocks(markdown: str, section: str | None = None) -> list[Fence]:
    """Every fenced code block, in order. With `section`, only the blocks under
    the heading with that text (case-insensitive) or its subheadings.

    CommonMark decides: an unclosed fence runs to the end of its container
    (the document, at top level); indented code blocks are not fences."""
    tokens = _tokens(markdown)
    starts = {i: (level, text) for i, level, _, text in _headings(tokens)}
    path: list[tuple[int, str]] = []  # the open heading path: (level, text)
    blocks: list[Fence] = []
    for i, tok in enumerate(tokens):
        if i in starts:
            level, text = starts[i]
            path = [h for h in path if h[0] < level] + [(level, text)]
        elif tok.type == "fence" and tok.map:
            info = tok.info.strip()
            words = info.split()
            content = tok.content[:-1] if tok.content.endswith("\n") else tok.content
            fence = Fence(
                info=info,
                lang=words[0].lower() if words else "",
                line=tok.map[0] + 2,
                lines=tuple(content.split("\n")) if content else (),
                headings=tuple(text for _, text in path),
            )
            if section is None or fence.under(section):
                blocks.append(fence)
    return blocks


def split_sections(markdown: str, *, intro_title: str = "Introduction") -> list[Section]:
    """Cut `markdown` before every top-level level-2 heading (never inside a
    fence, where `##` is a shell comment).

    Text before the first `##` becomes a section titled by its leading `#`
    heading (or `intro_title`); an intro that is only `#` headings goes on
    top of the first section instead, and an empty intro is dropped. Never
    returns an empty list."""
    tokens = _tokens(markdown)
    lines = source_lines(markdown)
    headings = _headings(tokens)
    cuts = [(index, line, text) for index, level, line, text in headings if level == 2]

    def body(start: int, end: int) -> str:
        text = "\n".join(lines[start:end]).strip("\n")
        return text + "\n" if text.strip() else ""

    # The intro: top-level blocks before the first `##`.
    first_cut = cuts[0][0] if cuts else len(tokens)
    intro_blocks = [t for t in tokens[:first_cut] if t.level == 0 and t.nesting >= 0]
    title_only = bool(intro_blocks) and all(t.tag == "h1" for t in intro_blocks)
    title = intro_title
    if intro_blocks and intro_blocks[0].tag == "h1":  # the text opens with its `#` title
        title = next(text for _, level, _, text in headings if level == 1)

    if not cuts:
        return [Section(title, body(0, len(lines)) or markdown)]
    sections: list[Section] = []
    first_line = cuts[0][1]
    carried = 0 if title_only else first_line
    if not title_only and body(0, first_line):
        sections.append(Section(title, body(0, first_line)))
    for n, (_, line, text) in enumerate(cuts):
        start = carried if n == 0 else line
        end = cuts[n + 1][1] if n + 1 < len(cuts) else len(lines)
        sections.append(Section(text, body(start, end), start + 1))
    return sections
