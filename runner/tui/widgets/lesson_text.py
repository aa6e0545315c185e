"""The lesson text, one `##` section at a time (Markdown builds a widget per
block, so a whole long lesson at once would be slow), with a navigator line."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.markup import escape
from textual.widgets import Markdown, Static

from runner.tui.sections import Section


class LessonText(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("", id="section-nav")
        with VerticalScroll(id="section-scroll"):
            yield Markdown("", id="section-md", open_links=False)

    async def show_section(self, sections: list[Section], index: int) -> None:
        section = sections[index]
        # ◀ and ▶ are clickable; the keys are [ and ]
        nav = (
            "[@click=app.previous_section]◀ \\[[/] "
            f"Section {index + 1}/{len(sections)}: {escape(section.title)} "
            "[@click=app.next_section]] ▶[/]"
        )
        self.query_one("#section-nav", Static).update(nav)
        await self.query_one("#section-md", Markdown).update(section.body)
        self.query_one("#section-scroll", VerticalScroll).scroll_home(animate=False)
