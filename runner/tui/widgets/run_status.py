"""What a run is doing: an indeterminate bar, the elapsed time, lines seen."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label, ProgressBar


class RunStatus(Horizontal):
    def compose(self) -> ComposeResult:
        yield ProgressBar(total=None, show_eta=False, show_percentage=False, id="run-bar")
        yield Label("No run yet: press r to run the checks.", id="run-label")

    def on_mount(self) -> None:
        self.query_one("#run-bar", ProgressBar).display = False

    def show(self, text: str, *, running: bool) -> None:
        self.query_one("#run-label", Label).update(text)
        bar = self.query_one("#run-bar", ProgressBar)
        bar.display = running
