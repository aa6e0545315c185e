"""Templates in lesson.yaml: `{python}`, `{workload.pid}`, `{workload.facts.opens}`,
`{host.cpus}`, `{run.duration}`, `{runs.<id>.exit_code}` ...

One syntax for the whole platform: the loader checks every template when the
course loads (`problems`), the runner fills a run's args and command before
the probe starts, and check kinds fill their params from the recording
(`expand`). A string that is exactly one placeholder keeps the value's type,
so `"{workload.pid}"` becomes an int; anywhere else values become text.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Place = Literal["run", "check"]

# Where a template is filled: a run's args/command before the probe starts,
# a check's params after the run was recorded.
PLACES: dict[Place, str] = {"run": "a run's args and command", "check": "a check's params"}


@dataclass(frozen=True)
class Root:
    """A name a template may start with, and where it can be filled."""

    name: str
    places: tuple[Place, ...]
    absent: str  # why it may have no value, completing "cannot be filled: ..."


# Adding a root is one line here (and a value for it where templates are filled:
# runner/live/execute.py for "run", checks/context.py for "check").
ROOTS: dict[str, Root] = {
    r.name: r
    for r in (
        Root("python", ("run",), "the course interpreter is not known"),
        Root("probe", ("run",), "the probe file is not known"),
        Root("dir", ("run",), "the probe's folder is not known"),
        Root("workload", ("run", "check"), "this run started no workload"),
        Root("run", ("check",), "the check reads no run"),
        Root("host", ("run", "check"), "no host facts were recorded"),
        Root("runs", ("run", "check"), "no runs were recorded"),
    )
}

# A name, then dotted parts; parts after the first may hold '-' (run ids do).
PLACEHOLDER = re.compile(r"\{([A-Za-z_]\w*(?:\.[\w-]+)*)\}")
# Something that starts like a placeholder of a known root, to catch slips
# ("{workload.pid", "{workload..pid}") without flagging regex or C braces.
_LOOKS_LIKE = re.compile(r"\{\s*(" + "|".join(ROOTS) + r")\b[^{}]*\}?")


class TemplateError(ValueError):
    """A template cannot be filled; `str()` is one sentence."""


def roots_for(place: Place) -> list[str]:
    return [r.name for r in ROOTS.values() if place in r.places]


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _listed(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else "".join(names)


# ---------------------------------------------------------------- at load time


def problems(
    text: str,
    place: Place,
    *,
    runs: Iterable[str] | None = None,
    absent: Mapping[str, str] | None = None,
) -> list[str]:
    """What is wrong with the templates in `text`, each as the end of a
    sentence that starts with the value's name ("... uses an unknown template
    {wokload.pid} (did you mean 'workload'?)"). `runs` are the run ids
    `{runs.<id>...}` may name; `absent` maps roots known to have no value
    here to why ("run 'main' has no workload")."""
    found: list[str] = []
    allowed = roots_for(place)
    good: set[tuple[int, int]] = set()
    for m in PLACEHOLDER.finditer(text):
        good.add(m.span())
        dotted = m.group(1)
        head, *rest = dotted.split(".")
        if head not in ROOTS:
            hint = _did_you_mean(head, allowed) or f" (templates start with {_listed(allowed)})"
            found.append(f"uses an unknown template {m.group(0)}{hint}")
        elif place not in ROOTS[head].places:
            found.append(
                f"uses {m.group(0)}, which {PLACES[place]} cannot use "
                f"(they can use {_listed('{' + r + '}' for r in allowed)})"
            )
        elif absent and head in absent:
            found.append(f"uses {m.group(0)}, but {absent[head]}")
        elif head == "runs" and runs is not None:
            known = list(runs)
            if not rest:
                found.append(f"uses {m.group(0)}, which needs a run id: {{runs.<id>.exit_code}}")
            elif rest[0] not in known:
                have = f"it can read {_listed(known)}" if known else "it can read no run"
                hint = _did_you_mean(rest[0], known) or f" ({have})"
                found.append(f"uses {m.group(0)}, but there is no run {rest[0]!r} to read{hint}")
    for m in _LOOKS_LIKE.finditer(text):
        if m.span() not in good:
            found.append(
                f"has a malformed template {m.group(0)!r} "
                "(write a name and dotted parts in braces, such as {workload.pid})"
            )
    return found


def walk(
    value: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string inside `value` (lists and mappings too) with its path."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk(item, path + (i,))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, path + (key,))


# ---------------------------------------------------------------- when filled


def lookup(dotted: str, values: Mapping[str, Any]) -> Any:
    """The value `{dotted}` names in `values` (root name -> value); parts are
    mapping keys or public fields of a record."""
    head, *rest = dotted.split(".")
    whole = "{" + dotted + "}"
    if head not in values:
        names = _listed("{" + r + "}" for r in values)
        raise TemplateError(f"The template {whole} names nothing here (it can use {names}).")
    value = values[head]
    if value is None:
        root = ROOTS.get(head)
        why = root.absent if root else f"{{{head}}} has no value"
        raise TemplateError(f"The template {whole} cannot be filled: {why}.")
    for i, part in enumerate(rest):
        where = "{" + ".".join([head, *rest[:i]]) + "}"
        if isinstance(value, Mapping):
            if part not in value:
                have = f" (it has {_listed(repr(str(k)) for k in value)})" if value else ""
                raise TemplateError(
                    f"The template {whole} cannot be filled: {where} has no {part!r}{have}."
                )
            value = value[part]
        elif _is_field(value, part):
            value = getattr(value, part)
        else:
            raise TemplateError(f"The template {whole} cannot be filled: {where} has no {part!r}.")
        if value is None:
            at = "{" + ".".join([head, *rest[: i + 1]]) + "}"
            raise TemplateError(f"The template {whole} cannot be filled: {at} was not recorded.")
    return value


def _is_field(value: Any, name: str) -> bool:
    """A record's public data, never a method or a private attribute."""
    if name.startswith("_") or not hasattr(value, name):
        return False
    return not callable(getattr(value, name))


def text_of(value: Any) -> str:
    """A filled value as text: lists become comma-separated (`-p 12,13`)."""
    if isinstance(value, list | tuple):
        return ",".join(text_of(v) for v in value)
    return str(value)


def expand(value: Any, values: Mapping[str, Any]) -> Any:
    """Fill every template in `value` (a string, or lists and mappings of
    them). A string that is exactly one placeholder becomes the value itself."""
    if isinstance(value, str):
        whole = PLACEHOLDER.fullmatch(value)
        if whole:
            return lookup(whole.group(1), values)
        return PLACEHOLDER.sub(lambda m: text_of(lookup(m.group(1), values)), value)
    if isinstance(value, list):
        return [expand(v, values) for v in value]
    if isinstance(value, dict):
        return {k: expand(v, values) for k, v in value.items()}
    return value


def expand_text(value: str, values: Mapping[str, Any]) -> str:
    """Fill `value` as one argv item: always text."""
    return text_of(expand(value, values))
