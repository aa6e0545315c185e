"""Recording + lesson checks -> Report. Pure: no kernel, no files, no clock."""

from __future__ import annotations

import checks
from checks.context import Context, TemplateError
from runner.model import CheckResult, CheckSpec, Lesson, Recording, Report, Run, Verdict

# When checks disagree, the lesson's status is the most telling one.
_SEVERITY = {"pass": 0, "fail": 1, "timeout": 2, "error": 3, "unsupported": 4}


def _run_verdict(spec: CheckSpec, run: Run | None, lesson: Lesson | None) -> Verdict | None:
    """A verdict decided by the run itself, before the check kind looks."""
    if run is None:
        return Verdict("error", f"The run {spec.run!r} this check reads was not recorded.")
    if run.unsupported:
        return Verdict("unsupported", run.unsupported)
    if run.error:
        return Verdict("error", run.error)
    step = lesson.run_spec(spec.run) if lesson else None
    if run.stop_reason == "not-ready":
        pattern = step.ready if step else "its ready line"
        wait = f" within {step.ready_timeout:g} s" if step else ""
        return Verdict(
            "timeout",
            f"The probe never printed a line matching /{pattern}/{wait}, so the workload "
            "never started; print that line (flushed) as soon as the probe is attached.",
            expected=pattern,
            observed=_last_lines(run),
        )
    if step and step.ready and not run.ready and run.stop_reason == "exited":
        how = (
            f"exit status {run.exit_code}"
            if run.exit_code is not None
            else (f"signal {run.signal}")
        )
        return Verdict(
            "fail",
            f"The probe ended ({how}) before it printed a line matching /{step.ready}/, "
            "so the workload never ran; its stderr says why.",
            expected=step.ready,
            observed=_last_lines(run),
        )
    if run.stop_reason == "cancelled":
        return Verdict("error", "The run was cancelled before this step finished.")
    if run.stop_reason == "timeout":
        limit = f"{step.timeout:g} s" if step else "its time"
        return Verdict(
            "timeout",
            f"The probe was still running after {limit} and was stopped; make sure it "
            "ends after --duration seconds and on Ctrl+C.",
            observed=_last_lines(run),
        )
    return None


def _last_lines(run: Run, n: int = 3) -> list[str]:
    return [ln.text[:200] for ln in run.lines[-n:]]


def grade_check(spec: CheckSpec, recording: Recording, lesson: Lesson | None) -> CheckResult:
    kind = checks.get(spec.kind)
    verdict: Verdict | None
    if kind is None:
        verdict = Verdict("error", f"Unknown check kind {spec.kind!r}.")
    else:
        run = recording.runs.get(spec.run) if kind.needs_run else None
        verdict = _run_verdict(spec, run, lesson) if kind.needs_run else None
        if verdict is None:
            ctx = Context(recording=recording, run=run, lesson=lesson)
            try:
                verdict = kind.func(spec.params, ctx)
            except TemplateError as exc:
                verdict = Verdict("error", str(exc))  # already one sentence
            except Exception as exc:  # a bug in a check kind must not hide the others
                verdict = Verdict(
                    "error", f"The check kind {spec.kind!r} failed internally: {exc!r}."
                )
    return CheckResult(
        id=spec.id,
        kind=spec.kind,
        status=verdict.status,
        message=verdict.message,
        expected=verdict.expected,
        observed=verdict.observed,
        points=spec.points if verdict.status == "pass" else 0,
        max_points=spec.points,
        hint=spec.hint if verdict.status != "pass" else "",
        section=spec.section or "",
    )


def overall_status(results: list[CheckResult]) -> str:
    if not results:
        return "error"
    return max((r.status for r in results), key=_SEVERITY.__getitem__)


def run_failed(lesson: Lesson, recording: Recording, run_id: str) -> bool:
    """Whether any check that reads run `run_id` does not pass."""
    specs = [
        s for s in lesson.checks if s.run == run_id and (k := checks.get(s.kind)) and k.needs_run
    ]
    return any(grade_check(s, recording, lesson).status != "pass" for s in specs)


def grade(lesson: Lesson, recording: Recording) -> Report:
    results = [grade_check(spec, recording, lesson) for spec in lesson.checks]
    return Report(
        lesson=lesson.id,
        status=overall_status(results),  # type: ignore[arg-type]
        score=sum(r.points for r in results),
        max_score=lesson.max_score,
        checks=results,
        where=recording.where,
    )
