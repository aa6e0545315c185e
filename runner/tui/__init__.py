"""The terminal UI of `course start` (the only package that imports Textual).

`build_app` lives in `runner.tui.app`; import it from there so that importing
this package stays cheap."""
