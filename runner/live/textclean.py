"""Probe output is untrusted text: strip what a terminal would interpret.

Removes ECMA-48 escape sequences (CSI such as colours and cursor moves, OSC
such as window titles and hyperlinks, DCS/APC/PM/SOS strings, two-byte ESC
sequences), the remaining C0/C1 control characters except tab, and Unicode
bidirectional overrides that could make a line read differently than it is.
"""

from __future__ import annotations

import re

_ESCAPES = re.compile(
    r"""
    (?: \x1b\[ | \x9b ) [\x30-\x3f]* [\x20-\x2f]* [\x40-\x7e]      # CSI ... final byte
  | (?: \x1b[\]PX^_] | [\x90\x98\x9d\x9e\x9f] ) .*? (?: \x07 | \x1b\\ | \x9c | $ )  # strings
  | \x1b [\x20-\x2f]* [\x30-\x7e]                                    # other ESC sequences
  | \x1b                                                             # a lone ESC
    """,
    re.VERBOSE | re.DOTALL,
)
# C0 controls except tab, DEL, C1 controls, bidi embeddings/overrides/isolates.
_CONTROLS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def strip_controls(text: str) -> str:
    """`text` without terminal control sequences or control characters."""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def decode_line(raw: bytes) -> str:
    """One captured output line as clean text (invalid UTF-8 is replaced)."""
    return strip_controls(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
