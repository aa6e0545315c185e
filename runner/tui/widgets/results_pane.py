"""The Results tab: a summary line, the chart (lessons 07/08), the check
table, the selected check in full, and plain-words help for errors."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, Static

from runner.model import Report
from runner.present.notes import format_notes
from runner.session import CheckOutcome
from runner.tui.widgets.bar_chart import BarChart
from runner.tui.widgets.results import ResultsTable, check_detail

NO_RESULTS = "No results yet: press r to run the checks."


def summary_line(report: Report) -> str:
    # "all public checks": a pass never claims more than the checks it ran
    word = {"pass": "all public checks passed"}.get(report.status, report.status)
    return f"{report.lesson}: {word}, score {report.score}/{report.max_score}"


def explanation(outcome: CheckOutcome) -> str:
    """The help under the table: runner-side errors, then the session's notes
    (runner.present.notes.notes_for, the same notes `course check` prints)."""
    errors = [run.error for run in outcome.recording.runs.values() if run.error]
    text = format_notes(outcome.notes)
    return "\n".join([*errors, text] if text else errors)


class ResultsPane(VerticalScroll):
    class SectionWanted(Message):
        """The learner chose a check (enter or a click on its row) that names
        the section of the lesson text teaching what it judges."""

        def __init__(self, section: str) -> None:
            super().__init__()
            self.section = section

    def compose(self) -> ComposeResult:
        yield Static(NO_RESULTS, id="summary", markup=False)
        yield BarChart(id="chart")
        yield ResultsTable(id="results-table")
        yield Static("", id="check-detail", markup=False)
        yield Static("", id="explanation", markup=False)

    def on_mount(self) -> None:
        self.query_one(BarChart).display = False

    def show_message(self, text: str) -> None:
        """No report to show: say why (not run yet, unsupported, run failed)."""
        self._show(text, None, "", ("", []))

    def show_report(
        self,
        report: Report,
        explanation: str,
        chart: tuple[str, list[tuple[str, int]]] | None,
    ) -> None:
        self._show(summary_line(report), report, explanation, chart or ("", []))

    def _show(
        self,
        summary: str,
        report: Report | None,
        explanation: str,
        chart: tuple[str, list[tuple[str, int]]],
    ) -> None:
        self.query_one("#summary", Static).update(summary)
        self.query_one(BarChart).show(*chart)
        table = self.query_one(ResultsTable)
        table.show_report(report)
        detail = ""
        if report is not None and report.checks:
            # select the first check that did not pass: that is what to read first
            worst = next((i for i, c in enumerate(report.checks) if c.status != "pass"), 0)
            table.move_cursor(row=worst)
            detail = check_detail(report.checks[worst])
        self.query_one("#check-detail", Static).update(detail)
        self.query_one("#explanation", Static).update(explanation)

    @on(DataTable.RowHighlighted, "#results-table")
    def _check_highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = event.data_table
        assert isinstance(table, ResultsTable)
        check = table.checks.get(str(event.row_key.value))
        details = self.query("#check-detail")  # gone while the app is closing
        if check is not None and details:
            details.first(Static).update(check_detail(check))

    @on(DataTable.RowSelected, "#results-table")
    def _check_selected(self, event: DataTable.RowSelected) -> None:
        table = event.data_table
        assert isinstance(table, ResultsTable)
        check = table.checks.get(str(event.row_key.value))
        if check is not None and check.section:
            self.post_message(self.SectionWanted(check.section))
