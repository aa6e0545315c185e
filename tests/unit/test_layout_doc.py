"""The layout tree in docs/layout.md and the README's design section name
every module, and say the same thing: the tree cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def tree(text: str) -> str:
    start = text.index("```\nrunner/model.py")
    return text[start : text.index("```", start + 3)]


def test_readme_and_docs_show_the_same_tree() -> None:
    readme = (REPO / "README.md").read_text()
    docs = (REPO / "docs" / "layout.md").read_text()
    assert tree(readme) == tree(docs)


def test_every_module_is_in_the_tree() -> None:
    text = tree((REPO / "docs" / "layout.md").read_text())
    names = set(re.findall(r"[\w/]+\.py|[\w]+/", text))
    words = set(re.findall(r"[\w.]+", text))
    missing = []
    for top in ("runner", "checks"):
        for path in sorted((REPO / top).rglob("*.py")):
            rel = path.relative_to(REPO)
            if path.name == "__init__.py" or "__pycache__" in rel.parts:
                continue
            if rel.parts[1:2] in (("tui",), ("workloads",)) and len(rel.parts) > 2:
                continue  # these packages are one line each: the view and the workload side
            if top == "checks" and path.name not in ("api.py", "docgen.py", "context.py"):
                continue  # the kinds are covered by "one module per prefix"
            if path.name not in words and str(rel) not in names:
                missing.append(str(rel))
    assert not missing, f"name these in docs/layout.md and the README's tree: {missing}"
