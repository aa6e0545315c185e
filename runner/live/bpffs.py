"""What a probe left in the kernel after its processes are gone.

A BPF object lives while something refers to it: a process's fd, a pin in
bpffs, a link, an attachment. When the probe's processes have ended, their
fds are gone, so anything the run created that is still loaded is held by a
pin (or an fd-less attachment) and would keep running after the check.

`Baseline.take()` before the probe starts notes the pins under every bpffs
mount; `settle(baseline)` after the probe's processes are gone unlinks the
pins the run created (the kernel then frees what they held), waits briefly
for the kernel to free it, and returns what it removed and what is still
loaded. Only what the run's own pins reached counts: on a shared machine
other users' programs are loaded and freed meanwhile, and bpftool's `pids`
does not show every holder (a bcc tracepoint's perf event holds its
program), so "new and unheld" would blame the probe for others' programs.

Run by root only: the runner as root, else the root guard (so stdlib only,
importable from this file's own folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

MOUNTS = "/proc/self/mounts"
BPFTOOL_TIMEOUT = 10.0
FREE_WAIT = 1.5  # seconds the kernel gets to free objects after their pins go
# What the kernel itself puts at the top of every new bpffs mount when its
# bpf_preload module is loaded (BPF iterators, not removable): a probe that
# mounts bpffs during its run did not create these.
KERNEL_PRELOADED = ("maps.debug", "progs.debug")


def bpffs_mounts() -> list[str]:
    """Mount points of bpffs (type "bpf") in our mount namespace."""
    found = []
    try:
        with open(MOUNTS, encoding="utf-8", errors="replace") as mounts:
            for line in mounts:
                parts = line.split()
                if len(parts) >= 3 and parts[2] == "bpf":
                    point = parts[1].replace("\\040", " ")
                    if point not in found:
                        found.append(point)
    except OSError:
        pass
    return found


def pins() -> tuple[dict[str, int], set[str]]:
    """({pinned file: inode}, {folder}) under every bpffs mount, links not
    followed, without the kernel's own preloaded iterators."""
    files: dict[str, int] = {}
    folders: set[str] = set()
    for mount in bpffs_mounts():
        for top, dirs, names in os.walk(mount, followlinks=False):
            folders.update(os.path.join(top, d) for d in dirs)
            for name in names:
                if top == mount and name in KERNEL_PRELOADED:
                    continue
                path = os.path.join(top, name)
                with contextlib.suppress(OSError):
                    files[path] = os.lstat(path).st_ino
    return files, folders


def _bpftool() -> str | None:
    for candidate in (shutil.which("bpftool"), "/usr/sbin/bpftool", "/sbin/bpftool"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _show(what: str) -> list[dict[str, Any]] | None:
    """`bpftool -j WHAT show`, or None when bpftool cannot tell."""
    tool = _bpftool()
    if tool is None:
        return None
    try:
        done = subprocess.run(
            [tool, "-j", what, "show"],
            capture_output=True,
            text=True,
            timeout=BPFTOOL_TIMEOUT,
            check=False,
        )
        data = json.loads(done.stdout) if done.stdout.strip() else []
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None
    return [item for item in data if isinstance(item, dict)] if isinstance(data, list) else None


def _ids(items: list[dict[str, Any]] | None) -> set[int]:
    return {item["id"] for item in items or [] if isinstance(item.get("id"), int)}


@dataclass
class Baseline:
    files: dict[str, int] = field(default_factory=dict)  # pinned file -> inode
    folders: set[str] = field(default_factory=set)

    @classmethod
    def take(cls) -> Baseline:
        files, folders = pins()
        return cls(files, folders)


@dataclass
class Leftovers:
    removed: list[str] = field(default_factory=list)  # pins unlinked
    loaded: list[str] = field(default_factory=list)  # "raw_tracepoint program 12 (sys_enter)"

    def sentence(self) -> str | None:
        """One sentence for the Run, or None when the run left nothing."""
        if not self.removed and not self.loaded:
            return None
        parts = []
        if self.removed:
            shown = ", ".join(self.removed[:3]) + (" ..." if len(self.removed) > 3 else "")
            parts.append(
                f"pinned {len(self.removed)} BPF object{'s' if len(self.removed) != 1 else ''} "
                f"in bpffs that outlived it ({shown}; the runner removed the pins)"
            )
        if self.loaded:
            shown = ", ".join(self.loaded[:3]) + (" ..." if len(self.loaded) > 3 else "")
            parts.append(f"left {shown}")
        return (
            "The probe " + " and ".join(parts) + ": a probe must leave nothing in the kernel "
            "when it ends, so do not pin objects or attach them beyond the probe's lifetime."
        )

    def to_list(self) -> list[str]:
        return [f"pin {p}" for p in self.removed] + list(self.loaded)


def _pinned_object(path: str) -> tuple[str, dict[str, Any]] | None:
    """("prog" | "map" | "link", bpftool's description) of the object pinned at `path`."""
    tool = _bpftool()
    if tool is None:
        return None
    for kind in ("prog", "map", "link"):
        try:
            done = subprocess.run(
                [tool, "-j", kind, "show", "pinned", path],
                capture_output=True,
                text=True,
                timeout=BPFTOOL_TIMEOUT,
                check=False,
            )
            item = json.loads(done.stdout) if done.returncode == 0 and done.stdout else None
        except (OSError, subprocess.TimeoutExpired, ValueError):
            continue
        if isinstance(item, dict) and isinstance(item.get("id"), int):
            return kind, item
    return None


def _describe(kind: str, item: dict[str, Any]) -> str:
    name = item.get("name") or item.get("tp_name") or item.get("target_name")
    return f"{item.get('type', 'a')} {kind} {item['id']}" + (f" ({name})" if name else "")


def settle(baseline: Baseline) -> Leftovers:
    """Remove the pins created since `baseline` and report what the run left:
    the pins, and what they held if the kernel still has it afterwards (held
    by an attachment no pin or fd shows). Call it once the probe's processes
    are all gone. Only objects reached through the run's own pins are
    counted: on a shared machine, other users' programs come and go too."""
    found = Leftovers()
    files, folders = pins()
    held: list[tuple[str, dict[str, Any]]] = []
    for path in sorted(files):
        if baseline.files.get(path) == files[path]:
            continue  # there before the run
        obj = _pinned_object(path)
        try:
            os.unlink(path)
            found.removed.append(path)
        except OSError:
            found.loaded.append(f"pin {path} (could not be removed)")
        if obj is not None:
            held.append(obj)
    for folder in sorted(folders - baseline.folders, key=len, reverse=True):
        with contextlib.suppress(OSError):
            os.rmdir(folder)  # the run's own folders, once empty
    # Unpinned objects are freed asynchronously (RCU): give the kernel a moment.
    deadline = time.monotonic() + FREE_WAIT
    left = held
    while left:
        loaded = {kind: _ids(_show(kind)) for kind in {k for k, _ in left}}
        left = [(k, item) for k, item in left if item["id"] in loaded[k]]
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.1)
    found.loaded += [_describe(kind, item) + " still loaded" for kind, item in left]
    return found
