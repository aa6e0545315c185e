"""Static rules on the learner's file (no run needed): no event loop started
inside a running one (the BUG-023 class), and every import resolves and is
declared (the BUG-025 class). The finders are reusable on lesson snippets."""

from __future__ import annotations

import ast
import functools
import importlib.machinery
import importlib.metadata
import importlib.util
import re
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from checks.api import CheckError, generic_kind
from checks.context import Context
from runner.model import Verdict
from runner.paths import PYPROJECT

DISTRIBUTION = "ebpf-course"
ALWAYS_DECLARED = {"bcc"}  # from the distribution (python3-bpfcc), not PyPI

# ---------------------------------------------------------------- nested loops

_LOOP_METHODS = {"run_until_complete", "run_forever"}
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)


def _own_nodes(func: ast.AST) -> Iterator[ast.AST]:
    """Nodes of a function's own body, not of functions or classes nested in it."""
    stack = list(ast.iter_child_nodes(func))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _SCOPES):
            stack.extend(ast.iter_child_nodes(node))


class _LoopStarts:
    """Knows which calls start an event loop, given how asyncio was imported."""

    def __init__(self, tree: ast.Module):
        self.modules = {"asyncio"}
        self.run_names: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name == "asyncio":
                        self.modules.add(alias.asname or "asyncio")
            elif isinstance(node, ast.ImportFrom) and node.module == "asyncio":
                for alias in node.names:
                    if alias.name == "run":
                        self.run_names.add(alias.asname or "run")

    def describe(self, call: ast.Call) -> str | None:
        """'asyncio.run()' or '….run_until_complete()' when the call starts a loop."""
        func = call.func
        if isinstance(func, ast.Attribute):
            if func.attr in _LOOP_METHODS:
                return f"{ast.unparse(func)}()"
            if func.attr == "run" and isinstance(func.value, ast.Name):
                if func.value.id in self.modules:
                    return f"{func.value.id}.run()"
        if isinstance(func, ast.Name) and func.id in self.run_names:
            return f"{func.id}()"
        return None


def _callee(call: ast.Call) -> str | None:
    """The simple name a call targets: f() or self.f()."""
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
        if func.value.id in ("self", "cls"):
            return func.attr
    return None


def nested_loop_findings(source: str) -> list[tuple[int, str]]:
    """(line, message) for each event loop started inside a running one:
    asyncio.run / run_until_complete / run_forever called in an `async def`,
    or a call from a coroutine to a plain function that (directly or through
    other plain functions) does so. Raises SyntaxError on invalid source."""
    tree = ast.parse(source)
    starts = _LoopStarts(tree)
    funcs = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]

    # Plain functions that start a loop: name -> (line of the start, what starts it).
    starters: dict[str, tuple[int, str]] = {}
    calls = {f: [n for n in _own_nodes(f) if isinstance(n, ast.Call)] for f in funcs}
    changed = True
    while changed:
        changed = False
        for func in funcs:
            if isinstance(func, ast.AsyncFunctionDef) or func.name in starters:
                continue
            for call in calls[func]:
                what = starts.describe(call)
                if what is None and _callee(call) in starters:
                    what = f"{_callee(call)}()"
                if what:
                    starters[func.name] = (call.lineno, what)
                    changed = True
                    break

    findings: list[tuple[int, str]] = []
    for func in funcs:
        if not isinstance(func, ast.AsyncFunctionDef):
            continue
        for call in calls[func]:
            what = starts.describe(call)
            if what:
                findings.append(
                    (
                        call.lineno,
                        f"{what} inside the coroutine {func.name}() starts an event loop "
                        f"inside the running one (RuntimeError); await the coroutine instead",
                    )
                )
            elif _callee(call) in starters:
                name = _callee(call)
                line, inner = starters[name]
                findings.append(
                    (
                        call.lineno,
                        f"the coroutine {func.name}() calls {name}(), which starts an event "
                        f"loop with {inner} at line {line} inside the running one; make "
                        f"{name} a coroutine and await it",
                    )
                )
    return sorted(findings)


@generic_kind("static.nested_loop", {"properties": {}}, needs_run=False)
def static_nested_loop(params: dict[str, Any], ctx: Context) -> Verdict:
    """No event loop is started inside a running one (asyncio.run or
    run_until_complete reached from a coroutine)."""
    source = _source(ctx)
    try:
        findings = nested_loop_findings(source)
    except SyntaxError as exc:
        return _syntax_fail(exc)
    if findings:
        line, message = findings[0]
        more = f" ({len(findings) - 1} more after it)" if len(findings) > 1 else ""
        return Verdict(
            "fail",
            f"Line {line}: {message}{more}.",
            {"nested_loops": 0},
            [{"line": n, "message": m} for n, m in findings],
        )
    return Verdict(
        "pass", "No event loop is started inside a running one.", {"nested_loops": 0}, []
    )


