"""`course serve` in a real browser: the server runs `course start` for a
headless Chromium tab, and the screenshot must show more than a blank page.

Chromium is driven over the DevTools protocol (aiohttp, textual-serve's own
dependency) rather than `chromium --screenshot`: with `--virtual-time-budget`
the CLI's shot is taken before the first frame of the app arrives over the
websocket (virtual time does not wait for it), so it shows only
textual-serve's intro card. The terminal is drawn by xterm.js on <canvas>
layers, so its text is not in the DOM: the lesson title cannot be asserted
from the page, only the picture. Chromium: the `chromium` fixture
(tests/conftest.py) skips outside CI when it is absent."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.tui

REPO = Path(__file__).resolve().parents[2]
WIDTH, HEIGHT = 1280, 800


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_page(url: str, server: subprocess.Popen, deadline: float) -> str:
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"course serve exited {server.returncode}: {server.stdout.read()}")
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return answer.read().decode()
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"{url} did not answer")


async def _screenshot(chromium: str, url: str, profile: Path, settle: int = 60) -> bytes:
    """A PNG of the tab once the app has drawn and two shots a second apart
    are equal (the page settled)."""
    import aiohttp

    browser = subprocess.Popen(
        [
            chromium,
            "--headless=new",
            "--no-sandbox",  # as root in CI
            "--disable-gpu",
            f"--window-size={WIDTH},{HEIGHT}",
            f"--user-data-dir={profile}",
            "--remote-debugging-port=0",  # the port is written to DevToolsActivePort
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(600):
            if port_file.is_file() and port_file.read_text().strip():
                break
            await asyncio.sleep(0.1)
        port = port_file.read_text().split()[0]
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{port}/json/list") as answer:
                pages = await answer.json()
            target = next(p for p in pages if p["type"] == "page")["webSocketDebuggerUrl"]
            async with http.ws_connect(target, max_msg_size=0) as ws:
                counter = iter(range(1, 1_000_000))

                async def call(method: str, **params) -> dict:
                    ident = next(counter)
                    await ws.send_json({"id": ident, "method": method, "params": params})
                    async for message in ws:
                        data = json.loads(message.data)
                        if data.get("id") == ident:
                            return data.get("result", {})
                    raise AssertionError(f"chromium closed the DevTools socket during {method}")

                await call("Page.navigate", url=url)
                last = b""
                for _ in range(settle):
                    await asyncio.sleep(1)
                    shot = await call("Page.captureScreenshot", format="png")
                    png = base64.b64decode(shot["data"])
                    # textual.js marks the body once the app's first output arrived
                    state = await call(
                        "Runtime.evaluate", expression="document.body.className", returnByValue=True
                    )
                    started = url == "about:blank" or "-first-byte" in state["result"]["value"]
                    if png == last and started:
                        break
                    last = png
                return last
    finally:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()


def test_course_serve_shows_the_tui_in_chromium(chromium: str, tmp_path: Path) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    server = subprocess.Popen(
        [sys.executable, "-m", "runner.cli", "--workspace", str(tmp_path / "ws")]
        + ["serve", "--port", str(port)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        html = _wait_for_page(url, server, time.monotonic() + 60)
        assert "textual" in html.lower()
        blank = asyncio.run(_screenshot(chromium, "about:blank", tmp_path / "blank"))
        png = asyncio.run(_screenshot(chromium, url, tmp_path / "tui"))
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        shot = tmp_path / "serve.png"
        shot.write_bytes(png)
        print(f"screenshot: {shot}")
        if os.environ.get("EBPF_COURSE_ARTIFACTS"):
            target = Path(os.environ["EBPF_COURSE_ARTIFACTS"])
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, target / "serve.png")
        # A blank page compresses to almost nothing; the lesson list, the lesson text
        # and the key bar do not (textual-serve's intro card alone is ~3x blank).
        assert len(png) > 8 * len(blank), f"{len(png)} bytes against {len(blank)} for blank"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
