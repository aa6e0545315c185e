"""Where the platform finds its own files, in a checkout and when installed.

In a checkout (or an editable install) the course lives next to the code:
course.yaml, lessons/, solutions/ and schema/ beside runner/. A wheel built
by `pip install .` carries the same files inside the package as
`runner/_course/`. Every other module asks here instead of counting parent
folders from its own `__file__`.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent  # runner/
CODE_ROOT = PACKAGE_DIR.parent  # the folder holding the runner and checks packages
_EMBEDDED = PACKAGE_DIR / "_course"


def _course_root() -> Path:
    if (CODE_ROOT / "course.yaml").is_file():
        return CODE_ROOT
    return _EMBEDDED


COURSE_ROOT = _course_root()
DEFAULT_COURSE = COURSE_ROOT  # the embedded default course
COURSE_ENV = "EBPF_COURSE_DIR"  # another course folder, when --course is not given
SCHEMA_DIR = COURSE_ROOT / "schema"
PYPROJECT = COURSE_ROOT / "pyproject.toml"  # absent in a wheel: see checks.static
GUARD = PACKAGE_DIR / "live" / "privilege.py"


def default_course() -> Path:
    """$EBPF_COURSE_DIR when set (and not empty), else the embedded course."""
    chosen = os.environ.get(COURSE_ENV)
    return Path(chosen) if chosen else DEFAULT_COURSE
