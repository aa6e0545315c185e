"""Exit status and error messages: a probe fails loudly and clearly on bad
input (unknown function, missing binary, not root)."""

from __future__ import annotations

import signal
from typing import Any

from checks.api import REGEX, CheckError, cite, compile_regex, generic_kind, lines_of, shorten
from checks.context import Context
from runner.model import Run, Verdict


def ending(run: Run) -> str:
    """How a run ended: "exit code 1", "killed by SIGTERM", "no exit status"."""
    if run.exit_code is not None:
        return f"exit code {run.exit_code}"
    if run.signal is not None:
        try:
            return f"killed by {signal.Signals(run.signal).name}"
        except ValueError:
            return f"killed by signal {run.signal}"
    return "no exit status"


@generic_kind(
    "exit.code",
    {
        "properties": {"equals": {"type": "integer"}, "nonzero": {"const": True}},
        "oneOf": [{"required": ["equals"]}, {"required": ["nonzero"]}],
    },
)
def exit_code(params: dict[str, Any], ctx: Context) -> Verdict:
    """The probe exited with code `equals`, or (`nonzero: true`) with any
    non-zero code; being killed by a signal is neither."""
    run = ctx.run
    if run is None:
        raise CheckError("This check needs a run, and none was recorded.")
    code = run.exit_code
    ended = ending(run)
    last_err = run.err()[-1:]
    said = f"; its last stderr line was {shorten(last_err[0])!r}" if last_err else ""
    observed = {"exit_code": code, "signal": run.signal}
    if "equals" in params:
        want = params["equals"]
        ok = code == want
        expected: Any = {"exit_code": want}
        text = f"exit code {want}"
    else:
        ok = code is not None and code != 0
        expected = {"exit_code": "non-zero"}
        text = "a non-zero exit code (fail with a clear message on stderr)"
    if ok:
        return Verdict("pass", f"The probe ended with {ended}, as expected.", expected, observed)
    return Verdict(
        "fail", f"Expected {text}, the probe ended with {ended}{said}.", expected, observed
    )


@generic_kind("exit.stderr", {"required": ["pattern"], "properties": {"pattern": REGEX}})
def exit_stderr(params: dict[str, Any], ctx: Context) -> Verdict:
    """Some stderr line matches `pattern` (the probe said what went wrong)."""
    rx = compile_regex(params["pattern"])
    err = lines_of(ctx.run, "err")
    hit = next((line for line in err if rx.search(line)), None)
    expected = {"pattern": rx.pattern}
    observed = {"match": hit, "stderr": err[-3:]}
    if hit is None:
        return Verdict(
            "fail",
            f"Expected a stderr line matching {rx.pattern!r}, saw {cite(err[-2:])}.",
            expected,
            observed,
        )
    return Verdict("pass", f"stderr said {shorten(hit)!r}.", expected, observed)
