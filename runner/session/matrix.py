"""`course validate --kernels`: the author gate on each kernel of kernels.yaml,
one VM boot per kernel, every lesson (host lessons too) run as a learner runs
it: an unprivileged user whose only way to root is the README's sudo rule.

The outcome per kernel is what `runner.validate` judges; `as_tested_on` turns
the whole matrix into the course's "tested on" record.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.course.tested_on import TestedOn
    from runner.model import Lesson
    from runner.session.core import Session
    from runner.validate import CaseOutcome

BAD = ("fail", "error")


@dataclass
class KernelRun:
    """One kernel's boot: the release it booted, its wall time, and either
    each lesson's case outcomes or why the VM could not run them."""

    name: str
    release: str = ""
    seconds: float = 0.0
    outcomes: dict[str, list[CaseOutcome]] = field(default_factory=dict)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and not any(
            o.status in BAD for items in self.outcomes.values() for o in items
        )

    def counts(self) -> tuple[int, int, int]:
        """(behaved as they must, failed or errored, unsupported) cases."""
        flat = [o.status for items in self.outcomes.values() for o in items]
        bad = sum(1 for s in flat if s in BAD)
        unsupported = flat.count("unsupported")
        return len(flat) - bad - unsupported, bad, unsupported

    def lesson_status(self, lesson_id: str) -> tuple[str, str | None]:
        """passed / failed / unsupported for the "tested on" record, with a reason."""
        if self.error is not None:
            return "failed", self.error
        items = self.outcomes.get(lesson_id, [])
        bad = next((o for o in items if o.status in BAD), None)
        if bad is not None:
            return "failed", f"{bad.case}: {bad.message}"
        # a wrong variant whose mistake this kernel cannot show (`# shows-without:`)
        # leaves the lesson passed; the lesson is unsupported when its solution is
        skipped = next(
            (o for o in items if o.status == "unsupported" and not o.case.startswith("wrong/")),
            None,
        )
        if skipped is not None:
            return "unsupported", skipped.message
        return ("passed", None) if items else ("failed", "no case of this lesson ran")

    def to_json(self) -> dict[str, Any]:
        return {
            "release": self.release,
            "seconds": round(self.seconds, 1),
            "error": self.error,
            "lessons": {lid: [o.__dict__ for o in items] for lid, items in self.outcomes.items()},
        }


def release_from(message: str) -> str | None:
    """The guest's `guest up: kernel <release>` progress line."""
    prefix = "guest up: kernel "
    return message[len(prefix) :].strip() if message.startswith(prefix) else None


def validate_kernels(
    session: Session,
    kernels: Iterable[str],
    lessons: list[Lesson] | None = None,
    *,
    kinds: frozenset[str] | None = None,
    on_progress: Callable[[str, str], None] | None = None,
) -> list[KernelRun]:
    """Validate `lessons` (default: all) on each kernel, as a learner, in
    one boot per kernel; `on_progress(kernel, message)` as the VM goes."""
    from runner.session.decide import SessionError

    runs = []
    for name in kernels:
        run = KernelRun(name)

        def progress(message: str, run: KernelRun = run) -> None:
            release = release_from(message)
            if release:
                run.release = release
            if on_progress is not None:
                on_progress(run.name, message)

        started = time.monotonic()
        try:
            run.outcomes = session.validate(
                lessons, vm="on", kernel=name, learner=True, kinds=kinds, on_progress=progress
            )
        except SessionError as exc:
            run.error = str(exc)
        run.seconds = time.monotonic() - started
        runs.append(run)
    return runs


def as_tested_on(
    runs: list[KernelRun],
    lesson_ids: list[str],
    bcc: str,
    *,
    earlier: TestedOn | None = None,
    when: date | None = None,
) -> TestedOn:
    """The matrix as the course's "tested on" record (runner.course.tested_on),
    on top of an `earlier` record: lessons and kernels this matrix did not
    run keep what it said."""
    from runner.course.tested_on import KernelResult, TestedOn

    lessons = {lid: dict(found) for lid, found in (earlier.lessons if earlier else {}).items()}
    for lid in lesson_ids:
        mine = lessons.setdefault(lid, {})
        for run in runs:
            status, reason = run.lesson_status(lid)
            mine[run.name] = KernelResult(status, reason or "")
    kernels = dict(earlier.kernels) if earlier else {}
    for run in runs:  # a kernel that never booted is listed with its failure
        kernels[run.name] = run.release or kernels.get(run.name) or "not booted"
    return TestedOn(
        date=(when or date.today()).isoformat(), bcc=bcc, kernels=kernels, lessons=lessons
    )
