"""Messages that workers post to the App. Workers never touch widgets; the
App's handlers are the one place where state changes and widgets update."""

from __future__ import annotations

from typing import Any

from textual.message import Message

from runner.session import CheckOutcome


class RunFinished(Message):
    """The session ran and graded a lesson."""

    def __init__(self, lesson_id: str, outcome: CheckOutcome) -> None:
        super().__init__()
        self.lesson_id = lesson_id
        self.outcome = outcome


class RunFailed(Message):
    """The session could not run a lesson; `error` is one sentence."""

    def __init__(self, lesson_id: str, error: str) -> None:
        super().__init__()
        self.lesson_id = lesson_id
        self.error = error


class ProbeSaved(Message):
    """Watch mode saw the learner save the probe of `lesson_id`."""

    def __init__(self, lesson_id: str) -> None:
        super().__init__()
        self.lesson_id = lesson_id


class HostDetected(Message):
    """runner.live.host finished deciding what this machine can do."""

    def __init__(self, facts: dict[str, Any] | None, error: str | None = None) -> None:
        super().__init__()
        self.facts = facts
        self.error = error


class WatchFailed(Message):
    """The folder watcher stopped with an error; `r` still works."""

    def __init__(self, lesson_id: str, error: str) -> None:
        super().__init__()
        self.lesson_id = lesson_id
        self.error = error


class SessionNotice(Message):
    """Something the session wants the learner to know (tracefs not mounted,
    progress file moved aside); the run goes on."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
