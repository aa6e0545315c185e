"""Helpers shared by the generic check kinds: registration with params
validation and template filling, stream selection, regex compilation,
numbers with `same` equivalence, and short quotes of observed lines."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable
from typing import Any

import jsonschema

from checks import CheckFunc, kind
from checks.context import Context, TemplateError
from runner.model import Run, Verdict

# ---------------------------------------------------------------- schema parts

STREAM = {"enum": ["out", "err", "any"], "default": "out"}
# "format" is an annotation only (no checker runs): it names the param in the docs.
REGEX = {"type": "string", "minLength": 1, "format": "regex"}
# A count may come from the ground truth: "{workload.facts.opens}", "{host.cpus}".
TEMPLATE = {"type": "string", "pattern": r"^\{[A-Za-z_][\w.]*\}$"}
COUNT = {"anyOf": [{"type": "integer", "minimum": 0}, TEMPLATE]}
# A where value: a literal or a template such as "{workload.pid}".
SCALAR = {"type": ["string", "integer", "number"]}
WHERE = {"type": "object", "minProperties": 1, "additionalProperties": SCALAR}
SAME = {
    "type": "object",
    "additionalProperties": {
        "type": "array",
        "items": {"type": "array", "minItems": 2, "items": SCALAR},
    },
}
NUMBER_OR_TEMPLATE = {"type": ["number", "string"]}


class CheckError(Exception):
    """The check cannot judge this input; the message is one sentence."""


def generic_kind(
    name: str,
    schema: dict[str, Any],
    *,
    needs_run: bool = True,
    expand: bool = True,
    records: tuple[str, ...] = (),
) -> Callable[[CheckFunc], CheckFunc]:
    """Register a kind whose params are validated against `schema` and
    template-expanded before the body runs. Invalid params, unfillable
    templates and `CheckError` become an `error` verdict, never a raise."""
    schema = {"type": "object", "additionalProperties": False, **schema}
    validator = jsonschema.Draft202012Validator(schema)

    def wrap(func: CheckFunc) -> CheckFunc:
        @functools.wraps(func)
        def judged(params: dict[str, Any], ctx: Context) -> Verdict:
            problem = jsonschema.exceptions.best_match(validator.iter_errors(params or {}))
            if problem is not None:
                return Verdict("error", _params_problem(problem))
            try:
                filled = ctx.expand(dict(params or {})) if expand else dict(params or {})
                return func(filled, ctx)
            except TemplateError as exc:
                return Verdict("error", str(exc))  # one sentence naming the template
            except CheckError as exc:
                return Verdict("error", str(exc))

        kind(name, schema, needs_run=needs_run, records=records)(judged)
        return judged

    return wrap


def _params_problem(problem: jsonschema.ValidationError) -> str:
    """One sentence for a schema violation; alternatives are named plainly."""
    at = "/".join(str(p) for p in problem.absolute_path) or "params"
    alternatives = problem.validator_value if problem.validator in ("oneOf", "anyOf") else []
    if alternatives and all("required" in alt for alt in alternatives):
        names = [" and ".join(alt.get("required", [])) for alt in problem.validator_value]
        how = "exactly one" if problem.validator == "oneOf" else "at least one"
        return f"The check's params are invalid: give {how} of {', '.join(names)}."
    return f"The check's params are invalid at {at}: {problem.message}."


# ---------------------------------------------------------------- lines


def lines_of(run: Run | None, stream: str = "out") -> list[str]:
    """The captured lines of `stream`: out, err or any (both, in order)."""
    if run is None:
        raise CheckError("This check needs a run, and none was recorded.")
    if stream == "out":
        return run.out()
    if stream == "err":
        return run.err()
    return [ln.text for ln in run.lines]


def dropped_of(run: Run, stream: str = "out") -> int:
    """How many lines of `stream` the output cap dropped (exact counts minus kept)."""
    out = max(0, run.stdout_lines - len(run.out()))
    err = max(0, run.stderr_lines - len(run.err()))
    return {"out": out, "err": err}.get(stream, out + err)


def cap_note(run: Run | None, stream: str = "out") -> str:
    """Say when the output cap dropped lines, since they were not searched."""
    dropped = dropped_of(run, stream) if run else 0
    return (
        f"; the output cap dropped {plural(dropped, 'line')}, which were not searched"
        if dropped
        else ""
    )


class PatternError(ValueError):
    """An author's pattern RE2 rejects; the message is one clause (no full stop)."""


def _re2_options() -> Any:
    import re2

    options = re2.Options()
    options.log_errors = False  # RE2 would print its own parse errors on stderr
    return options


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    """THE compile of an author's regular expression (check params, `ready:`),
    on RE2: matching takes time linear in the line, so no pattern can hang
    grading or readiness (`(a+)+$` on a long line would under Python's `re`).
    RE2 has named groups `(?P<name>...)`, classes, anchors and repetition,
    but no backreferences or lookaround. Raises PatternError."""
    import re2

    try:
        return re2.compile(pattern, _re2_options())
    except re2.error as exc:
        why = exc.args[0] if exc.args else exc
        why = why.decode(errors="replace") if isinstance(why, bytes) else str(why)
        raise PatternError(
            f"{why} (patterns use RE2 syntax: no lookaround or backreferences)"
        ) from None
    except (TypeError, ValueError) as exc:
        raise PatternError(str(exc)) from None


