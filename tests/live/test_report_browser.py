"""The class report's HTML page in a real browser: headless Chromium renders
the scripted class (tests/fixtures/class_report) and takes a screenshot,
kept as tests/artifacts/class-report.png (git ignores tests/artifacts/).

Chromium is Debian's `chromium` package. Missing, the test installs it with
apt-get when CI=true (and fails if it cannot); elsewhere it is skipped,
saying so (the `chromium` fixture, tests/conftest.py)."""

from __future__ import annotations

import struct
import subprocess
import zlib
from pathlib import Path

from runner.course.load import load_course
from runner.report import class_report, render_html

REPO = Path(__file__).resolve().parents[2]
CLASS = REPO / "tests" / "fixtures" / "class_report"
ARTIFACTS = REPO / "tests" / "artifacts"
WIDTH, HEIGHT = 1400, 1600
PASS_GREEN = (0x2B, 0x7A, 0x3D)  # runner.report's bar colour


def _pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of raw RGB(A) bytes) of an 8-bit RGB or RGBA PNG."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    assert header is not None
    width, height, depth, colour = header[:4]
    assert depth == 8 and colour in (2, 6), f"unexpected PNG format {depth}/{colour}"
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows, previous = [], bytearray(stride)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up, corner = previous[x], previous[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def test_the_class_report_renders_in_chromium(chromium: str, tmp_path: Path) -> None:
    rows = class_report([CLASS / n for n in ("ada", "bo", "cy")], load_course(REPO))
    ARTIFACTS.mkdir(exist_ok=True)
    page = ARTIFACTS / "class-report.html"
    page.write_text(render_html(rows), encoding="utf-8")
    shot = ARTIFACTS / "class-report.png"
    shot.unlink(missing_ok=True)
    done = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",  # as root in CI; the page is ours and has no script
            "--disable-gpu",
            "--hide-scrollbars",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={WIDTH},{HEIGHT}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert shot.is_file(), f"no screenshot: {done.stderr.strip()[-500:]}"
    width, height, pixels = _pixels(shot.read_bytes())
    assert (width, height) == (WIDTH, HEIGHT)
    bpp = len(pixels[0]) // width
    green = sum(
        1 for row in pixels for x in range(0, len(row), bpp) if tuple(row[x : x + 3]) == PASS_GREEN
    )
    # ada passed five lessons and cy's two passes are drawn apart: five green bars of
    # height 1/3 of 160 px, 44 px wide, at least (anti-aliased edges aside)
    assert green > 5 * 40 * 50, f"the pass chart is not on the screenshot ({green} green pixels)"
