"""The check registry is navigable and documented: kind `X.y` lives in
checks/X.py, and docs/contracts.md lists exactly the registered kinds."""

from __future__ import annotations

import importlib
import pkgutil
from collections import defaultdict

from markdown_it import MarkdownIt

import checks
from checks import docgen


def _kind_modules() -> list[str]:
    return [
        info.name
        for info in pkgutil.iter_modules(checks.__path__)
        if info.name not in checks._NOT_KINDS and not info.name.startswith("_")
    ]


def test_every_module_registers_only_kinds_with_its_own_prefix():
    by_module: dict[str, list[str]] = defaultdict(list)
    for name in _kind_modules():
        importlib.import_module(f"checks.{name}")
    for name, kind in checks.all_kinds().items():
        module = kind.func.__module__
        if module.startswith("checks."):
            by_module[module.removeprefix("checks.")].append(name)
        else:  # only tests may register kinds outside checks/ (throwaway ones)
            assert module.rsplit(".", 1)[-1].startswith("test"), (
                f"kind {name!r} is registered by {module}, outside checks/"
            )
    strays = {
        module: [k for k in names if k.split(".", 1)[0] != module]
        for module, names in by_module.items()
    }
    strays = {module: names for module, names in strays.items() if names}
    assert not strays, "kind X.y belongs in checks/X.py; move " + "; ".join(
        f"{', '.join(names)} out of checks/{m}.py" for m, names in strays.items()
    )
    empty = [m for m in _kind_modules() if m not in by_module]
    assert not empty, (
        f"checks/{empty[0]}.py registers no kind: name a helper module `_{empty[0]}.py`, or put "
        f"shared authoring helpers in checks/api.py"
    )


def test_every_kind_has_a_summary_and_dotted_name():
    for name, kind in docgen.course_kinds().items():
        family, _, rest = name.partition(".")
        assert family.isidentifier() and rest, f"kind {name!r} is not named family.name"
        assert kind.summary.endswith("."), f"kind {name!r} needs a docstring: one sentence first"


def test_the_docs_table_of_check_kinds_is_what_the_registry_generates():
    text = docgen.CONTRACTS.read_text(encoding="utf-8")
    assert text.count(docgen.BEGIN) == 1 and text.count(docgen.END) == 1
    documented = text[text.index(docgen.BEGIN) + len(docgen.BEGIN) : text.index(docgen.END)]
    have, want = documented.strip().splitlines(), docgen.render_table().strip().splitlines()
    stale = sorted({_kind_of(row) for row in set(have) ^ set(want)})
    assert have == want, (
        f"docs/contracts.md's table of check kinds differs from the registry (rows: "
        f"{', '.join(stale) or 'their order'}): run `.venv/bin/{docgen.COMMAND}`"
    )


def _kind_of(row: str) -> str:
    return row.split("|")[1].strip() if row.startswith("|") else row


def test_the_generated_table_renders_as_one_table_without_raw_html():
    """A `<n>` outside backticks would vanish as an HTML tag; a stray `|` would add a column."""
    tokens = MarkdownIt("commonmark").enable("table").parse(docgen.render_table())
    rows = [t for t in tokens if t.type == "tr_open"]
    assert len(rows) == len(docgen.course_kinds()) + 1
    cells = [t for t in tokens if t.type in ("td_open", "th_open")]
    assert len(cells) == 3 * len(rows)
    html = [c.content for t in tokens if t.children for c in t.children if "html" in c.type]
    assert not html, f"put {html[0]!r} in backticks in the kind's docstring"


def test_params_are_described_from_the_schema():
    schema = checks.get("counts.total").params
    cell = docgen.params_cell(schema)
    assert cell.startswith("**`total`**: regex; `count`: regex;")
    assert "`op`: eq/ge/le = eq" in cell
    assert cell.endswith("exactly one of `count` / `sum` / `value`")
    assert docgen.params_cell(checks.get("timing.duration").params).endswith(
        "at least one of `min` / `max`"
    )
    assert docgen.describe({"type": "integer", "minimum": 1}) == "integer ≥ 1"
    assert docgen.describe({"type": "array", "items": {"type": "string"}}) == "[string]"
    assert docgen.params_cell(checks.get("static.imports").params) == "–"


def test_a_kind_missing_from_the_docs_is_caught(tmp_path):
    """The gate can fail: a table with a row removed, and a file without markers."""
    text = docgen.CONTRACTS.read_text(encoding="utf-8")
    stale = "\n".join(ln for ln in text.splitlines() if not ln.startswith("| `order.sorted`"))
    path = tmp_path / "contracts.md"
    path.write_text(stale + "\n")
    assert docgen.main(["--check", "--path", str(path)]) == 1
    assert docgen.main(["--path", str(path)]) == 0
    assert "| `order.sorted` |" in path.read_text()
    assert docgen.main(["--check", "--path", str(path)]) == 0
    path.write_text("# no markers\n")
    assert docgen.main(["--path", str(path)]) == 2
