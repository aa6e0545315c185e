"""The lesson text, cut at `##` headings for the TUI.

Textual's Markdown widget builds one widget per block, so a long lesson is
rendered one section at a time. Where sections start is decided by the
course's one markdown reader (CommonMark tokens: never inside a fenced
code block, where `##` is a shell comment)."""

from __future__ import annotations

from runner.course.markdown import Section, locate, split_sections

__all__ = ["Section", "locate", "split_sections"]
