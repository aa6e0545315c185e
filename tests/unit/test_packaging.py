"""The wheel `pip install .` builds carries every package and the embedded
course, and the code finds its files through runner.paths alone."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from runner import paths

REPO = Path(__file__).resolve().parents[2]


def listed_packages() -> set[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    return set(config["tool"]["setuptools"]["packages"])


def test_every_package_folder_is_listed_in_pyproject() -> None:
    found = {
        ".".join(init.parent.relative_to(REPO).parts)
        for top in ("runner", "checks")
        for init in (REPO / top).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    missing = found - listed_packages()
    assert not missing, f"add {sorted(missing)} to [tool.setuptools] packages in pyproject.toml"


def test_the_embedded_course_maps_to_the_repository_root() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["runner._course"] == "."
    data = config["package-data"]["runner._course"]
    for needed in ("course.yaml", "schema/*.json", "lessons/**/*", "solutions/**/*"):
        assert needed in data


def test_in_a_checkout_the_course_is_the_repository() -> None:
    assert paths.COURSE_ROOT == REPO
    assert (paths.SCHEMA_DIR / "lesson.schema.json").is_file()
    assert paths.GUARD.is_file()


def test_no_module_counts_parent_folders_from_its_own_file() -> None:
    offenders = []
    for path in [*(REPO / "runner").rglob("*.py"), *(REPO / "checks").rglob("*.py")]:
        if path.name == "paths.py":
            continue
        text = path.read_text()
        if re.search(r"__file__\)[^\n]*(\.parent\.parent|\.parents\[)", text):
            offenders.append(str(path.relative_to(REPO)))
    assert not offenders, f"ask runner.paths instead: {offenders}"
