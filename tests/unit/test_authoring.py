"""docs/authoring.md cannot drift from the registry: its generated section is
current, every check kind has an example, and every `kind:` in its YAML
examples exists with params that validate against the kind's schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonschema
import yaml

import checks
from checks import docgen
from runner.course.markdown import fenced_blocks

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "authoring.md"


def _checks_in(value: Any) -> list[dict[str, Any]]:
    """Every mapping with a `kind:` key found in a YAML example."""
    found = []
    if isinstance(value, dict):
        if isinstance(value.get("kind"), str) and "id" in value:
            found.append(value)
        for item in value.values():
            found += _checks_in(item)
    elif isinstance(value, list):
        for item in value:
            found += _checks_in(item)
    return found


def examples() -> list[tuple[int, dict[str, Any]]]:
    out = []
    for block in fenced_blocks(GUIDE.read_text()):
        if block.lang == "yaml":
            data = yaml.safe_load("\n".join(block.lines))
            out += [(block.line, check) for check in _checks_in(data)]
    return out


def test_the_generated_section_follows_the_registry() -> None:
    """Each kind's heading, summary and params line is the registry's (the examples
    quote lessons verbatim and may lag an edit of one: `checks.docgen --check` says)."""
    text = GUIDE.read_text()
    start, end = text.index(docgen.EXAMPLES_BEGIN), text.index(docgen.EXAMPLES_END)
    section = text[start:end]
    headings = [ln[6:-1] for ln in section.splitlines() if ln.startswith("#### `")]
    assert headings == list(docgen.course_kinds()), "run `.venv/bin/python -m checks.docgen`"
    for name, kind in docgen.course_kinds().items():
        block = section.split(f"#### `{name}`\n", 1)[1].split("#### `", 1)[0]
        assert kind.summary in block and f"Params: {docgen.params_cell(kind.params)}." in block


def test_every_kind_has_an_example() -> None:
    shown = {check["kind"] for _, check in examples()}
    missing = sorted(set(docgen.course_kinds()) - shown)
    assert not missing, f"no example of {missing}: add one to checks.docgen.FALLBACK_EXAMPLES"


def test_every_example_names_a_kind_and_its_params_validate() -> None:
    found = examples()
    assert len(found) >= len(docgen.course_kinds())
    for line, check in found:
        kind = checks.get(check["kind"])
        assert kind is not None, f"docs/authoring.md:{line}: unknown kind {check['kind']!r}"
        errors = list(
            jsonschema.Draft202012Validator(kind.params).iter_errors(check.get("params", {}))
        )
        assert not errors, f"docs/authoring.md:{line}: {check['id']}: {errors[0].message}"


def test_a_wrong_example_would_be_caught() -> None:
    """The validation above can fail: a param the kind does not take."""
    kind = checks.get("output.line")
    bad = {"pattern": "^x$", "colour": "red"}
    assert list(jsonschema.Draft202012Validator(kind.params).iter_errors(bad))
