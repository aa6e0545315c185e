"""Check kinds specific to the kprobe lessons (01-04).

`timing.since_ready`: how long a probe traced once it said it was attached.
Under a VM with software emulation, compiling a kprobe program alone can
take tens of seconds, so the whole run's duration (`timing.duration`)
cannot judge whether `-d N` was honoured; the time from the ready line to
the end of the run can, on any machine.
"""

from __future__ import annotations

from typing import Any

from checks._util import NUMBER_OR_TEMPLATE, CheckError, generic_kind, require_number
from checks.context import Context
from runner.model import Verdict


@generic_kind(
    "timing.since_ready",
    {
        "properties": {"min": NUMBER_OR_TEMPLATE, "max": NUMBER_OR_TEMPLATE},
        "required": ["min", "max"],
    },
)
def timing_since_ready(params: dict[str, Any], ctx: Context) -> Verdict:
    """The probe ended between `min` and `max` seconds after its ready line."""
    run = ctx.run
    if run is None:
        raise CheckError("This check needs a run, and none was recorded.")
    low, high = require_number(params["min"], "min"), require_number(params["max"], "max")
    if high < low:
        raise CheckError(f"The max param ({high}) is below min ({low}).")
    expected = {"min": low, "max": high}
    if not run.ready or run.ready_at is None:
        return Verdict(
            "fail",
            "The probe never printed its ready line, so the time it traced cannot be measured.",
            expected,
            None,
        )
    if run.stop_reason != "exited":
        return Verdict(
            "fail",
            f"The probe did not end by itself (it was {run.stop_reason or 'stopped'}): "
            "does -d/--duration stop it once the time is over?",
            expected,
            None,
        )
    traced = round(run.duration - run.ready_at, 2)
    if traced < low:
        return Verdict(
            "fail",
            f"Expected the probe to trace for {low}-{high} s after it attached, it ended after "
            f"{traced} s: start the -d/--duration clock once the probe is attached, not before "
            "the program is compiled.",
            expected,
            traced,
        )
    if traced > high:
        return Verdict(
            "fail",
            f"Expected the probe to trace for {low}-{high} s after it attached, it ran "
            f"{traced} s: does it stop by itself once the duration is over?",
            expected,
            traced,
        )
    return Verdict(
        "pass",
        f"The probe traced {traced} s after it attached, within {low}-{high} s.",
        expected,
        traced,
    )
