"""The author gate: the solution passes, the starter fails, and each known-wrong
variant fails the check it names. Checks that cannot fail are defects."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import checks
from runner.model import Lesson, Recording, Report


@dataclass(frozen=True)
class Case:
    name: str  # "solution", "starter", "wrong/no-cast.py"
    probe: Path
    must_fail: str | None = None  # a check id, for wrong variants


@dataclass(frozen=True)
class Outcome:
    case: str
    status: str  # pass (behaved as it must) | fail | error | unsupported
    message: str


def cases(lesson: Lesson) -> list[Case]:
    found = []
    if lesson.solution:
        found.append(Case("solution", lesson.solution))
    found.append(Case("starter", lesson.starter))
    for variant in lesson.wrong:
        found.append(Case(f"wrong/{variant.path.name}", variant.path, variant.must_fail))
    return found


def runs_for(lesson: Lesson, case: Case) -> list[str] | None:
    """Which steps a case needs: all (None) for the solution and the starter;
    for a wrong variant only the step its named check reads, and none ([])
    when that check reads only the source. Each step is a compile: under
    emulation in a VM that is tens of seconds."""
    if case.must_fail is None:
        return None
    spec = next((c for c in lesson.checks if c.id == case.must_fail), None)
    if spec is None:
        return None
    kind = checks.get(spec.kind)
    if kind is not None and not kind.needs_run:
        return []
    return [spec.run]


def source_only(lesson: Lesson, case: Case) -> Recording:
    """The recording of a case that needs no step: just the probe's text."""
    source = case.probe.read_text(encoding="utf-8", errors="replace")
    return Recording(lesson=lesson.id, probe_path=str(case.probe), probe_source=source)


def judge(lesson: Lesson, case: Case, report: Report) -> Outcome:
    if report.status == "unsupported":
        reason = next((c.message for c in report.checks if c.status == "unsupported"), "")
        return Outcome(case.name, "unsupported", reason)
    not_passed = [c for c in report.checks if c.status != "pass"]
    if case.name == "solution":
        if not not_passed:
            return Outcome(case.name, "pass", f"passes all {len(report.checks)} checks")
        first = not_passed[0]
        return Outcome(
            case.name,
            "fail",
            f"the reference solution does not pass {first.id!r}: {first.message}",
        )
    if case.must_fail is None:  # the starter
        if not_passed or lesson.starter_may_pass:
            names = ", ".join(c.id for c in not_passed) or "none (allowed to pass)"
            return Outcome(case.name, "pass", f"fails as it must: {names}")
        return Outcome(case.name, "fail", "the untouched starter passes every check")
    target = next((c for c in report.checks if c.id == case.must_fail), None)
    if target is None:
        return Outcome(case.name, "error", f"names check {case.must_fail!r}, which is not run")
    if target.status in ("fail", "error", "timeout"):
        return Outcome(case.name, "pass", f"fails {case.must_fail!r} as it must ({target.status})")
    return Outcome(
        case.name,
        "fail",
        f"should fail {case.must_fail!r} but it {target.status}es: the check cannot "
        "catch this mistake",
    )
