"""course.yaml + lessons/*/lesson.yaml -> Course / Lesson (runner/model.py).

YAML is composed into a node tree first so every value keeps its line
(runner.course.yamldoc); the documents are then validated against the
published JSON Schemas in `schema/` and the check kinds' own params schemas
(runner.course.schema_errors), and finally here against the lesson's own
sense: the folder (files that must exist, wrong variants), runs that checks
read, regexes and templates (runner.templates). Every problem becomes one
sentence with `file:line` an author can act on.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path
from typing import Any

import checks
from runner import templates
from runner.course.markdown import headings, same_heading
from runner.course.plugins import load_plugins
from runner.course.schema_errors import (
    container,
    describe,
    did_you_mean,
    item_name,
    label,
    published_schema,
    schema_problems,
)
from runner.course.yamldoc import (
    Doc,
    LoadError,
    Path_,
    read_doc,
    relative,
    symlink_problems,
    unique,
)
from runner.model import (
    LESSON_ID,
    CheckSpec,
    Course,
    EquivalentMutant,
    Lesson,
    RunSpec,
    Where,
    WorkloadSpec,
    WrongVariant,
)

__all__ = ["LoadError", "load_course", "load_lesson", "published_schema"]

# Check params (and run fields) that are regular expressions: compiled here with
# RE2 (checks.api.compile_pattern), so a pattern the checks could not run is a
# file:line error at load time.
REGEX_PARAMS = ("pattern", "total", "count", "sum", "plus", "ready", "row", "section")
REGEX_LIST_PARAMS = ("ignore", "claims")
MUST_FAIL = re.compile(r"^#\s*must-fail:\s*(.*?)\s*$")
WHY = re.compile(r"^#\s*why:\s*(.*?)\s*$")
SHOWS_WITHOUT = re.compile(r"^#\s*shows-without:\s*(.*?)\s*$")


# ---------------------------------------------------------------- the course


def _read_doc(path: Path, base: Path, root: str) -> tuple[Doc, list[LoadError]]:
    doc, problems = read_doc(path, base)
    if not isinstance(doc.data, dict):
        got = "empty" if doc.data is None else describe(doc.data)
        msg = f"{root} must be a mapping of keys, but the file is {got}"
        raise LoadError(Where(doc.file, 1), msg)
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
    problems += schema_problems(doc, "the course", doc.data, published_schema("course"))
    problems += load_plugins(dir)  # each lesson repeats these; unique() below keeps one
    lessons: list[Lesson] = []
    seen: set[str] = set()
    ids = doc.data.get("lessons")
    order = course_order(doc.data)
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
            lessons.append(load_lesson(dir, lesson_id, order=order))
        except LoadError as exc:
            problems.extend(exc.errors)
    if problems:
        raise LoadError.of(unique(problems))
    version = doc.data["version"]
    return Course(title=doc.data["title"], version=str(version), dir=dir, lessons=lessons)


def course_order(data: Any) -> list[str]:
    """The lesson ids course.yaml lists, in order, each once (what
    `prerequisites:` are checked against)."""
    listed = data.get("lessons") if isinstance(data, dict) else None
    ids = [i for i in listed or [] if isinstance(i, str) and LESSON_ID.match(i)]
    return list(dict.fromkeys(ids))


# ---------------------------------------------------------------- one lesson


def load_lesson(dir: Path, lesson_id: str, *, order: list[str] | None = None) -> Lesson:
    """Load lessons/<lesson_id>/lesson.yaml of the course in `dir`. With
    `order` (course.yaml's lesson ids, as load_course passes them) each of
    its `prerequisites` must be a lesson listed before it."""
    dir = Path(dir).resolve()
    match = LESSON_ID.match(lesson_id)
    if not match:
        raise LoadError(
            Where("course.yaml", 1),
            f"lesson id {lesson_id!r} must look like NN-slug, for example '06-tracepoints'",
        )
    lesson_dir = dir / "lessons" / lesson_id
    if links := symlink_problems(dir, lesson_dir, dir / "solutions" / lesson_id):
        raise LoadError.of(links)  # nothing is read through a link, not even lesson.yaml
    doc, problems = _read_doc(lesson_dir / "lesson.yaml", dir, "the lesson")
    data = doc.data
    problems += schema_problems(doc, "the lesson", data, published_schema("lesson"))
    if problems:
        # The shape is wrong; deeper checks would only repeat the same problems.
        raise LoadError.of(problems)
    if plugin_problems := load_plugins(dir):
        # Without its course's kinds a lesson's checks cannot be judged.
        raise LoadError.of(plugin_problems)

    run_specs = [_run_spec(doc, i, raw) for i, raw in enumerate(data.get("runs", []))]
    specs = [_check(doc, i, raw) for i, raw in enumerate(data["checks"])]
    problems += _duplicates(doc, "runs", "run", [s.id for s in run_specs])
    problems += _duplicates(doc, "checks", "check", [c.id for c in specs])
    for i, spec in enumerate(run_specs):
        problems += _run_spec_problems(doc, i, spec, [s.id for s in run_specs[:i]])
    for i, spec in enumerate(specs):
        problems += _check_problems(doc, i, spec, data["checks"][i], run_specs)

    text, found = _lesson_file(doc, lesson_dir, dir, data.get("text", "README.md"), ("text",))
    problems += found
    if not found:
        problems += _section_problems(doc, specs, text, relative(text, dir))
    problems += _prerequisite_problems(doc, lesson_id, order)
    problems += _challenge_problems(doc, match, order)
    starter, found = _lesson_file(doc, lesson_dir, dir, "probe.py", ())
    problems += found
    solution_dir = dir / "solutions" / lesson_id
    solution = solution_dir / "probe.py"
    wrong, found = _wrong_variants(dir, solution_dir, lesson_id, [c.id for c in specs])
    problems += found
    if problems:
        raise LoadError.of(unique(problems))
    tests_dir = lesson_dir / "tests"
    return Lesson(
        id=lesson_id,
        number=int(match.group(1)),
        slug=match.group(3),
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
        equivalent_mutants=[
            EquivalentMutant(
                e["operator"], e["line"], e["reason"], doc.where(("equivalent_mutants", i))
            )
            for i, e in enumerate(data.get("equivalent_mutants", []))
        ],
        minutes=data.get("minutes"),
        difficulty=data.get("difficulty"),
        concepts=list(data.get("concepts", [])),
        prerequisites=list(data.get("prerequisites", [])),
        kernel_functions={k: list(v) for k, v in data.get("kernel_functions", {}).items()},
    )


def _run_spec(doc: Doc, i: int, raw: dict[str, Any]) -> RunSpec:
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


def _check(doc: Doc, i: int, raw: dict[str, Any]) -> CheckSpec:
    return CheckSpec(
        id=raw["id"],
        kind=raw["kind"],
        params=dict(raw.get("params", {})),
        points=raw.get("points", 1),
        run=raw.get("run", "main"),
        hint=raw.get("hint", ""),
        where=doc.where(("checks", i)),
        section=raw.get("section"),
    )


def _section_problems(doc: Doc, specs: list[CheckSpec], text: Path, shown: str) -> list[LoadError]:
    """Each check's `section:` must be a heading of the lesson text."""
    wanted = [(i, spec) for i, spec in enumerate(specs) if spec.section is not None]
    if not wanted:
        return []
    found = headings(text.read_text(encoding="utf-8", errors="replace"))
    problems = []
    for i, spec in wanted:
        assert spec.section is not None
        if any(same_heading(h.text, spec.section) for h in found):
            continue
        name = item_name(doc.data, "checks", i)
        msg = f"{name} names section {spec.section!r}, which is not a heading of {shown}"
        msg += did_you_mean(spec.section, [h.text for h in found]) or (
            f" (its headings: {', '.join(repr(h.text) for h in found if h.level == 2)})"
            if any(h.level == 2 for h in found)
            else " (it has no ## heading)"
        )
        problems.append(LoadError(doc.where(("checks", i, "section")), msg))
    return problems


def _challenge_problems(doc: Doc, match: re.Match, order: list[str] | None) -> list[LoadError]:
    """A challenge (NNc-slug) builds on its lesson NN: it names that lesson
    among its prerequisites, so the course lists it after the lesson."""
    if not match.group(2):
        return []
    parents = [lesson for lesson in order or [] if lesson.startswith(f"{match.group(1)}-")]
    if order is not None and not parents:
        msg = f"{match.group(0)} is a challenge of lesson {match.group(1)}, which the course lacks"
        return [LoadError(doc.where(()), msg)]
    if parents and parents[0] not in doc.data.get("prerequisites", []):
        msg = (
            f"{match.group(0)} is a challenge of {parents[0]}: name it in prerequisites, "
            f"so the course lists the challenge after the lesson"
        )
        return [LoadError(doc.where(()), msg)]
    return []


def _prerequisite_problems(doc: Doc, lesson_id: str, order: list[str] | None) -> list[LoadError]:
    """A prerequisite is a lesson of the course listed before this one."""
    problems = []
    for j, other in enumerate(doc.data.get("prerequisites", [])):
        where = doc.where(("prerequisites", j))
        if other == lesson_id:
            problems.append(LoadError(where, f"{lesson_id} names itself as a prerequisite"))
        elif order is None:
            continue  # a lesson loaded alone: the course's order is not known
        elif other not in order:
            msg = f"prerequisite {other!r} is not a lesson of the course"
            msg += did_you_mean(other, order) or f" (lessons: {', '.join(order)})"
            problems.append(LoadError(where, msg))
        elif lesson_id in order and order.index(other) > order.index(lesson_id):
            msg = (
                f"prerequisite {other!r} comes after {lesson_id} in course.yaml's lessons; "
                "a lesson can only build on an earlier one"
            )
            problems.append(LoadError(where, msg))
    return problems


def _duplicates(doc: Doc, section: str, noun: str, ids: list[str]) -> list[LoadError]:
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


def _run_spec_problems(doc: Doc, i: int, spec: RunSpec, earlier: list[str]) -> list[LoadError]:
    """`earlier`: the ids of the runs before this one (its templates may read them)."""
    raw = doc.data["runs"][i]
    path: Path_ = ("runs", i)
    name = item_name(doc.data, "runs", i)
    problems = []
    if "command" in raw and "args" in raw:
        msg = f"{name} has both 'args' and 'command'; a command step does not start the probe"
        problems.append(LoadError(doc.where(path + ("command",), key=True), msg))
    if spec.stop == "after-workload" and spec.workload is None:
        msg = f"{name} stops 'after-workload' but has no workload; add one or use 'stop: exit'"
        problems.append(LoadError(doc.where(path + ("stop",)), msg))
    if spec.ready is not None:
        problems += _regex_problems(doc, path + ("ready",), spec.ready)
    absent = {"workload": f"{name} has no workload"} if spec.workload is None else {}
    for key in ("args", "command"):
        problems += _template_problems(doc, path + (key,), raw.get(key), "run", earlier, absent)
    if spec.workload is not None:
        problems += _workload_problems(doc, path + ("workload",), spec.workload)
    return problems


def _workload_problems(doc: Doc, path: Path_, spec: WorkloadSpec) -> list[LoadError]:
    from runner.workloads import all_workloads, random_range_problem
    from runner.workloads import get as get_workload

    found = get_workload(spec.kind)
    if found is None:
        msg = f"unknown workload kind {spec.kind!r} in {container(doc, 'the lesson', path)}"
        known = list(all_workloads())
        hint = did_you_mean(spec.kind, known)
        msg += hint or (f" (known kinds: {', '.join(known)})" if known else " (none is registered)")
        return [LoadError(doc.where(path + ("kind",)), msg)]
    problems = schema_problems(doc, "the lesson", spec.params, found.params, path + ("params",))
    empty = None if problems else random_range_problem(spec.params)  # no schema can say MIN > MAX
    if empty:
        where = doc.where(path + ("params", empty[0]))
        owner = container(doc, "the lesson", path)
        problems.append(LoadError(where, f"{empty[0]!r} in {owner}: {empty[1]}"))
    return problems


def _check_problems(
    doc: Doc, i: int, spec: CheckSpec, raw: dict[str, Any], run_specs: list[RunSpec]
) -> list[LoadError]:
    run_ids = [s.id for s in run_specs]
    path: Path_ = ("checks", i)
    name = item_name(doc.data, "checks", i)
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
    problems = schema_problems(doc, "the lesson", spec.params, kind.params, path + ("params",))
    for key, value in spec.params.items():
        at = path + ("params", key)
        if key in REGEX_PARAMS and isinstance(value, str):
            problems += _regex_problems(doc, at, value)
        if key in REGEX_LIST_PARAMS and isinstance(value, list):
            for j, item in enumerate(value):
                if isinstance(item, str):
                    problems += _regex_problems(doc, at + (j,), item)
    absent = {}
    if not kind.needs_run:
        absent = {root: f"a {spec.kind} check reads no run" for root in ("run", "workload")}
    elif (step := next((s for s in run_specs if s.id == spec.run), None)) and not step.workload:
        absent = {"workload": f"run {spec.run!r}, which it reads, has no workload"}
    problems += _template_problems(doc, path + ("params",), spec.params, "check", run_ids, absent)
    if (kind.needs_run or "run" in raw) and spec.run not in run_ids:
        default = "" if "run" in raw else " (the default)"
        have = f"runs: {', '.join(run_ids)}" if run_ids else "it has no runs"
        msg = f"{name} reads run {spec.run!r}{default}, but the lesson has no such run ({have})"
        problems.append(LoadError(doc.where(path + ("run",)), msg))
    return problems


def _regex_problems(doc: Doc, path: Path_, pattern: str) -> list[LoadError]:
    from checks.api import PatternError, compile_pattern

    try:
        compile_pattern(pattern)
    except PatternError as exc:
        msg = f"{label(doc, 'the lesson', path)} is not a valid regular expression ({exc})"
        return [LoadError(doc.where(path), msg)]
    return []


def _template_problems(
    doc: Doc,
    path: Path_,
    value: Any,
    place: templates.Place,
    runs: list[str],
    absent: dict[str, str],
) -> list[LoadError]:
    """Placeholders must name something `place` can fill in (runner.templates)."""
    return [
        LoadError(doc.where(at), f"{label(doc, 'the lesson', at)} {problem}")
        for sub, text in templates.walk(value)
        for at in [path + sub]
        for problem in templates.problems(text, place, runs=runs, absent=absent)
    ]


def _lesson_file(
    doc: Doc, lesson_dir: Path, course_dir: Path, name: str, path: Path_
) -> tuple[Path, list[LoadError]]:
    """A file the lesson needs: inside its folder and present."""
    target = (lesson_dir / name).resolve()
    folder = relative(lesson_dir, course_dir)
    where = doc.where(path)
    if not target.is_relative_to(lesson_dir.resolve()):
        what = f"{label(doc, 'the lesson', path)} {name!r}" if path else repr(name)
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
        variant, found = _wrong_variant(path, relative(path, course_dir), lesson_id, check_ids)
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
    shows_without: tuple[int, str] | None = None
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
        elif m := SHOWS_WITHOUT.match(line):
            shows_without = (number, m.group(1))
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
        msg += did_you_mean(check_id, check_ids) or f" (checks: {', '.join(check_ids)})"
        return None, [LoadError(Where(file, line), msg)]
    from runner.live.host_facts import FEATURES  # the trials' names; reads nothing

    if shows_without is not None and shows_without[1] not in FEATURES:
        msg = (
            f"'# shows-without: {shows_without[1]}' names no feature the course tries "
            f"({', '.join(FEATURES)})"
        )
        return None, [LoadError(Where(file, shows_without[0]), msg)]
    feature = shows_without[1] if shows_without else None
    return WrongVariant(path=path, must_fail=check_id, why=why, shows_without=feature), []
