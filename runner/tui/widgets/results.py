"""The check results: one row per check with symbol AND word, expected vs
observed in words (runner.present.render.describe, as `course check`
prints them), points and the one-sentence message."""

from __future__ import annotations

from textual.widgets import DataTable

from runner.model import CheckResult, Report
from runner.present.render import describe
from runner.tui.status import short, verdict_label

COLUMNS = ("status", "check", "expected", "observed", "pts")


class ResultsTable(DataTable):
    checks: dict[str, CheckResult]

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self.add_columns(*COLUMNS)

    def show_report(self, report: Report | None) -> None:
        self.clear()
        self.checks = {c.id: c for c in report.checks} if report else {}
        if report is None:
            return
        for check in report.checks:
            self.add_row(
                verdict_label(check.status),
                short(check.id, 20),
                short(describe(check.expected, check.kind), 16),
                short(describe(check.observed, check.kind), 16),
                f"{check.points}/{check.max_points}",
                key=check.id,
            )


def check_detail(check: CheckResult) -> str:
    """The whole story of one check, for the line under the table."""
    lines = [f"{verdict_label(check.status)} {check.id}: {check.message}"]
    if check.status != "pass":
        lines.append(f"expected: {short(describe(check.expected, check.kind), 300)}")
        lines.append(f"observed: {short(describe(check.observed, check.kind), 300)}")
        if check.hint:
            lines.append(f"hint: {check.hint}")
        if check.section:
            lines.append(f'see "{check.section}" in the lesson text: press enter to read it')
    return "\n".join(lines)
