"""Untrusted probe output loses everything a terminal would interpret."""

from __future__ import annotations

import pytest

from runner.live.textclean import decode_line, strip_controls


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\x1b[1;31mred\x1b[0m text", "red text"),
        ("\x1b[2J\x1b[Hcleared", "cleared"),
        ("\x1b[?25lhidden cursor\x1b[?25h", "hidden cursor"),
        ("\x1b]0;evil title\x07after", "after"),
        ("\x1b]8;;http://x.example\x1b\\link\x1b]8;;\x1b\\", "link"),
        ("\x1bPdevice control\x1b\\ok", "ok"),
        ("\x1b(Bcharset", "charset"),
        ("\x1b7saved\x1b8", "saved"),
        ("\x9b31mC1 CSI", "C1 CSI"),
        ("bell\x07 back\x08space", "bell backspace"),
        ("a\rb", "ab"),
        ("tab\tstays", "tab\tstays"),
        ("\u202eevil\u202c reversed", "evil reversed"),
        ("trailing lone escape\x1b", "trailing lone escape"),
        ("unterminated \x1b]0;title", "unterminated "),
        ("plain [brackets] and ~tilde~ stay", "plain [brackets] and ~tilde~ stay"),
        ("ünïcödé → ok", "ünïcödé → ok"),
    ],
)
def test_strip_controls(raw: str, clean: str) -> None:
    assert strip_controls(raw) == clean


def test_decode_line_replaces_bad_utf8_and_drops_newline() -> None:
    assert decode_line(b"ok \xff\xfe\x1b[32mgreen\x1b[0m\r\n") == "ok \ufffd\ufffdgreen"


def test_fake_pass_line_keeps_only_its_visible_text() -> None:
    # a probe cannot hide text or move the cursor to overwrite a verdict
    assert strip_controls("\x1b[1A\x1b[2KPASS all checks") == "PASS all checks"
