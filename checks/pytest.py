"""The learner-test workflow (the BUG-026 class): the documented pytest
command must really run tests, not skip or collect nothing."""

from __future__ import annotations

import re
import shlex
from pathlib import Path, PurePath
from typing import Any

from checks.api import CheckError, cite, generic_kind, lines_of, plural, shorten
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


def typed_command(want: list[str], ctx: Context) -> str | None:
    """The `./course test NN ...` line that runs exactly `want`, if one does."""
    from runner.lesson_shell import test_argv

    if ctx.lesson is None or want[:4] != ["python", "-m", "pytest", "-q"]:
        return None
    rest = want[4:]
    extra = rest[1:] if rest[:1] == ["tests"] else rest
    if test_argv("python", Path(ctx.lesson.dir), extra) != want:
        return None
    return shlex.join(["./course", "test", ctx.lesson.code, *extra])


# pytest's report, as `-q` prints it
_SECTION = re.compile(r"^=+ (?P<name>FAILURES|ERRORS|short test summary info) =+$")
_HEADER = re.compile(r"^_{2,} (?P<name>.+?) _{2,}$")
_E_LINE = re.compile(r"^E\s+(?P<text>\S.*)$")
_LOCATION = re.compile(r"^(?P<file>[^\s:]+\.py):(?P<line>\d+): (?P<what>.+)$")
_SUMMARY_ITEM = re.compile(r"^(?P<kind>FAILED|ERROR) (?P<node>\S+)(?: - (?P<why>.*))?$")
_NOT_FOUND = re.compile(r"^ERROR: file or directory not found: (?P<path>\S+)")
_INTERNAL_FRAME = re.compile(
    r'^INTERNALERROR>\s+File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<in>\S+)'
)
_LIBRARY = re.compile(
    r"/(?:_pytest|pluggy|importlib|lib/python3[\d.]*|site-packages|dist-packages)/|^<"
)


class Failure:
    """One failing test or collection error from pytest's report."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reason = ""
        self.place = ""  # "probe.py line 203: `raise RuntimeError(...)`"

    @property
    def collecting(self) -> bool:
        return self.name.startswith("ERROR collecting ")


def _failures(lines: list[str]) -> list[Failure]:
    """The FAILURES and ERRORS sections: each test's first `E` line and the
    innermost place outside the tests, else the summary's FAILED lines."""
    found: list[Failure] = []
    section, current = "", None
    pending_place: tuple[str, str] | None = None
    for index, line in enumerate(lines):
        m = _SECTION.match(line)
        if m:
            section, current = m.group("name"), None
            continue
        if section in ("FAILURES", "ERRORS"):
            m = _HEADER.match(line)
            if m:
                current = Failure(m.group("name"))
                found.append(current)
                continue
            if current is None:
                continue
            m = _LOCATION.match(line)
            if m and not current.reason and not m.group("file").startswith("tests/"):
                source = lines[index + 1].strip() if index + 1 < len(lines) else ""
                pending_place = (f"{m.group('file')} line {m.group('line')}", source)
            m = _E_LINE.match(line)
            if m and not current.reason:
                current.reason = m.group("text").strip()
                if pending_place:
                    where, source = pending_place
                    current.place = f"{where}: `{shorten(source, 60)}`" if source else where
                pending_place = None
    if found:
        return found
    for line in lines:
        m = _SUMMARY_ITEM.match(line)
        if m:
            failure = Failure(m.group("node").rsplit("::", 1)[-1])
            failure.reason = (m.group("why") or "").strip()
            found.append(failure)
    return found


def _internal_error(lines: list[str]) -> str | None:
    """A pytest INTERNALERROR (the probe ended the run while being imported,
    e.g. argparse or sys.exit at import time): the learner's line and the error."""
    internal = [ln for ln in lines if ln.startswith("INTERNALERROR>")]
    if not internal:
        return None
    frames: list[tuple[bool, str]] = []  # (at module level, place)
    for index, line in enumerate(internal):
        m = _INTERNAL_FRAME.match(line)
        if m and not _LIBRARY.search(m.group("file")) and "/tests/" not in m.group("file"):
            source = internal[index + 1].removeprefix("INTERNALERROR>").strip()
            place = f"{PurePath(m.group('file')).name} line {m.group('line')}"
            frames.append(
                (
                    m.group("in") == "<module>",
                    place + (f": `{shorten(source, 60)}`" if source else ""),
                )
            )
    # The probe's top-level line that ran at import time, else the innermost frame.
    top = [place for module, place in frames if module]
    where = top[-1] if top else (frames[-1][1] if frames else None)
    error = internal[-1].removeprefix("INTERNALERROR>").strip()
    return f"{where} raised {error}" if where else f"pytest stopped with {error}"