def compile_regex(pattern: Any, param: str = "pattern", groups: Iterable[str] = ()) -> Any:
    """Compile a param regex (compile_pattern); a bad one or a missing named
    group is a CheckError."""
    if not isinstance(pattern, str):
        raise CheckError(f"The {param} param must be a regex string, got {pattern!r}.")
    try:
        rx = compile_pattern(pattern)
    except PatternError as exc:
        raise CheckError(f"The {param} regex {pattern!r} does not compile: {exc}.") from None
    missing = [g for g in groups if g not in rx.groupindex]
    if missing:
        names = ", ".join(f"(?P<{g}>...)" for g in missing)
        raise CheckError(f"The {param} regex {pattern!r} needs the named group {names}.")
    return rx


def first_match(rx: re.Pattern, lines: Iterable[str]) -> re.Match | None:
    for line in lines:
        m = rx.search(line)
        if m:
            return m
    return None


def matches(rx: re.Pattern, lines: Iterable[str]) -> list[re.Match]:
    return [m for m in (rx.search(line) for line in lines) if m]


def shorten(text: str, width: int = 80) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def cite(lines: list[str], limit: int = 2, width: int = 80) -> str:
    """Quote a few observed lines, truncated, so a flood stays short."""
    if not lines:
        return "nothing"
    quoted = ", ".join(repr(shorten(line, width)) for line in lines[:limit])
    more = len(lines) - limit
    return f"{quoted} and {more} more" if more > 0 else quoted


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ---------------------------------------------------------------- numbers

Number = int | float


def parse_number(value: Any) -> Number | None:
    """An int (decimal or 0x hex) or a float from a rendering; None if not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return int(text)
    except ValueError:
        pass
    if re.fullmatch(r"[-+]?0[xX][0-9a-fA-F]+", text):
        return int(text, 16)
    try:
        number = float(text)
    except ValueError:
        return None
    return int(number) if number.is_integer() and "." not in text else number


def group_number(m: re.Match, group: str = "n") -> Number:
    """The number a regex group captured; a non-number is a CheckError naming the group."""
    value = parse_number(m.group(group))
    if value is None:
        raise CheckError(
            f"The group (?P<{group}>...) captured {m.group(group)!r}, which is not a number; "
            f"make it match digits only."
        )
    return value


def require_number(value: Any, param: str) -> Number:
    number = parse_number(value)
    if number is None:
        raise CheckError(f"The {param} param must be a number, got {value!r}.")
    return number


def canonical(value: Any) -> Any:
    """Numbers compare as numbers when they parse, anything else as stripped text."""
    number = parse_number(value)
    if number is not None:
        return number
    return str(value).strip()


class Sameness:
    """Renderings that count as one value, per group name (`same:` param):
    e.g. dfd -100 / 4294967196 / 18446744073709551516."""

    def __init__(self, same: dict[str, list[list[Any]]] | None):
        self._groups: dict[str, list[set[Any]]] = {
            group: [{canonical(v) for v in values} for values in sets]
            for group, sets in (same or {}).items()
        }

    def equal(self, group: str, observed: Any, expected: Any) -> tuple[bool, bool]:
        """(equal, only through `same`)."""
        if observed is None:
            return False, False
        got, want = canonical(observed), canonical(expected)
        if got == want:
            return True, False
        for values in self._groups.get(group, []):
            if got in values and want in values:
                return True, True
        return False, False


class WhereFilter:
    """Decides whether a matched line has every `where` group equal to its
    ground-truth value, remembering when `same` renderings were needed."""

    def __init__(self, rx: re.Pattern, where: dict[str, Any], same: dict | None):
        unknown = [g for g in list(where) + list(same or {}) if g not in rx.groupindex]
        if unknown:
            raise CheckError(
                f"The where/same params name the group {unknown[0]!r}, which the pattern "
                f"{rx.pattern!r} does not define."
            )
        self.rx = rx
        self.where = where
        self.same = Sameness(same)
        self.renderings: dict[str, set[str]] = {}  # group -> observed renderings via same

    def mismatch(self, m: re.Match) -> str | None:
        """The first group whose value differs, or None when the line fits."""
        via: list[tuple[str, str]] = []
        for group, expected in self.where.items():
            ok, through_same = self.same.equal(group, m.group(group), expected)
            if not ok:
                return group
            if through_same:
                via.append((group, m.group(group)))
        for group, text in via:
            self.renderings.setdefault(group, set()).add(text)
        return None

    def describe(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.where.items())

    def same_note(self) -> str:
        """Say when `same` mattered, e.g. 'counting dfd 4294967196 as -100'."""
        if not self.renderings:
            return ""
        parts = [
            f"{group} {', '.join(sorted(texts))} as {self.where[group]}"
            for group, texts in self.renderings.items()
        ]
        return f" (counting {'; '.join(parts)}: the same value in another width)"


def other_values(misses: list[tuple[str, re.Match]], where: dict[str, Any], limit: int = 3) -> str:
    """Summarise near misses, closest first: lines that had every `where`
    value up to some group and differed there (e.g. the right pid with
    another dfd), with a few of the values they had instead."""
    if not misses:
        return ""
    order = list(where)
    group = max((g for g, _ in misses), key=order.index)
    closest = [m for g, m in misses if g == group]
    values: list[str] = []
    for m in closest:
        if str(m.group(group)) not in values:
            values.append(str(m.group(group)))
    # An empty value must not vanish from the sentence ("such as , and ...").
    shown = ", ".join(shorten(v, 30) if v.strip() else "(empty)" for v in values[:limit])
    more = " ..." if len(values) > limit else ""
    agreed = ", ".join(f"{k}={where[k]}" for k in order[: order.index(group)])
    text = plural(len(closest), "matching line")
    text += f" with {agreed} but other" if agreed else " for other"
    text += f" {group} values such as {shown}{more}"
    rest = len(misses) - len(closest)
    return text + (f", and {plural(rest, 'other line')}" if rest else "")
