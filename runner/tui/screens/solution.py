"""`s`: the reference solution, offered only after the lesson passed."""

from __future__ import annotations

from rich.syntax import Syntax
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class SolutionScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,s,q", "dismiss", "Close", id="close-solution")]

    def __init__(self, title: str, source: str) -> None:
        super().__init__()
        self._title = title
        self._source = source

    def compose(self) -> ComposeResult:
        with Vertical(id="solution-box", classes="modal-box"):
            yield Label(f"Reference solution: {self._title} (Esc closes)", classes="modal-title")
            with VerticalScroll():
                yield Static(
                    Syntax(self._source, "python", line_numbers=True, word_wrap=False),
                    id="solution-code",
                )
