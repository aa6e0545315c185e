"""The VM tests' long runs, started together.

Each module of tests/vm boots its own VM for many minutes (validate with
the mutation gate, the kernel matrix, the alternative solutions), and one
such VM keeps about one of the machine's cores busy: its guest runs its jobs
one after another. Run one after the other they took 36 min of CI's 60 on
2 cores; started together at the first VM test, they overlap. Each module
registers the function that does its run (`register`); its module fixture
asks for the result (`result`), which waits for that run alone. A run only
starts when one of its module's tests was selected."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

_STARTERS: dict[str, Callable[[Path], Any]] = {}
_RUNS: dict[str, _Run] = {}


class _Run(threading.Thread):
    """One module's run in a thread: its value, or the exception it raised
    (pytest.skip and pytest.fail included) to raise again in the test."""

    def __init__(self, name: str, work: Callable[[Path], Any], tmp: Path) -> None:
        super().__init__(name=f"vm-run {name}", daemon=True)
        self._work, self._tmp = work, tmp
        self.value: Any = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.value = self._work(self._tmp)
        except BaseException as exc:  # re-raised by result() in the test's thread
            self.error = exc


def register(module: str, work: Callable[[Path], Any]) -> None:
    """`work(tmp_dir)` does the module's whole run and returns what its tests read."""
    _STARTERS[module] = work


def start(modules: Iterable[str], tmp_for: Callable[[str], Path]) -> None:
    """Start the runs of these modules (those registered and not yet started)."""
    for module in modules:
        if module in _STARTERS and module not in _RUNS:
            run = _Run(module, _STARTERS[module], tmp_for(module))
            _RUNS[module] = run
            run.start()


def result(module: str, tmp_for: Callable[[str], Path]) -> Any:
    """The module's run's value, once it ends (started now if it was not)."""
    start([module], tmp_for)
    run = _RUNS[module]
    run.join()  # each run bounds its own time (its subprocess or VM budget)
    if run.error is not None:
        raise run.error
    return run.value
