"""`d`: what this machine can do, as runner.live.host decided by trying."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class DoctorScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,d,q", "dismiss", "Close", id="close-doctor")]

    def __init__(self, text: str | None) -> None:
        super().__init__()
        self._text = text

    def compose(self) -> ComposeResult:
        with Vertical(id="doctor-box", classes="modal-box"):
            yield Label("Doctor: what this machine can do (Esc closes)", classes="modal-title")
            with VerticalScroll():
                yield Static(self._text or "Checking this machine…", id="doctor-text", markup=False)

    def show(self, text: str) -> None:
        self._text = text
        self.query_one("#doctor-text", Static).update(text)
