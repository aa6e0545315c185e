"""course.yaml + lessons/*/lesson.yaml -> Course / Lesson (runner/model.py).

YAML is composed into a node tree first so every value keeps its line; the
documents are then validated against the published JSON Schemas in
`schema/` and the check kinds' own params schemas, and finally against the
folder (files that must exist, runs that checks read, wrong variants).
Every problem becomes one sentence with `file:line` an author can act on.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import yaml

import checks
from runner.model import CheckSpec, Course, Lesson, RunSpec, Where, WorkloadSpec, WrongVariant
from runner.paths import SCHEMA_DIR

LESSON_ID = re.compile(r"^(\d{2})-([a-z0-9]+(?:-[a-z0-9]+)*)$")
# Check params (and run fields) that are regular expressions.
REGEX_PARAMS = ("pattern", "total", "count", "sum", "plus", "ready")
REGEX_LIST_PARAMS = ("ignore",)
TEMPLATE = re.compile(r"\{([a-zA-Z_][\w.]*)\}")
TEMPLATE_ROOTS = ("python", "probe", "dir", "workload", "run", "host", "runs")
MUST_FAIL = re.compile(r"^#\s*must-fail:\s*(.*?)\s*$")
WHY = re.compile(r"^#\s*why:\s*(.*?)\s*$")

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


# ---------------------------------------------------------------- YAML with lines


class _Doc:
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


def _parse_yaml(text: str, file: str) -> tuple[_Doc, list[LoadError]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "unreadable"
        column = f" at column {mark.column + 1}" if mark else ""
        advice = YAML_ADVICE.get(problem, "")
        msg = f"this is not valid YAML{column}: {problem}{advice}"
        raise LoadError(Where(file, line), msg) from None
    except yaml.YAMLError as exc:
        raise LoadError(Where(file, 1), f"this is not valid YAML: {exc}") from None
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

    data = convert(node, ()) if node is not None else None
    return _Doc(file, data, lines, key_lines), problems


# ---------------------------------------------------------------- schema errors


@cache
def published_schema(name: str) -> dict[str, Any]:
    """`course` or `lesson`: the JSON Schema in schema/<name>.schema.json."""
    return json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())


def _validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


def _item_name(data: Any, section: str, index: int) -> str:
    noun = {"checks": "check", "runs": "run", "lessons": "lesson"}.get(section, section)
    entry = data.get(section)[index] if isinstance(data, dict) else None
    if isinstance(entry, dict) and isinstance(entry.get("id"), str):
        return f"{noun} {entry['id']!r}"
    if section == "runs" and isinstance(entry, dict):
        return "run 'main'"  # a run without an id is the default run
    return f"{noun} #{index + 1}"


def _container(doc: _Doc, root: str, path: Path_) -> str:
    """Name the mapping at `path` the way an author thinks of it."""
    if not path:
        return root
    if len(path) == 2 and path[0] in ("checks", "runs") and isinstance(path[1], int):
        return _item_name(doc.data, str(path[0]), path[1])
    if len(path) >= 3 and path[0] in ("checks", "runs") and isinstance(path[1], int):
        owner = _item_name(doc.data, str(path[0]), path[1])
        rest = path[2:]
        if rest == ("params",):
            return f"the params of {owner}"
        if rest == ("workload",):
            return f"the workload of {owner}"
        if rest == ("workload", "params"):
            return f"the workload params of {owner}"
    return _label(doc, root, path)


def _label(doc: _Doc, root: str, path: Path_) -> str:
    """Name the value at `path`: "'points' in check 'x'", "item 2 of 'args' in run 'y'"."""
    if not path:
        return root
    last = path[-1]
    if isinstance(last, int):
        if len(path) == 2 and path[0] in ("checks", "runs"):
            return _container(doc, root, path)
        return f"item {last + 1} of {_label(doc, root, path[:-1])}"
    return f"{last!r} in {_container(doc, root, path[:-1])}"


_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "empty",
}


def _describe(value: Any) -> str:
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


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _schema_problems(
    doc: _Doc, root: str, instance: Any, schema: dict[str, Any], prefix: Path_ = ()
) -> list[LoadError]:
    """Validate `instance` (found at `prefix` in `doc`) and phrase each error."""
    found: list[LoadError] = []
    for error in _validator(schema).iter_errors(instance):
        found.extend(_phrase(doc, root, prefix + tuple(error.absolute_path), error))
    found.sort(key=lambda e: e.where.line)
    return _unique(found)


def _phrase(
    doc: _Doc, root: str, path: Path_, error: jsonschema.ValidationError
) -> Iterator[LoadError]:
    value = error.instance
    kind = error.validator
    if kind == "additionalProperties" and isinstance(value, dict):
        known = list(error.schema.get("properties", {}))
        patterns = [re.compile(p) for p in error.schema.get("patternProperties", {})]
        for key in value:
            if key in known or any(p.search(key) for p in patterns):
                continue
            msg = f"unknown key {key!r} in {_container(doc, root, path)}"
            if known:
                msg += _did_you_mean(key, known) or f" (known keys: {', '.join(known)})"
            yield LoadError(doc.where(path + (key,), key=True), msg)
        return
    if kind == "required" and isinstance(value, dict):
        for key in error.validator_value:
            if key not in value:
                msg = f"{_container(doc, root, path)} is missing {key!r}"
                yield LoadError(doc.where(path), msg)
        return
    label = _label(doc, root, path)
    where = doc.where(path)
    if kind == "type":
        wanted = error.validator_value
        wanted = wanted if isinstance(wanted, list) else [wanted]
        words = " or ".join(_TYPE_WORDS.get(t, t) for t in wanted)
        msg = f"{label} must be {words}, not {_describe(value)}"
        if "string" in wanted and isinstance(value, int | float) and not isinstance(value, bool):
            msg += " (put it in quotes)"
        yield LoadError(where, msg)
    elif kind == "enum":
        options = ", ".join(repr(o) for o in error.validator_value)
        msg = f"{label} must be one of {options}, not {value!r}"
        if isinstance(value, str):
            msg += _did_you_mean(value, [str(o) for o in error.validator_value])
        yield LoadError(where, msg)
    elif kind == "pattern":
        msg = f"{label} must match {error.validator_value!r}, not {value!r}"
        examples = error.schema.get("examples")
        if examples:
            msg += f" (for example {examples[0]!r})"
        yield LoadError(where, msg)
    elif kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {
            "minimum": "at least",
            "exclusiveMinimum": "more than",
            "maximum": "at most",
            "exclusiveMaximum": "less than",
        }[kind]
        yield LoadError(where, f"{label} must be {words} {error.validator_value}, not {value}")
    elif kind == "minItems":
        n = error.validator_value
        yield LoadError(where, f"{label} needs at least {n} item{'s' if n != 1 else ''}")
    elif kind in ("anyOf", "oneOf") and error.context:
        # Report the alternative that got furthest; its own wording is clearer.
        best = jsonschema.exceptions.best_match(error.context)
        yield from _phrase(doc, root, path + tuple(best.relative_path), best)
    else:
        yield LoadError(where, f"{label} is not valid: {error.message}")


def _unique(problems: list[LoadError]) -> list[LoadError]:
    seen: set[str] = set()
    out = []
    for p in problems:
        if str(p) not in seen:
            seen.add(str(p))
            out.append(p)
    return out


# ---------------------------------------------------------------- the course


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)


def _read_doc(path: Path, base: Path, root: str) -> tuple[_Doc, list[LoadError]]:
    file = _relative(path, base)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LoadError(Where(file, 1), f"{file} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LoadError(Where(file, 1), f"{file} cannot be read ({exc})") from None
    doc, problems = _parse_yaml(text, file)
    if not isinstance(doc.data, dict):
        got = "empty" if doc.data is None else _describe(doc.data)
        raise LoadError(Where(file, 1), f"{root} must be a mapping of keys, but the file is {got}")
    return doc, problems


def load_course(dir: Path) -> Course:
    """Load course.yaml and every lesson it lists; raise LoadError with every
    problem found across the course."""
    dir = Path(dir).resolve()
    if not (dir / "course.yaml").is_file():
        raise LoadError(
            Where(str(dir / "course.yaml"), 1),
            f"{dir} has no course.yaml; point --course at a course folder",
        )
    doc, problems = _read_doc(dir / "course.yaml", dir, "the course")
    problems += _schema_problems(doc, "the course", doc.data, published_schema("course"))
    lessons: list[Lesson] = []
    seen: set[str] = set()
    ids = doc.data.get("lessons")
    for i, lesson_id in enumerate(ids if isinstance(ids, list) else []):
        if not isinstance(lesson_id, str) or not LESSON_ID.match(lesson_id):
            continue  # the schema already said so
        where = doc.where(("lessons", i))
        if lesson_id in seen:
            problems.append(LoadError(where, f"lesson {lesson_id!r} is listed twice"))
            continue
        seen.add(lesson_id)
        if not (dir / "lessons" / lesson_id / "lesson.yaml").is_file():
            folder = f"lessons/{lesson_id}"
            what = "has no lesson.yaml" if (dir / folder).is_dir() else "does not exist"
            problems.append(
                LoadError(where, f"lesson {lesson_id!r} is listed but {folder}/ {what}")
            )
            continue
        try:
            lessons.append(load_lesson(dir, lesson_id))
        except LoadError as exc:
            problems.extend(exc.errors)
    if problems:
        raise LoadError.of(problems)
    version = doc.data["version"]
    return Course(title=doc.data["title"], version=str(version), dir=dir, lessons=lessons)


# ---------------------------------------------------------------- one lesson


def load_lesson(dir: Path, lesson_id: str) -> Lesson:
    """Load lessons/<lesson_id>/lesson.yaml of the course in `dir`."""
    dir = Path(dir).resolve()
    match = LESSON_ID.match(lesson_id)
    if not match:
        raise LoadError(
            Where("course.yaml", 1),
            f"lesson id {lesson_id!r} must look like NN-slug, for example '06-tracepoints'",
        )
    lesson_dir = dir / "lessons" / lesson_id
    doc, problems = _read_doc(lesson_dir / "lesson.yaml", dir, "the lesson")
    data = doc.data
    problems += _schema_problems(doc, "the lesson", data, published_schema("lesson"))
    if problems:
        # The shape is wrong; deeper checks would only repeat the same problems.
        raise LoadError.of(problems)

    run_specs = [_run_spec(doc, i, raw) for i, raw in enumerate(data.get("runs", []))]
    specs = [_check(doc, i, raw) for i, raw in enumerate(data["checks"])]
    problems += _duplicates(doc, "runs", "run", [s.id for s in run_specs])
    problems += _duplicates(doc, "checks", "check", [c.id for c in specs])
    for i, spec in enumerate(run_specs):
        problems += _run_spec_problems(doc, i, spec)
    run_ids = [s.id for s in run_specs]
    for i, spec in enumerate(specs):
        problems += _check_problems(doc, i, spec, data["checks"][i], run_ids)

    text, found = _lesson_file(doc, lesson_dir, dir, data.get("text", "README.md"), ("text",))
    problems += found
    starter, found = _lesson_file(doc, lesson_dir, dir, "probe.py", ())
    problems += found
    solution_dir = dir / "solutions" / lesson_id
    solution = solution_dir / "probe.py"
    wrong, found = _wrong_variants(dir, solution_dir, lesson_id, [c.id for c in specs])
    problems += found
    if problems:
        raise LoadError.of(_unique(problems))
    tests_dir = lesson_dir / "tests"
    return Lesson(
        id=lesson_id,
        number=int(match.group(1)),
        slug=match.group(2),
        title=data["title"],
        dir=lesson_dir,
        text=text,
        starter=starter,
        solution=solution if solution.is_file() else None,
        tests_dir=tests_dir if tests_dir.is_dir() else None,
        requires=list(data.get("requires", [])),
        runs=run_specs,
        checks=specs,
        hints=list(data.get("hints", [])),
        wrong=wrong,
        starter_may_pass=bool(data.get("starter_may_pass", False)),
        where=Where(doc.file, 1),
    )


def _run_spec(doc: _Doc, i: int, raw: dict[str, Any]) -> RunSpec:
    workload = raw.get("workload")
    spec = RunSpec(
        id=raw.get("id", "main"),
        args=[str(a) for a in raw.get("args", [])],
        workload=WorkloadSpec(workload["kind"], dict(workload.get("params", {})))
        if workload
        else None,
        ready=raw.get("ready"),
        command=[str(a) for a in raw["command"]] if "command" in raw else None,
        where=doc.where(("runs", i)),
    )
    for name in ("ready_timeout", "timeout", "settle"):
        if name in raw:
            setattr(spec, name, float(raw[name]))
    if "stop" in raw:
        spec.stop = raw["stop"]
    return spec


def _check(doc: _Doc, i: int, raw: dict[str, Any]) -> CheckSpec:
    return CheckSpec(
        id=raw["id"],
        kind=raw["kind"],
        params=dict(raw.get("params", {})),
        points=raw.get("points", 1),
        run=raw.get("run", "main"),
        hint=raw.get("hint", ""),
        where=doc.where(("checks", i)),
    )


def _duplicates(doc: _Doc, section: str, noun: str, ids: list[str]) -> list[LoadError]:
    problems = []
    first: dict[str, int] = {}
    for i, item_id in enumerate(ids):
        if item_id in first:
            line = doc.where((section, first[item_id])).line
            msg = f"{noun} id {item_id!r} is used twice (first on line {line})"
            problems.append(LoadError(doc.where((section, i, "id")), msg))
        else:
            first[item_id] = i
    return problems


def _run_spec_problems(doc: _Doc, i: int, spec: RunSpec) -> list[LoadError]:
    raw = doc.data["runs"][i]
    path: Path_ = ("runs", i)
    name = _item_name(doc.data, "runs", i)
    problems = []
    if "command" in raw and "args" in raw:
        msg = f"{name} has both 'args' and 'command'; a command step does not start the probe"
        problems.append(LoadError(doc.where(path + ("command",), key=True), msg))
    if spec.stop == "after-workload" and spec.workload is None:
        msg = f"{name} stops 'after-workload' but has no workload; add one or use 'stop: exit'"
        problems.append(LoadError(doc.where(path + ("stop",)), msg))
    if spec.ready is not None:
        problems += _regex_problems(doc, path + ("ready",), spec.ready)
    problems += _template_problems(doc, path + ("args",), raw.get("args"))
    problems += _template_problems(doc, path + ("command",), raw.get("command"))
    if spec.workload is not None:
        problems += _workload_problems(doc, path + ("workload",), spec.workload)
    return problems


def _workload_problems(doc: _Doc, path: Path_, spec: WorkloadSpec) -> list[LoadError]:
    from runner.workloads import all_workloads
    from runner.workloads import get as get_workload

    found = get_workload(spec.kind)
    if found is None:
        msg = f"unknown workload kind {spec.kind!r} in {_container(doc, 'the lesson', path)}"
        known = list(all_workloads())
        hint = _did_you_mean(spec.kind, known)
        msg += hint or (f" (known kinds: {', '.join(known)})" if known else " (none is registered)")
        return [LoadError(doc.where(path + ("kind",)), msg)]
    return _schema_problems(doc, "the lesson", spec.params, found.params, path + ("params",))


def _check_problems(
    doc: _Doc, i: int, spec: CheckSpec, raw: dict[str, Any], run_ids: list[str]
) -> list[LoadError]:
    path: Path_ = ("checks", i)
    name = _item_name(doc.data, "checks", i)
    kind = checks.get(spec.kind)
    if kind is None:
        known = list(checks.all_kinds())
        msg = f"unknown check kind {spec.kind!r} in {name}"
        close = difflib.get_close_matches(spec.kind, known, n=1, cutoff=0.6)
        prefix = spec.kind.split(".")[0]
        family = [k for k in known if k.split(".")[0] == prefix]
        if family:
            listed = f"known {prefix} kinds: {', '.join(family)}"
        else:
            listed = f"known kinds: {', '.join(known)}"
        msg += f" (did you mean {close[0]!r}? {listed})" if close else f" ({listed})"
        return [LoadError(doc.where(path + ("kind",)), msg)]
    problems = _schema_problems(doc, "the lesson", spec.params, kind.params, path + ("params",))
    for key, value in spec.params.items():
        at = path + ("params", key)
        if key in REGEX_PARAMS and isinstance(value, str):
            problems += _regex_problems(doc, at, value)
        if key in REGEX_LIST_PARAMS and isinstance(value, list):
            for j, item in enumerate(value):
                if isinstance(item, str):
                    problems += _regex_problems(doc, at + (j,), item)
    problems += _template_problems(doc, path + ("params",), spec.params)
    if (kind.needs_run or "run" in raw) and spec.run not in run_ids:
        default = "" if "run" in raw else " (the default)"
        have = f"runs: {', '.join(run_ids)}" if run_ids else "it has no runs"
        msg = f"{name} reads run {spec.run!r}{default}, but the lesson has no such run ({have})"
        problems.append(LoadError(doc.where(path + ("run",)), msg))
    return problems


def _regex_problems(doc: _Doc, path: Path_, pattern: str) -> list[LoadError]:
    try:
        re.compile(pattern)
    except re.error as exc:
        label = _label(doc, "the lesson", path)
        msg = f"{label} is not a valid regular expression ({exc})"
        return [LoadError(doc.where(path), msg)]
    return []


def _template_problems(doc: _Doc, path: Path_, value: Any) -> list[LoadError]:
    """Placeholders must name something a run can fill in."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _template_problems(doc, path + (k,), v)]
    if isinstance(value, list):
        return [p for j, v in enumerate(value) for p in _template_problems(doc, path + (j,), v)]
    problems = []
    if isinstance(value, str):
        for m in TEMPLATE.finditer(value):
            root = m.group(1).split(".")[0]
            if root not in TEMPLATE_ROOTS:
                msg = f"{_label(doc, 'the lesson', path)} uses an unknown template {m.group(0)}"
                hint = _did_you_mean(root, TEMPLATE_ROOTS)
                msg += hint or f" (templates start with {', '.join(TEMPLATE_ROOTS)})"
                problems.append(LoadError(doc.where(path), msg))
    return problems


