"""Kernel drift in function names: which of a lesson's alternatives
(`kernel_functions: {open: [do_filp_open, do_file_open]}` in lesson.yaml) the
running kernel has, read from /proc/kallsyms.

Names in kallsyms are readable without root (only the addresses are hidden),
so this works for a learner as for the runner. A name the kernel lists may
still be one kprobes refuse; that is the probe's failure to report, not ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

KALLSYMS = Path("/proc/kallsyms")


def text_symbols(path: Path = KALLSYMS) -> set[str] | None:
    """The kernel's function names (text symbols, modules' too), or None
    when kallsyms cannot be read."""
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    names = set()
    for line in lines:
        parts = line.split()
        if len(parts) >= 3 and parts[1] in ("t", "T"):
            names.add(parts[2])
    return names


def choose(alternatives: Mapping[str, list[str]], names: set[str] | None) -> dict[str, str]:
    """For each role, the first alternative the kernel has; the first one when
    it has none (or kallsyms was unreadable), so the probe's own error says
    what is missing."""
    chosen = {}
    for role, candidates in alternatives.items():
        present = [n for n in candidates if names is not None and n in names]
        chosen[role] = present[0] if present else candidates[0]
    return chosen
