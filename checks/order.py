"""Order: the rows of a table the probe printed (a top-N) come sorted by
their number, and there are as many as asked for."""

from __future__ import annotations

import operator
from typing import Any

from checks.api import (
    COUNT,
    REGEX,
    STREAM,
    cite,
    compile_regex,
    generic_kind,
    group_number,
    lines_of,
    plural,
)
from checks.context import Context
from runner.model import Verdict


@generic_kind(
    "order.sorted",
    {
        "required": ["pattern"],
        "properties": {
            "pattern": REGEX,
            "stream": STREAM,
            "order": {"enum": ["desc", "asc"], "default": "desc"},
            "max_rows": {"type": "integer", "minimum": 1},
            "min": COUNT,
        },
    },
)
def order_sorted(params: dict[str, Any], ctx: Context) -> Verdict:
    """Rows matching `pattern` are sorted by their `(?P<n>)` number (`order`
    desc by default), there are at most `max_rows` and at least `min` (default 1)."""
    rx = compile_regex(params["pattern"], "pattern", ["n"])
    lines = lines_of(ctx.run, params.get("stream", "out"))
    order, most, least = params.get("order", "desc"), params.get("max_rows"), params.get("min", 1)
    rows = [m for m in (rx.search(ln) for ln in lines) if m]
    values = [group_number(m) for m in rows]
    expected = {"order": order, "max_rows": most, "min": least}
    observed = {"rows": len(rows), "values": values[:50]}
    if len(rows) < least:
        return Verdict(
            "fail",
            f"Expected at least {plural(least, 'row')} matching {rx.pattern!r}, saw {len(rows)} "
            f"(the probe printed {cite(lines)}).",
            expected,
            observed,
        )
    if most is not None and len(rows) > most:
        return Verdict(
            "fail",
            f"Expected at most {plural(most, 'row')}, saw {len(rows)}: keep only the top {most}.",
            expected,
            observed,
        )
    wrong = operator.lt if order == "desc" else operator.gt
    for i in range(1, len(values)):
        if wrong(values[i - 1], values[i]):
            first = "largest" if order == "desc" else "smallest"
            return Verdict(
                "fail",
                f"Expected rows sorted {first} first, but row {i + 1} ({values[i]}) comes after "
                f"row {i} ({values[i - 1]}): {cite([rows[i - 1].string, rows[i].string])}.",
                expected,
                observed,
            )
    return Verdict("pass", f"{plural(len(rows), 'row')} sorted {order}.", expected, observed)
