"""The core (runner/ without runner/tui, and checks/) never imports Textual."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CORE = [
    p
    for d in ("runner", "checks")
    for p in (ROOT / d).rglob("*.py")
    if "tui" not in p.relative_to(ROOT).parts
]


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_core_sources_do_not_import_textual():
    offenders = [
        str(p.relative_to(ROOT)) for p in CORE if {"textual", "rich"} & imported_modules(p)
    ]
    assert CORE and offenders == []


def test_importing_every_core_module_loads_no_textual():
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in CORE
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "import checks; checks.all_kinds()\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual',)]\n"
        "print(bad); sys.exit(1 if bad else 0)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# The front ends go through the application layer (runner.session), never
# straight to the runner: one place decides where a lesson runs, what is
# unsupported, how it is graded and explained.
FRONT_ENDS = [ROOT / "runner" / "cli.py", *sorted((ROOT / "runner" / "tui").rglob("*.py"))]
RUNNER_INTERNALS = {"runner.live.execute", "runner.grade", "runner.live.vm"}


def full_imports(path: Path) -> set[str]:
    """Every module a file imports, anywhere (inside functions too), by
    full dotted name; `from runner.live import vm` counts as runner.live.vm."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def test_front_ends_use_the_application_layer_not_the_runner():
    offenders = {
        str(p.relative_to(ROOT)): sorted(
            name
            for name in full_imports(p)
            if any(name == bad or name.startswith(bad + ".") for bad in RUNNER_INTERNALS)
        )
        for p in FRONT_ENDS
    }
    assert FRONT_ENDS and {k: v for k, v in offenders.items() if v} == {}
    assert "runner.session" in full_imports(ROOT / "runner" / "cli.py")
    assert "runner.session" in full_imports(ROOT / "runner" / "tui" / "app.py")


def test_the_layering_check_sees_imports_inside_functions(tmp_path):
    probe = tmp_path / "front.py"
    probe.write_text("def f():\n    from runner.live import vm\n    import runner.grade\n")
    assert {"runner.live.vm", "runner.grade"} <= full_imports(probe)
