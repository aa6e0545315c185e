"""The sudo password prompt of the TUI.

The TUI never runs as root: the session runs only the probe through
`sudo -n` and the root guard. Whether sudo is ready is decided by
runner.session.needs_password (it asks sudo for exactly the runner's
command, so the README's narrow sudoers rule counts as ready); when it is
not, the app suspends and lets `sudo -v` prompt on the real terminal,
which refreshes sudo's timestamp for the runs that follow."""

from __future__ import annotations

import subprocess


def refresh_sudo() -> bool:
    """Run `sudo -v` on the current terminal; True when it succeeded."""
    return subprocess.run(["sudo", "-v"], check=False).returncode == 0
