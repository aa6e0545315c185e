"""runner.live.capture: a flood of long or undecodable lines stays within the
byte cap, counts stay exact, and the final summary survives. A fake process
(two pipes fed by threads) stands in for a probe: no kernel is involved."""

from __future__ import annotations

import os
import re
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from runner.live import capture as capture_mod
from runner.live.capture import (
    DEFAULT_BYTE_CAP,
    DEFAULT_LINE_CAP,
    LINE_OVERHEAD,
    MAX_LINE_BYTES,
    Capture,
    line_cost,
)
from runner.live.textclean import decode_line
from runner.model import Line

LONG = b"x" * (MAX_LINE_BYTES - 1) + b"\n"  # the longest line kept whole
GARBAGE = b"\xff" * (MAX_LINE_BYTES - 1) + b"\n"  # 1 byte each in, 2 bytes each kept
EMOJI = "\U0001f41d".encode() + b"y" * (MAX_LINE_BYTES - 5) + b"\n"  # 4 bytes per char kept
SUMMARY = b"Detached after 12345 events.\n"


class FakeProc:
    """What Capture reads from a Popen: .stdout and .stderr, as pipes."""

    def __init__(self, out: Iterator[bytes], err: Iterator[bytes] | None = None) -> None:
        self.stdout = self._feed(out)
        self.stderr = self._feed(err if err is not None else iter(()))

    @staticmethod
    def _feed(chunks: Iterator[bytes]) -> Any:
        read_fd, write_fd = os.pipe()

        def write() -> None:
            with os.fdopen(write_fd, "wb") as pipe:
                for chunk in chunks:
                    pipe.write(chunk)

        threading.Thread(target=write, daemon=True).start()
        return os.fdopen(read_fd, "rb")


def flood(line: bytes, n: int, last: bytes = SUMMARY) -> Iterator[bytes]:
    for _ in range(n):
        yield line
    yield last


def capture_all(proc: FakeProc, **kwargs: Any) -> Capture:
    cap = kwargs.pop("cap", DEFAULT_LINE_CAP)
    capture = Capture(proc, time.monotonic(), cap, kwargs.pop("ready", None), None, **kwargs)  # type: ignore[arg-type]
    capture.join(120)
    return capture


def real_size(lines: list[Line]) -> int:
    return sum(sys.getsizeof(line.text) for line in lines)


@pytest.mark.parametrize("line", [LONG, GARBAGE, EMOJI], ids=["ascii", "invalid-utf8", "emoji"])
def test_a_flood_of_long_lines_stays_within_the_default_byte_cap(line: bytes) -> None:
    # 400 lines of 64 KiB: 25 MiB in, up to 100 MiB as text, under 20,000 lines.
    n = 400
    capture = capture_all(FakeProc(flood(line, n)))
    kept = capture.lines()
    assert capture.total == n + 1  # counted exactly
    assert real_size(kept) + LINE_OVERHEAD * len(kept) <= DEFAULT_BYTE_CAP
    assert capture.kept_bytes <= DEFAULT_BYTE_CAP
    assert kept[-1].text == SUMMARY.decode().rstrip("\n")  # the tail survives
    assert len(kept[0].text) == MAX_LINE_BYTES - 1 - (3 if line is EMOJI else 0)  # head too


def test_the_byte_cap_keeps_a_head_and_a_tail() -> None:
    byte_cap = 1024 * 1024
    capture = capture_all(FakeProc(flood(GARBAGE, 200)), byte_cap=byte_cap)
    kept = capture.lines()
    cost = line_cost(Line(0.0, "out", decode_line(GARBAGE)))
    head = (byte_cap - byte_cap // 4) // cost  # as many as fit in three quarters
    tail = (byte_cap // 4 - line_cost(kept[-1])) // cost  # the summary and what fits before it
    assert len(kept) == head + tail + 1
    assert kept[head - 1].t <= kept[head].t  # in order, head then tail
    assert capture.kept_bytes == sum(line_cost(line) for line in kept) <= byte_cap
    assert capture.total == 201 and kept[-1].text.startswith("Detached")


def test_counts_and_the_line_cap_still_hold_for_short_lines() -> None:
    out = flood(b"event\n", 5000)
    err = flood(b"warning\n", 300, last=b"bye\n")
    capture = capture_all(FakeProc(out, err), cap=100)
    assert capture.counts == {"out": 5001, "err": 301}
    kept = capture.lines()
    assert len(kept) == 100
    assert capture.total - len(kept) == 5302 - 100  # what execute reports as dropped


def test_an_overlong_line_is_cut_and_counts_once() -> None:
    huge = b"z" * (10 * MAX_LINE_BYTES) + b"\n"
    capture = capture_all(FakeProc(flood(huge, 3)))
    assert capture.total == 4
    assert [len(line.text) for line in capture.lines()[:3]] == [MAX_LINE_BYTES] * 3


def test_ready_is_found_in_a_flood() -> None:
    proc = FakeProc(iter([LONG * 3, b"Attached to tracepoint\n", GARBAGE * 3]))
    capture = capture_all(proc, ready=re.compile("^Attached"))
    assert capture.ready_at is not None and capture.total == 7


def _peak(make: Callable[[], Capture]) -> int:
    tracemalloc.start()
    try:
        capture = make()
        assert capture.total > 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_memory_really_taken_is_bounded_by_the_byte_cap() -> None:
    """Measured, not computed: 600 lines of invalid UTF-8 (75 MiB as text)
    with a 4 MiB cap peak under 4 MiB plus lines in flight and pipe buffers."""
    byte_cap = 4 * 1024 * 1024
    peak = _peak(lambda: capture_all(FakeProc(flood(GARBAGE, 600)), byte_cap=byte_cap))
    assert peak < byte_cap + 2 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"


def test_the_line_overhead_is_not_an_underestimate() -> None:
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        lines = [Line(t=time.monotonic(), stream="out", text="") for _ in range(1000)]
        per_line = (tracemalloc.get_traced_memory()[0] - before) / len(lines)
    finally:
        tracemalloc.stop()
    assert per_line + 8 <= LINE_OVERHEAD  # + the list slot that holds it


def test_execute_uses_this_capture() -> None:
    from runner.live import execute

    assert execute._Capture is capture_mod.Capture
    assert execute.DEFAULT_LINE_CAP == DEFAULT_LINE_CAP
