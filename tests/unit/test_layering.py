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
