"""JSON Schema errors in an author's words: "'points' in check 'x' must be an
integer, not the string 'two' (put it in quotes)", at the line of the value.

Values are named the way an author thinks of them (`label`, `container`),
from their path in the YAML document (runner.course.yamldoc)."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any

import jsonschema

from runner.course.yamldoc import Doc, LoadError, Path_, unique
from runner.paths import SCHEMA_DIR

# The list sections whose items have ids, and what one item is called.
ITEM_NOUNS = {"checks": "check", "runs": "run", "lessons": "lesson"}
# Mappings inside a check or run item, named after their owner.
NESTED_NAMES = {
    ("params",): "the params of {owner}",
    ("workload",): "the workload of {owner}",
    ("workload", "params"): "the workload params of {owner}",
}

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


@cache
def published_schema(name: str) -> dict[str, Any]:
    """`course` or `lesson`: the JSON Schema in schema/<name>.schema.json."""
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())


def _validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


# ---------------------------------------------------------------- naming values


def item_name(data: Any, section: str, index: int) -> str:
    """ "check 'x'", "run 'main'", "lesson #3": item `index` of list `section`."""
    noun = ITEM_NOUNS.get(section, section)
    entry = data.get(section)[index] if isinstance(data, dict) else None
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        return f"{noun} {entry['id']!r}"
    if section == "runs" and isinstance(entry, dict):
        return "run 'main'"  # a run without an id is the default run
    return f"{noun} #{index + 1}"


def _is_item(path: Path_) -> bool:
    return len(path) >= 2 and path[0] in ("checks", "runs") and isinstance(path[1], int)


def container(doc: Doc, root: str, path: Path_) -> str:
    """Name the mapping at `path` the way an author thinks of it."""
    if not path:
        return root
    if _is_item(path):
        owner = item_name(doc.data, str(path[0]), int(path[1]))
        if len(path) == 2:
            return owner
        nested = NESTED_NAMES.get(tuple(path[2:]))  # type: ignore[arg-type]
        if nested:
            return nested.format(owner=owner)
    return label(doc, root, path)


def label(doc: Doc, root: str, path: Path_) -> str:
    """Name the value at `path`: "'points' in check 'x'", "item 2 of 'args' in run 'y'"."""
    if not path:
        return root
    last = path[-1]
    if isinstance(last, int):
        if len(path) == 2 and path[0] in ("checks", "runs"):
            return container(doc, root, path)
        return f"item {last + 1} of {label(doc, root, path[:-1])}"
    return f"{last!r} in {container(doc, root, path[:-1])}"


def describe(value: Any) -> str:
    """A YAML value in words: "the string 'two'", "a list", "empty"."""
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return f"{str(value).lower()}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int):
        return f"the integer {value}"
    if isinstance(value, float):
        return f"the number {value}"
    return f"the string {value!r}"


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ---------------------------------------------------------------- phrasing errors


def schema_problems(
    doc: Doc, root: str, instance: Any, schema: dict[str, Any], prefix: Path_ = ()
) -> list[LoadError]:
    """Validate `instance` (found at `prefix` in `doc`) and phrase each error."""
    found: list[LoadError] = []
    for error in _validator(schema).iter_errors(instance):
        found.extend(_phrase(doc, root, prefix + tuple(error.absolute_path), error))
    found.sort(key=lambda e: e.where.line)
    return unique(found)


_BOUNDS = {
    "minimum": "at least",
    "exclusiveMinimum": "more than",
    "maximum": "at most",
    "exclusiveMaximum": "less than",
}


def _phrase(
    doc: Doc, root: str, path: Path_, error: jsonschema.ValidationError
) -> Iterator[LoadError]:
    value = error.instance
    kind = error.validator
    if kind == "additionalProperties" and isinstance(value, dict):
        known = list(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        for key in value:
            if key in known or any(p.search(key) for p in patterns):
                continue
            msg = f"unknown key {key!r} in {container(doc, root, path)}"
            if known:
                msg += did_you_mean(key, known) or f" (known keys: {', '.join(known)})"
            yield LoadError(doc.where(path + (key,), key=True), msg)
        return
    if kind == "required" and isinstance(value, dict):
        for key in error.validator_value:
            if key not in value:
                msg = f"{container(doc, root, path)} is missing {key!r}"
                yield LoadError(doc.where(path), msg)
        return
    name = label(doc, root, path)
    where = doc.where(path)
    if kind == "type":
        wanted = error.validator_value
        wanted = wanted if isinstance(wanted, list) else [wanted]
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in wanted)
        msg = f"{name} must be {words}, not {describe(value)}"
        if "string" in wanted and isinstance(value, int | float) and not isinstance(value, bool):
            msg += " (put it in quotes)"
        yield LoadError(where, msg)
    elif kind == "enum":
        options = ", ".join(repr(o) for o in error.validator_value)
        msg = f"{name} must be one of {options}, not {value!r}"
        if isinstance(value, str):
            msg += did_you_mean(value, [str(o) for o in error.validator_value])
        yield LoadError(where, msg)
    elif kind == "pattern":
        msg = f"{name} must match {error.validator_value!r}, not {value!r}"
        examples = error.schema.get("examples")
        if examples:
            msg += f" (for example {examples[0]!r})"
        yield LoadError(where, msg)
    elif kind in _BOUNDS:
        yield LoadError(
            where, f"{name} must be {_BOUNDS[kind]} {error.validator_value}, not {value}"
        )
    elif kind == "minItems":
        n = error.validator_value
        yield LoadError(where, f"{name} needs at least {n} item{'s' if n != 1 else ''}")
    elif kind in ("anyOf", "oneOf") and error.context:
        # Report the alternative that got furthest; its own wording is clearer.
        best = jsonschema.exceptions.best_match(error.context)
        yield from _phrase(doc, root, path + tuple(best.relative_path), best)
    else:
        yield LoadError(where, f"{name} is not valid: {error.message}")
