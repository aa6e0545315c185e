"""Whether a run needs the learner to type a sudo password first.

The TUI never runs as root: the core runs only the probe through `sudo -n`.
When that would fail, the app suspends and lets `sudo -v` prompt on the
real terminal, which refreshes sudo's timestamp for the runs that follow."""

from __future__ import annotations

import os
import shutil
import subprocess


def needs_password() -> bool:
    """True when not root and sudo would ask for a password."""
    if os.geteuid() == 0 or shutil.which("sudo") is None:
        return False
    probe = subprocess.run(
        ["sudo", "-n", "true"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )
    return probe.returncode != 0


def refresh_sudo() -> bool:
    """Run `sudo -v` on the current terminal; True when it succeeded."""
    return subprocess.run(["sudo", "-v"], check=False).returncode == 0
