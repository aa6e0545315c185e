"""The learner-test workflow (the BUG-026 class): the documented pytest
command must really run tests, not skip or collect nothing."""

from __future__ import annotations

import re
import shlex
from pathlib import PurePath
from typing import Any

from checks._util import CheckError, cite, generic_kind, lines_of, plural, shorten
from checks.context import Context
from runner.model import Verdict

# "3 passed, 1 skipped in 0.12s", "== 1 failed, 2 errors in 1.0s (0:00:01) ==",
# "no tests ran in 0.01s"
_SUMMARY = re.compile(r"(?:\d+ \w+|no tests ran)(?:, \d+ \w+)* in \d+(?:\.\d+)?s\b")
_COUNT = re.compile(r"(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)\b")
_PROBLEM_LINE = re.compile(r"^(FAILED|ERROR) ")
_SKIP_MARKER = "pytestmark = pytest.mark.skip(...)"


def is_python(word: str) -> bool:
    return word == "{python}" or re.fullmatch(r"python[\d.]*", PurePath(word).name) is not None


def normalise_argv(argv: list[str]) -> list[str]:
    """An argv as a learner would type it: any interpreter path becomes `python`."""
    return ["python" if i == 0 and is_python(w) else str(w) for i, w in enumerate(argv)]


def course_command(ctx: Context) -> list[str]:
    """The command the course runs for this check's run, as the lesson wrote it
    (`{python}` shown as `python`), else as the runner recorded it."""
    if ctx.run is None:
        raise CheckError("This check needs a command run, and none was recorded.")
    spec = ctx.lesson.run_spec(ctx.run.id) if ctx.lesson else None
    argv = list(spec.command) if spec and spec.command else list(ctx.run.argv)
    if not argv:
        raise CheckError(f"The run {ctx.run.id!r} recorded no command to compare with.")
    return normalise_argv(argv)


def pytest_counts(lines: list[str]) -> tuple[dict[str, int], str] | None:
    """pytest's outcome counts from its last summary line, or None without one."""
    for line in reversed(lines):
        m = _SUMMARY.search(line)
        if m:
            counts: dict[str, int] = {}
            for n, what in _COUNT.findall(m.group(0)):
                key = "errors" if what.startswith("error") else what
                counts[key] = counts.get(key, 0) + int(n)
            return counts, line
    return None


@generic_kind("pytest.workflow", {"properties": {"min_tests": {"type": "integer", "minimum": 1}}})
def pytest_workflow(params: dict[str, Any], ctx: Context) -> Verdict:
    """The command run collected at least `min_tests` (default 1) tests that
    really ran (not skipped), and none failed or errored."""
    want = params.get("min_tests", 1)
    command = shlex.join(course_command(ctx))
    lines = lines_of(ctx.run, "any")
    parsed = pytest_counts(lines)
    expected = {"min_passed": want, "failed": 0, "errors": 0}
    if parsed is None:
        code = ctx.run.exit_code
        if code in (None, 0):
            raise CheckError(
                f"The output of `{command}` has no pytest summary line, so the tests cannot be "
                f"judged (last lines: {cite(lines[-2:])})."
            )
        return Verdict(
            "fail",
            f"`{command}` ended with exit code {code} before pytest reported any test "
            f"({cite(lines[-2:])}); run it yourself and fix what it says.",
            expected,
            {"exit_code": code},
        )
    counts, summary = parsed
    passed, skipped = counts.get("passed", 0), counts.get("skipped", 0)
    broken = counts.get("failed", 0) + counts.get("errors", 0)
    observed = {**counts, "summary": summary.strip()}
    if broken:
        named = [ln for ln in lines if _PROBLEM_LINE.match(ln)]
        which = f": {cite(named, 1, 100)}" if named else ""
        return Verdict(
            "fail",
            f"`{command}` reported {plural(broken, 'failing test')} "
            f"({shorten(summary.strip())}){which}.",
            expected,
            observed,
        )
    if passed >= want:
        return Verdict(
            "pass", f"`{command}` ran {plural(passed, 'test')} and all passed.", expected, observed
        )
    if passed == 0 and skipped:
        message = (
            f"No test ran, {skipped} skipped: remove the skip marker line "
            f"`{_SKIP_MARKER}` at the top of the test file, then run `{command}`."
        )
    elif passed == 0:
        message = (
            f"`{command}` collected no tests ({shorten(summary.strip())}): check that the test "
            f"file is named test_*.py and its functions start with test_."
        )
    else:
        message = f"Expected at least {plural(want, 'passing test')}, `{command}` ran {passed}."
    return Verdict("fail", message, expected, observed)
