"""The lesson text, one `##` section at a time (Markdown builds a widget per
block, so a whole long lesson at once would be slow), with a navigator line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.markup import escape
from textual.widgets import Markdown, Static

from runner.tui.sections import Section

# The Markdown widget's heading blocks, by their CSS type names (public, unlike the classes).
_HEADINGS = ", ".join(f"MarkdownH{level}" for level in range(1, 7))


class LessonText(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("", id="section-nav")
        with VerticalScroll(id="section-scroll"):
            yield Markdown("", id="section-md", open_links=False)

    async def show_section(self, sections: list[Section], index: int, heading: int = 0) -> None:
        """Show section `index`, scrolled to its `heading`-th heading (0: the top)."""
        section = sections[index]
        # ◀ and ▶ are clickable; the keys are [ and ]
        nav = (
            "[@click=app.previous_section]◀ \\[[/] "
            f"Section {index + 1}/{len(sections)}: {escape(section.title)} "
            "[@click=app.next_section]] ▶[/]"
        )
        self.query_one("#section-nav", Static).update(nav)
        markdown = self.query_one("#section-md", Markdown)
        await markdown.update(section.body)
        scroll = self.query_one("#section-scroll", VerticalScroll)
        scroll.scroll_home(animate=False)
        headers = list(markdown.query_children(_HEADINGS))  # in the order of the text
        if 0 < heading < len(headers):
            target = headers[heading]
            # once laid out, so the heading's place is known
            self.call_after_refresh(
                lambda: scroll.scroll_to_widget(target, top=True, animate=False)
            )
