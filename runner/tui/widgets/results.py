"""The check results: one row per check with symbol AND word, expected vs
observed, points and the one-sentence message."""

from __future__ import annotations

from textual.widgets import DataTable

from runner.model import Report
from runner.tui.status import short, verdict_label

COLUMNS = ("status", "check", "expected", "observed", "points", "why")


class ResultsTable(DataTable):
    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_columns(*COLUMNS)

    def show_report(self, report: Report | None) -> None:
        self.clear()
        if report is None:
            return
        for check in report.checks:
            self.add_row(
                verdict_label(check.status),
                check.id,
                short(check.expected, 24),
                short(check.observed, 24),
                f"{check.points}/{check.max_points}",
                short(check.message, 200),
                key=check.id,
            )
