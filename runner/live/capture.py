"""Both output streams of one process, read in threads: cleaned, timestamped,
counted exactly, and kept within a bound (the head and the tail, so a final
summary survives a flood).

The bound, per capture (one run of a probe):

- a line longer than MAX_LINE_BYTES (64 KiB) is cut there and the rest of it
  is dropped; it still counts as one line;
- at most `cap` lines are kept (DEFAULT_LINE_CAP, 20,000): the first three
  quarters of the budget go to the head, the last quarter to the tail;
- at most `byte_cap` bytes are kept (DEFAULT_BYTE_CAP, 16 MiB), split the same
  way. A line is charged what it really costs in memory: the size of its
  text object (CPython stores 1, 2 or 4 bytes per character, by the widest
  character in the line, so one U+FFFD from invalid UTF-8 doubles a line and
  one emoji quadruples it) plus LINE_OVERHEAD for the Line around it.

So the kept lines of a capture never take more than `byte_cap` bytes however
the probe floods, plus at most one line in flight per stream (under 0.3 MiB
each). Counts (`counts`, `total`) are always exact; `total - len(lines())`
lines were dropped.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import IO, Any

from runner.live.textclean import decode_line
from runner.model import Line

DEFAULT_LINE_CAP = 20_000
DEFAULT_BYTE_CAP = 16 * 1024 * 1024
MAX_LINE_BYTES = 64 * 1024  # longer lines are cut (and still count as one line)
# What a Line costs besides its text: the object, its attribute dict and the
# float timestamp (measured on CPython 3.11: about 380 bytes), rounded up.
LINE_OVERHEAD = 400


def ready_pattern(pattern: str | None) -> Any:
    """The author's `ready:` regex, compiled by checks.api.compile_pattern (RE2,
    linear time): a catastrophic pattern cannot stall the reader threads, which
    would hold the step past its wall-clock limit. Raises PatternError."""
    if pattern is None:
        return None
    from checks.api import compile_pattern

    return compile_pattern(pattern)


def line_cost(line: Line) -> int:
    """The bytes one kept line is charged against the byte cap."""
    return sys.getsizeof(line.text) + LINE_OVERHEAD


class Capture:
    """Read `proc`'s stdout and stderr until they close (see the module doc
    for what is kept). `ready` is searched in each line until it first
    matches (`ready_at`); `emit` is called with every line, kept or not."""

    def __init__(
        self,
        proc: subprocess.Popen[bytes],
        t0: float,
        cap: int,
        ready: Any,  # ready_pattern(step.ready): has .search(text)
        emit: Callable[[Line], None] | None,
        byte_cap: int = DEFAULT_BYTE_CAP,
    ) -> None:
        self._t0 = t0
        self._ready = ready
        self._emit = emit
        self._lock = threading.Lock()
        self._head: list[Line] = []
        self._head_cap = cap - cap // 4
        self._head_bytes = 0
        self._head_byte_cap = byte_cap - byte_cap // 4
        self._head_open = True  # once a line goes to the tail, the head is closed
        self._tail: deque[tuple[Line, int]] = deque()
        self._tail_cap = cap // 4
        self._tail_bytes = 0
        self._tail_byte_cap = byte_cap // 4
        self.counts = {"out": 0, "err": 0}
        self.ready_at: float | None = None
        self._threads = [
            threading.Thread(target=self._read, args=(proc.stdout, "out"), daemon=True),
            threading.Thread(target=self._read, args=(proc.stderr, "err"), daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def _read(self, pipe: IO[bytes], stream: str) -> None:
        while True:
            raw = pipe.readline(MAX_LINE_BYTES)
            if not raw:
                break
            if not raw.endswith(b"\n") and len(raw) >= MAX_LINE_BYTES:
                while (rest := pipe.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass  # drop the rest of an overlong line
            t = round(time.monotonic() - self._t0, 6)
            self._add(Line(t=t, stream=stream, text=decode_line(raw)))  # type: ignore[arg-type]
        pipe.close()

    def _add(self, line: Line) -> None:
        cost = line_cost(line)
        # matched outside the lock, so lines() never waits on a pattern
        is_ready = self.ready_at is None and self._ready and self._ready.search(line.text)
        with self._lock:
            self.counts[line.stream] += 1
            if (
                self._head_open
                and len(self._head) < self._head_cap
                and self._head_bytes + cost <= self._head_byte_cap
            ):
                self._head.append(line)
                self._head_bytes += cost
            else:
                self._head_open = False
                self._tail.append((line, cost))
                self._tail_bytes += cost
                while self._tail and (
                    len(self._tail) > self._tail_cap or self._tail_bytes > self._tail_byte_cap
                ):
                    self._tail_bytes -= self._tail.popleft()[1]
            if is_ready and self.ready_at is None:
                self.ready_at = line.t
        if self._emit:
            self._emit(line)

    @property
    def total(self) -> int:
        return self.counts["out"] + self.counts["err"]

    @property
    def kept_bytes(self) -> int:
        """What the kept lines are charged (never more than the byte cap)."""
        with self._lock:
            return self._head_bytes + self._tail_bytes

    def lines(self) -> list[Line]:
        with self._lock:
            return self._head + [line for line, _ in self._tail]

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(deadline - time.monotonic(), 0))
