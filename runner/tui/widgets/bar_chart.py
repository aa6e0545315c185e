"""A bar chart of (label, count) rows drawn with Unicode block characters."""

from __future__ import annotations

from textual.widgets import Static

from runner.tui.charts import bar_lines


class BarChart(Static):
    def __init__(self, **kwargs) -> None:
        super().__init__("", **kwargs)
        self._title = ""
        self._rows: list[tuple[str, int]] = []

    def show(self, title: str, rows: list[tuple[str, int]]) -> None:
        self._title, self._rows = title, rows
        self.display = bool(rows)
        # one line per row, whatever the width: a height computed from text
        # drawn before the first resize would stay a frame too tall
        self.styles.height = 1 + len(rows)
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width = max(20, self.content_size.width or 60)
        self.update("\n".join([self._title, *bar_lines(self._rows, width)]))
