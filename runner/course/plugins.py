"""Check kinds a course ships itself: the folders course.yaml lists under `plugins:`.

Every `*.py` file of those folders is imported by its file path, never
through sys.path (a course file must not shadow a platform module), under a
module name unique to its folder, `ebpf_course_plugins.<hash>.<stem>`, once
per process. A plugin registers kinds with `checks.api.generic_kind` as the
built-in kinds do; the registry refuses a name the platform already has.
Plugins are the course author's code, trusted like the course's lessons
(README, "Threat model"). The platform's own course lists none: its
`checks/` folder is the built-in package, imported as such.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import threading
from pathlib import Path

import checks
from runner.course.yamldoc import LoadError, read_doc, relative
from runner.model import Where

PACKAGE = "ebpf_course_plugins"
_lock = threading.Lock()  # `course lint` loads lessons on several threads
_loaded: dict[Path, list[LoadError]] = {}  # course folder -> the problems its plugins had


def load_plugins(course_dir: Path) -> list[LoadError]:
    """Import the course's plugin files (the first time only); every problem
    is one sentence naming the file, never a traceback."""
    course_dir = Path(course_dir).resolve()
    with _lock:
        if course_dir not in _loaded:
            _loaded[course_dir] = _import_all(course_dir)
        return list(_loaded[course_dir])


def _import_all(course_dir: Path) -> list[LoadError]:
    try:
        doc, _ = read_doc(course_dir / "course.yaml", course_dir)
    except LoadError:
        return []  # the loader reports an unreadable course.yaml itself
    folders = doc.data.get("plugins") if isinstance(doc.data, dict) else None
    if not isinstance(folders, list):
        return []  # no plugins, or a shape the course schema already reports
    checks.all_kinds()  # the platform's kinds first, so no plugin can take their names
    problems: list[LoadError] = []
    for i, name in enumerate(folders):
        if not isinstance(name, str):
            continue
        folder = course_dir / name
        inside = folder.resolve().is_relative_to(course_dir)
        if not inside or folder.is_symlink() or not folder.is_dir():
            msg = f"plugins folder {name!r} is not a folder of the course (links are refused)"
            problems.append(LoadError(doc.where(("plugins", i)), msg))
            continue
        digest = hashlib.sha256(str(folder).encode()).hexdigest()[:12]
        for file in sorted(folder.glob("*.py")):
            problem = _import(file, f"{PACKAGE}.{digest}.{file.stem}", relative(file, course_dir))
            if problem:
                problems.append(problem)
    return problems


def _import(file: Path, module_name: str, shown: str) -> LoadError | None:
    if file.is_symlink():
        return LoadError(Where(shown, 1), f"{shown} is a symbolic link; the course refuses links")
    spec = importlib.util.spec_from_file_location(module_name, file)
    assert spec is not None and spec.loader is not None  # a .py file always has one
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # as `import` does: dataclasses and pickle look here
    try:
        spec.loader.exec_module(module)
    except checks.KindError as exc:
        del sys.modules[module_name]
        where = Where(shown, _line_in(exc, file))
        return LoadError(where, f"{shown} registers kind {exc.name!r}, {exc.clause}")
    except Exception as exc:  # the author's code: any failure is a load error, not a crash
        del sys.modules[module_name]
        lines = str(exc).strip().splitlines()
        what = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
        return LoadError(Where(shown, _line_in(exc, file)), f"{shown} failed to import ({what})")
    return None


def _line_in(exc: BaseException, file: Path) -> int:
    """The line of the plugin file the exception came from (1 when unknown)."""
    if isinstance(exc, SyntaxError) and exc.lineno:
        return exc.lineno
    line = 1
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == str(file):
            line = tb.tb_lineno
        tb = tb.tb_next
    return line