# ---------------------------------------------------------------- imports


def _normalise(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def _requirement_name(requirement: str) -> str:
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    return _normalise(m.group(1)) if m else ""


def declared_distributions(pyproject: Path = PYPROJECT) -> set[str]:
    """Normalised names of the course's dependencies, optional groups included
    (learner tests need pytest); from pyproject.toml, else the installed metadata."""
    try:
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        requirements = list(project.get("dependencies", []))
        for group in project.get("optional-dependencies", {}).values():
            requirements.extend(group)
    except (OSError, tomllib.TOMLDecodeError):
        try:
            requirements = importlib.metadata.requires(DISTRIBUTION) or []
        except importlib.metadata.PackageNotFoundError:
            requirements = []
    return {_requirement_name(r) for r in requirements} - {""}


@functools.cache
def declared_modules() -> frozenset[str]:
    """Top-level import names a course file may use: the standard library,
    bcc, and the import names of the declared distributions (PyYAML -> yaml)."""
    dists = declared_distributions()
    names = set(sys.stdlib_module_names) | ALWAYS_DECLARED
    for module, owners in importlib.metadata.packages_distributions().items():
        if any(_normalise(owner) in dists for owner in owners):
            names.add(module)
    return frozenset(names)


def _resolves(module: str) -> bool:
    """Whether `module` can be found, importing nothing (not even its parents)."""
    if module in sys.modules:
        return True
    parts = module.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        return False
    for depth in range(1, len(parts)):
        locations = spec.submodule_search_locations if spec else None
        if not locations:
            return False
        spec = importlib.machinery.PathFinder.find_spec(
            ".".join(parts[: depth + 1]), list(locations)
        )
    return spec is not None


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    names = {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"}
    kinds = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    return handler.type is None or any(isinstance(k, ast.Name) and k.id in names for k in kinds)


def _imports(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, module) of every absolute import not guarded by `except ImportError`."""
    guarded: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(_catches_import_error(h) for h in node.handlers):
            guarded.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    for node in ast.walk(tree):
        if id(node) in guarded:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def import_findings(source: str, local: Iterable[str] = ()) -> list[tuple[int, str, str]]:
    """(line, module, message) for each import that does not resolve in the
    course environment or whose top-level package is not declared. `local`
    names modules that live beside the file (e.g. `probe` for its tests).
    Raises SyntaxError on invalid source."""
    tree = ast.parse(source)
    allowed = declared_modules() | set(local)
    findings = []
    for line, module in sorted(set(_imports(tree))):
        top = module.split(".")[0]
        if top in local:
            continue
        if not _resolves(module):
            findings.append(
                (line, module, f"import of {module!r} does not resolve in the course environment")
            )
        elif top not in allowed:
            findings.append(
                (
                    line,
                    module,
                    f"{top!r} is third-party and not declared in the course's pyproject.toml; "
                    f"use the standard library or bcc, or declare it",
                )
            )
    return findings


@generic_kind("static.imports", {"properties": {}}, needs_run=False)
def static_imports(params: dict[str, Any], ctx: Context) -> Verdict:
    """Every import resolves in the course environment and every third-party
    one is declared (standard library, bcc, or a course dependency)."""
    source = _source(ctx)
    try:
        findings = import_findings(source)
    except SyntaxError as exc:
        return _syntax_fail(exc)
    observed = [{"line": n, "module": mod, "message": msg} for n, mod, msg in findings]
    if findings:
        line, _, message = findings[0]
        more = f" ({len(findings) - 1} more after it)" if len(findings) > 1 else ""
        return Verdict("fail", f"Line {line}: {message}{more}.", {"bad_imports": 0}, observed)
    return Verdict("pass", "Every import resolves and is declared.", {"bad_imports": 0}, observed)


# ---------------------------------------------------------------- shared


def _source(ctx: Context) -> str:
    if not ctx.source.strip():
        raise CheckError("The recording holds no probe source, so the file cannot be checked.")
    return ctx.source


def _syntax_fail(exc: SyntaxError) -> Verdict:
    return Verdict(
        "fail",
        f"Line {exc.lineno}: the file is not valid Python ({exc.msg}); fix it and run again.",
        {"syntax": "valid"},
        {"line": exc.lineno, "error": exc.msg},
    )
