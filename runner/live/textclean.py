"""Probe output is untrusted text: strip what a terminal would interpret.

Removes ECMA-48 escape sequences (CSI such as colours and cursor moves, OSC
such as window titles and hyperlinks, DCS/APC/PM/SOS strings, two-byte ESC
sequences), the remaining C0/C1 control characters except tab, and Unicode
bidirectional overrides that could make a line read differently than it is.
"""

from __future__ import annotations

import re

# Every escape starts with ESC or a C1 introducer; the lookahead lets the
# engine skip plain text quickly instead of trying each alternative there.
_ESCAPE_START = r"[\x1b\x90\x98\x9b\x9d-\x9f]"
_ESCAPES = re.compile(
    rf"(?={_ESCAPE_START})"
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
_HAS_ESCAPE = re.compile(_ESCAPE_START)


def strip_controls(text: str) -> str:
    """`text` without terminal control sequences or control characters."""
    # Most lines have none: one quick scan each, so a flood of long clean
    # lines costs the runner little CPU (every escape contains a _CONTROLS
    # character, so skipping both substitutions changes nothing).
    if _CONTROLS.search(text) is None:
        return text
    if _HAS_ESCAPE.search(text) is not None:
        text = _ESCAPES.sub("", text)
    return _CONTROLS.sub("", text)


def decode_line(raw: bytes) -> str:
    """One captured output line as clean text (invalid UTF-8 is replaced).

    Never more characters than `raw` has bytes, but not never more bytes:
    each undecodable byte becomes U+FFFD, which CPython cannot store in one
    byte, so the whole line is kept at 2 bytes per character (4 with one
    emoji). That is why 1 GiB of invalid UTF-8 once took 2.1 GB where 1 GiB
    of ASCII took 1.1 GB. runner.live.capture therefore charges every line
    its real size (sys.getsizeof) against its byte cap, and hands this
    function at most MAX_LINE_BYTES at a time.
    """
    return strip_controls(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