def _lesson_file(
    doc: _Doc, lesson_dir: Path, course_dir: Path, name: str, path: Path_
) -> tuple[Path, list[LoadError]]:
    """A file the lesson needs: inside its folder and present."""
    target = (lesson_dir / name).resolve()
    folder = _relative(lesson_dir, course_dir)
    where = doc.where(path)
    if not target.is_relative_to(lesson_dir.resolve()):
        what = f"{_label(doc, 'the lesson', path)} {name!r}" if path else repr(name)
        return target, [LoadError(where, f"{what} is outside the lesson folder {folder}/")]
    if not target.is_file():
        what = "the lesson text" if path else "the starter"
        return target, [LoadError(where, f"{what} {folder}/{name} does not exist")]
    return target, []


def _wrong_variants(
    course_dir: Path, solution_dir: Path, lesson_id: str, check_ids: list[str]
) -> tuple[list[WrongVariant], list[LoadError]]:
    variants: list[WrongVariant] = []
    problems: list[LoadError] = []
    for path in sorted((solution_dir / "wrong").glob("*.py")):
        variant, found = _wrong_variant(path, _relative(path, course_dir), lesson_id, check_ids)
        problems += found
        if variant:
            variants.append(variant)
    return variants, problems


def _wrong_variant(
    path: Path, file: str, lesson_id: str, check_ids: list[str]
) -> tuple[WrongVariant | None, list[LoadError]]:
    """Read the leading comment block: `# must-fail: <check-id>`, `# why: ...`."""
    must_fail: list[tuple[int, str]] = []
    why = ""
    for number, line in enumerate(
        path.read_text(encoding="utf-8", errors="replace").splitlines(), 1
    ):
        if number == 1 and line.startswith("#!"):
            continue
        if not line.startswith("#"):
            break
        if m := MUST_FAIL.match(line):
            must_fail.append((number, m.group(1)))
        elif m := WHY.match(line):
            why = m.group(1)
    if not must_fail:
        msg = (
            "a wrong variant must start with a '# must-fail: <check-id>' comment "
            "naming the check it fails"
        )
        return None, [LoadError(Where(file, 1), msg)]
    if len(must_fail) > 1:
        msg = "a wrong variant names one check in '# must-fail:'; split it into one file per check"
        return None, [LoadError(Where(file, must_fail[1][0]), msg)]
    line, check_id = must_fail[0]
    if check_id not in check_ids:
        msg = f"'# must-fail: {check_id}' names no check of {lesson_id}"
        msg += _did_you_mean(check_id, check_ids) or f" (checks: {', '.join(check_ids)})"
        return None, [LoadError(Where(file, line), msg)]
    return WrongVariant(path=path, must_fail=check_id, why=why), []
