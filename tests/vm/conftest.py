"""Starts the VM modules' runs together at the first VM test (see vm_together)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import vm_together


@pytest.fixture(scope="session")
def vm_run(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """`vm_run(module_name)`: that module's run's value; the first call starts
    the runs of every VM module that has a selected test."""

    def tmp_for(module: str) -> Path:
        return tmp_path_factory.mktemp(module.rsplit(".", 1)[-1])

    selected = {item.module.__name__ for item in request.session.items if item.module}
    vm_together.start(sorted(selected), tmp_for)
    return lambda module: vm_together.result(module, tmp_for)