def _one_failure(f: Failure) -> str:
    name = f.name.removeprefix("ERROR collecting ")
    why = shorten(f.reason, 120) if f.reason else "no reason given"
    at = f" at {f.place}" if f.place else ""
    return f"{name}{at}: {why}"


@generic_kind("pytest.workflow", {"properties": {"min_tests": {"type": "integer", "minimum": 1}}})
def pytest_workflow(params: dict[str, Any], ctx: Context) -> Verdict:
    """The command run collected at least `min_tests` (default 1) tests that
    really ran (not skipped), and none failed or errored. A failure names the
    failing tests and why (from pytest's report), a missing tests folder, or the
    probe's line that failed when the tests imported it."""
    want = params.get("min_tests", 1)
    argv = course_command(ctx)
    command = shlex.join(argv)
    typed = typed_command(argv, ctx)
    rerun = f"`{typed}` in the lesson's folder" if typed else f"`{command}`"
    lines = lines_of(ctx.run, "any")
    parsed = pytest_counts(lines)
    expected = {"min_passed": want, "failed": 0, "errors": 0}
    missing = next((m.group("path") for ln in lines if (m := _NOT_FOUND.match(ln))), None)
    if missing is not None:
        return Verdict(
            "fail",
            f"There is no {missing} folder next to the probe, so no learner test ran (pytest: "
            f"file or directory not found: {missing}); check your workspace copy, which has the "
            f"lesson's {missing}/ folder (a probe given with --file needs one beside it).",
            expected,
            {"missing": missing, "exit_code": ctx.run.exit_code if ctx.run else None},
        )
    crashed = _internal_error(lines)
    if crashed is not None:
        return Verdict(
            "fail",
            f"Importing the probe for the tests stopped pytest: {crashed}. Code at the top level "
            f"of probe.py runs when the tests import it; call main() only under "
            f'`if __name__ == "__main__":`, then run {rerun}.',
            expected,
            {"internal_error": crashed, "exit_code": ctx.run.exit_code if ctx.run else None},
        )
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
            f"({cite(lines[-2:])}); run {rerun} and fix what it says.",
            expected,
            {"exit_code": code},
        )
    counts, summary = parsed
    passed, skipped = counts.get("passed", 0), counts.get("skipped", 0)
    broken = counts.get("failed", 0) + counts.get("errors", 0)
    observed = {**counts, "summary": summary.strip()}
    if broken:
        failures = _failures(lines)
        observed["failures"] = [_one_failure(f) for f in failures]
        collecting = [f for f in failures if f.collecting]
        if collecting and not counts.get("failed"):
            first = collecting[0]
            at = f" ({first.place})" if first.place else ""
            return Verdict(
                "fail",
                f"pytest could not import {first.name.removeprefix('ERROR collecting ')}, so no "
                f"test ran: {shorten(first.reason, 120) or 'see its output'}{at}; fix that, "
                f"then run {rerun}.",
                expected,
                observed,
            )
        named = "; ".join(_one_failure(f) for f in failures[:2])
        more = f" (and {len(failures) - 2} more)" if len(failures) > 2 else ""
        which = f": {named}{more}" if failures else f" ({shorten(summary.strip())})"
        return Verdict(
            "fail",
            f"{plural(broken, 'learner test')} failed{which}. Run {rerun} to see the "
            f"details, and fix the probe (not the test).",
            expected,
            observed,
        )
    if passed and skipped:
        return Verdict(
            "fail",
            f"{plural(passed, 'learner test')} passed but {skipped} skipped, and every one must "
            f"run: remove the skip marker (`{_SKIP_MARKER}` or a skip decorator), then run "
            f"{rerun}.",
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
            f"`{_SKIP_MARKER}` at the top of the test file, then run {rerun}."
        )
    elif passed == 0:
        message = (
            f"`{command}` collected no tests ({shorten(summary.strip())}): check that the test "
            f"file is named test_*.py and its functions start with test_."
        )
    else:
        message = f"Expected at least {plural(want, 'passing test')}, `{command}` ran {passed}."
    return Verdict("fail", message, expected, observed)
