"""`course serve`: the same TUI in a browser, for workshops. textual-serve
runs the `course start` command below once per browser tab and streams its
terminal over a websocket. Localhost by default: the TUI runs probes as
root, so binding anywhere else must be an explicit `--host`."""

from __future__ import annotations

import errno
import shlex
import socket
import sys
from pathlib import Path

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8000


class PortUnavailable(Exception):
    """The address cannot be bound; one sentence for the user."""


def start_command(course: str | None, workspace: str | None) -> str:
    """The shell command textual-serve runs per tab: `course start` with this
    interpreter and the same global options (absolute: the tab's process
    need not share our working directory)."""
    argv = [sys.executable, "-m", "runner.cli"]
    if course:
        argv += ["--course", str(Path(course).resolve())]
    if workspace:
        argv += ["--workspace", str(Path(workspace).resolve())]
    return shlex.join([*argv, "start"])


def check_port(host: str, port: int) -> None:
    """Bind and release the address first, so a port in use is one sentence
    rather than aiohttp's traceback."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise PortUnavailable(f"Cannot serve on {host}: {exc.strerror}.") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                why = "is in use (try --port with another number)"
            else:
                why = f"cannot be used ({exc.strerror})"
            raise PortUnavailable(f"Port {port} on {host} {why}.") from None


def build_server(command: str, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT):
    from textual_serve.server import Server

    class _Quiet(Server):
        async def on_startup(self, app) -> None:
            """`course serve` prints its own one line, not textual-serve's banner."""

    return _Quiet(command, host=host, port=port, title="eBPF course")
