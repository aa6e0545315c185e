"""Words and symbols for states, so nothing is told by colour alone."""

from __future__ import annotations

VERDICT_SYMBOL = {
    "pass": "✔",
    "fail": "✘",
    "error": "!",
    "timeout": "⧗",
    "unsupported": "⊘",
}

LESSON_SYMBOL = {
    "passed": "✔",
    "passed-older": "✔",
    "failing": "✘",
    "not-started": "·",
    "unsupported": "⊘",
    "running": "▶",
}

LESSON_WORD = {
    "passed": "passed",
    "passed-older": "passed (older version)",  # the lesson changed since it passed
    "failing": "failing",
    "not-started": "not started",
    "unsupported": "unsupported",
    "running": "running",
}


def verdict_label(status: str) -> str:
    return f"{VERDICT_SYMBOL.get(status, '?')} {status}"


def lesson_label(status: str) -> str:
    return f"{LESSON_SYMBOL.get(status, '?')} {LESSON_WORD.get(status, status)}"


def short(value: object, limit: int = 40) -> str:
    """One line of at most `limit` characters for a table cell."""
    text = "" if value is None else " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
