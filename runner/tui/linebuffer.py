"""A thread-safe hand-over of probe output lines from the run worker to the UI.

The worker appends (cheap, under a lock); the App drains on a timer and
writes one batch per tick with `Log.write_lines`. Posting one Message per
line would flood the event loop at tens of thousands of lines a second.
"""

from __future__ import annotations

import threading
from collections import deque


class LineBuffer:
    """Keeps at most `cap` undrained lines; counts every line exactly."""

    def __init__(self, cap: int = 5000) -> None:
        self._lines: deque[str] = deque(maxlen=cap)
        self._lock = threading.Lock()
        self.seen = 0  # every line pushed since the last reset
        self.dropped = 0  # lines that fell out before the UI drained them

    def push(self, text: str) -> None:
        with self._lock:
            if len(self._lines) == self._lines.maxlen:
                self.dropped += 1
            self._lines.append(text)
            self.seen += 1

    def drain(self) -> list[str]:
        with self._lock:
            batch = list(self._lines)
            self._lines.clear()
            return batch

    def reset(self) -> None:
        with self._lock:
            self._lines.clear()
            self.seen = 0
            self.dropped = 0
