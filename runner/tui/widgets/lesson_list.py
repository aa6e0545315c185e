"""The lesson list: every lesson with its state as symbol and word."""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from runner.tui.status import lesson_label


@dataclass(frozen=True)
class LessonRow:
    lesson_id: str
    number: int
    title: str
    status: str  # passed | failing | not-started | unsupported | running
    score: int = 0
    max_score: int = 0
    where: str = ""  # "in the VM (6.1.0-57-amd64)" for a pass this kernel could not run
    minutes: int | None = None  # the lesson's estimate (lesson.yaml)
    warned: bool = False  # this kernel is outside the kernels the lesson was tested on


class LessonList(OptionList):
    def show_rows(self, rows: list[LessonRow]) -> None:
        keep = self.highlighted
        self.clear_options()
        self.add_options(Option(_prompt(row), id=row.lesson_id) for row in rows)
        if keep is not None and keep < len(rows):
            self.highlighted = keep

    def highlight_lesson(self, lesson_id: str) -> None:
        self.highlighted = self.get_option_index(lesson_id)


_STYLE = {
    "passed": "green",
    "passed-older": "yellow",
    "failing": "red",
    "unsupported": "yellow",
    "running": "cyan",
}


def _prompt(row: LessonRow) -> Text:
    # one line per field, cut with an ellipsis: the list stays two rows a lesson
    text = Text(
        f"{row.lesson_id.split('-', 1)[0]} {row.title}\n",
        style="bold",
        no_wrap=True,
        overflow="ellipsis",
    )
    text.append(f"   {lesson_label(row.status)}", style=_STYLE.get(row.status, ""))
    if row.max_score and row.status in ("passed", "passed-older", "failing"):
        text.append(f" {row.score}/{row.max_score}")
    if row.where:
        text.append(f" {row.where}")
    if row.minutes:
        text.append(f" ~{row.minutes}m", style="dim")
    if row.warned:
        text.append(" ⚠", style="yellow")  # the header says why
    return text
