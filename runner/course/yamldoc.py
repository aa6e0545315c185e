"""YAML with line marks: a document is composed into a node tree first so
every value and every key keeps the line it sits on, and each problem found
later can be reported as `file:line` (LoadError).

A course may come from anyone, so its YAML is read safely and within bounds,
each refusal a LoadError at the line it is on:

- a file is at most MAX_YAML_BYTES (1 MB); the longest shipped lesson is 11 KB;
- only plain data: no tags but YAML's own for strings, numbers, booleans,
  null, lists and mappings (so no `!!python/...`, no custom `!tag`);
- nesting at most MAX_DEPTH (64) levels deep (a lesson needs about 6);
- no anchors or aliases (`&name`, `*name`): the shipped lessons use none, and
  an alias is how a few KB of YAML expand to gigabytes ("billion laughs").

These are checked on the parser's events, which PyYAML produces without
recursion, before the document is composed (which recurses).

Files of the course are read without following symbolic links, and
symlink_problems() finds any link in a lesson's folders: a course must not
reach outside its own tree (a solution linked to /etc/shadow would be shown).
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml

from runner.model import Where

MAX_YAML_BYTES = 1_000_000
MAX_DEPTH = 64
# YAML's own tags for plain data; anything else is refused.
SAFE_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "seq", "map")
)

# PyYAML's wording for the usual slips, and what the author should do.
YAML_ADVICE = {
    "mapping values are not allowed here": (
        " (a ': ' inside an unquoted value starts a new key; put the value in quotes)"
    ),
    "found character '\\t' that cannot start any token": " (indent with spaces, not tabs)",
}

Path_ = tuple[str | int, ...]  # a location inside a YAML document


class LoadError(Exception):
    """A course that cannot be loaded. `str()` is the first problem as one
    sentence; `errors` lists every problem found (each a LoadError)."""

    def __init__(self, where: Where, message: str, errors: list[LoadError] | None = None):
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message
        self.errors: list[LoadError] = errors or [self]

    @classmethod
    def of(cls, problems: list[LoadError]) -> LoadError:
        first = problems[0]
        return cls(first.where, first.message, problems)


def unique(problems: list[LoadError]) -> list[LoadError]:
    """The problems without repeats, in order."""
    seen: set[str] = set()
    out = []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


class Doc:
    """A parsed YAML document plus where each value and key sits."""

    def __init__(self, file: str, data: Any, lines: dict[Path_, int], key_lines: dict[Path_, int]):
        self.file = file
        self.data = data
        self.lines = lines
        self.key_lines = key_lines

    def where(self, path: Iterable[str | int], *, key: bool = False) -> Where:
        """The line of the value at `path` (or of its key), else the closest parent."""
        path = tuple(path)
        while True:
            table = self.key_lines if key and path in self.key_lines else self.lines
            if path in table:
                return Where(self.file, table[path])
            if not path:
                return Where(self.file, 1)
            path = path[:-1]
            key = False


def _not_yaml(exc: yaml.YAMLError, file: str) -> LoadError:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "unreadable"
        column = f" at column {mark.column + 1}" if mark else ""
        advice = YAML_ADVICE.get(problem, "")
        return LoadError(Where(file, line), f"this is not valid YAML{column}: {problem}{advice}")
    return LoadError(Where(file, 1), f"this is not valid YAML: {exc}")


def _check_events(text: str, file: str) -> None:
    """Refuse what a course file has no use for and could be an attack
    (module doc), before anything is built from it."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else 1
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            name = getattr(event, "anchor", None)
            msg = (
                f"anchors and aliases ({'&' if not isinstance(event, yaml.AliasEvent) else '*'}"
                f"{name}) are not allowed in course files; write the value out where it is used"
            )
            raise LoadError(Where(file, line), msg)
        tag = getattr(event, "tag", None)
        if tag is not None and tag not in SAFE_TAGS:
            shown = tag.replace("tag:yaml.org,2002:", "!!")
            msg = (
                f"the tag {shown!r} is not allowed in course files; they hold plain "
                "strings, numbers, lists and mappings (remove the tag, quote a string)"
            )
            raise LoadError(Where(file, line), msg)
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                msg = f"this is nested more than {MAX_DEPTH} levels deep; flatten the structure"
                raise LoadError(Where(file, line), msg)
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def parse_yaml(text: str, file: str) -> tuple[Doc, list[LoadError]]:
    """The document in `text` (named `file` in messages) and the problems a
    plain YAML load would hide (duplicate keys); raise LoadError if it is not
    YAML or not plain, bounded data (module doc)."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_YAML_BYTES:
        msg = (
            f"{file} is {size:,} bytes, more than a course file may be ({MAX_YAML_BYTES:,}); "
            "move long text into the lesson's README"
        )
        raise LoadError(Where(file, 1), msg)
    try:
        _check_events(text, file)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        raise _not_yaml(exc, file) from None
    lines: dict[Path_, int] = {}
    key_lines: dict[Path_, int] = {}
    problems: list[LoadError] = []
    constructor = yaml.SafeLoader("")

    def convert(node: yaml.Node, path: Path_) -> Any:
        lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = constructor.construct_object(key_node, deep=True)
                if not isinstance(key, str):
                    key = str(key)
                if key in out:
                    where = Where(file, key_node.start_mark.line + 1)
                    problems.append(LoadError(where, f"duplicate key {key!r}"))
                key_lines[path + (key,)] = key_node.start_mark.line + 1
                out[key] = convert(value_node, path + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [convert(item, path + (i,)) for i, item in enumerate(node.value)]
        return constructor.construct_object(node, deep=True)

    try:
        data = convert(node, ()) if node is not None else None
    except (yaml.YAMLError, ValueError, TypeError) as exc:  # e.g. `!!int abc`
        if isinstance(exc, yaml.YAMLError):
            raise _not_yaml(exc, file) from None
        raise LoadError(Where(file, 1), f"a value cannot be read ({exc})") from None
    return Doc(file, data, lines, key_lines), problems


def relative(path: Path, base: Path) -> str:
    """`path` as an author sees it: relative to the course folder when inside it."""
    # The folder is resolved, not the file: a link is named as itself.
    try:
        return str((path.parent.resolve() / path.name).relative_to(base.resolve()))
    except ValueError:
        return str(path)


def read_doc(path: Path, base: Path) -> tuple[Doc, list[LoadError]]:
    """Read and parse the YAML file at `path` (named relative to `base`);
    a symbolic link or a file over MAX_YAML_BYTES is refused unread."""
    file = relative(path, base)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise LoadError(Where(file, 1), f"{file} does not exist") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LoadError(Where(file, 1), _LINK_MESSAGE.format(file=file)) from None
        raise LoadError(Where(file, 1), f"{file} cannot be read ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        raw = handle.read(MAX_YAML_BYTES + 1)
    if len(raw) > MAX_YAML_BYTES:
        msg = f"{file} is larger than a course file may be ({MAX_YAML_BYTES:,} bytes); "
        raise LoadError(Where(file, 1), msg + "move long text into the lesson's README")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise LoadError(Where(file, 1), f"{file} cannot be read ({exc})") from None
    return parse_yaml(text, file)


# ---------------------------------------------------------------- the course's files

_LINK_MESSAGE = (
    "{file} is a symbolic link; a course holds its own files (a link could show or "
    "copy anything on this machine), so replace it with a copy of what it points to"
)


def symlink_problems(base: Path, *folders: Path) -> list[LoadError]:
    """Every symbolic link at or under `folders` (inside the course `base`),
    or between `base` and them, each a LoadError naming the link. Links are
    never followed, so a linked folder is reported, not walked."""
    problems: list[LoadError] = []
    seen: set[Path] = set()

    def report(path: Path) -> None:
        if path not in seen:
            seen.add(path)
            file = relative(path, base)
            problems.append(LoadError(Where(file, 1), _LINK_MESSAGE.format(file=file)))

    for folder in folders:
        try:
            parts = folder.relative_to(base).parts
        except ValueError:
            parts = ()
        current = base
        for part in parts:  # lessons/, lessons/06-x/ themselves
            current = current / part
            if current.is_symlink():
                report(current)
                break
        else:
            if not folder.is_dir():
                continue
            for top, dirs, files in os.walk(folder):  # does not follow links
                for name in sorted(dirs + files):
                    if (Path(top) / name).is_symlink():
                        report(Path(top) / name)
    return problems
