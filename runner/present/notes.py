"""Why a probe process failed, in plain words, for `course check`.

Two sources: the last line of a Python traceback on the probe's stderr (a
crash, or a file that is not valid Python), and `runner.present.explain` for bcc /
clang / verifier errors. Each note is a dict with `title`, `cause`, `fix`
and `line` (the probe's line number, or None), the shape of an explainer
hint, so text and JSON output treat them alike. Pure: reads a Recording.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Any

from runner.model import Recording, Run

Note = dict[str, Any]

# The final line of a traceback: "NameError: name 'x' is not defined".
_EXCEPTION = re.compile(
    r"^(?P<type>[A-Za-z_][\w.]*(?:Error|Exception|Warning)|Exception)(?::\s*(?P<msg>.*))?$"
)
_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
# Exceptions that are the runner's own stop signal, not the learner's bug.
_EXPECTED = {"KeyboardInterrupt", "SystemExit", "BrokenPipeError"}
_SYNTAX = {"SyntaxError", "IndentationError", "TabError"}
# What Python prints when an exception (Ctrl+C's KeyboardInterrupt) is raised
# inside a ctypes callback such as bcc's perf or ring buffer callback.
_CALLBACK_IGNORED = "Exception ignored on calling ctypes callback function"
MAX_EXPLAINED = 3  # more hints than this bury the useful one


def crash_note(run: Run, probe_path: str) -> Note | None:
    """A note for a probe that died of an uncaught exception (or did not
    compile as Python), pointing at the probe's own line when it can."""
    err = run.err()
    for index in range(len(err) - 1, -1, -1):
        found = _EXCEPTION.match(err[index].strip())
        if not found:
            continue
        kind, message = found.group("type"), (found.group("msg") or "").strip()
        if kind.rsplit(".", 1)[-1] in _EXPECTED:
            return None
        line = _probe_line(err[:index], probe_path)
        what = f"{kind}: {message}" if message else kind
        where = f" at line {line} of the probe" if line else ""
        if kind in _SYNTAX:
            return {
                "title": "Your probe is not valid Python",
                "cause": f"Python could not read the file ({what}){where}.",
                "fix": "Fix the line Python points at (`course run` shows the full message), "
                "then check again.",
                "line": line,
            }
        return {
            "title": "Your probe stopped with an exception",
            "cause": f"It raised {what}{where}.",
            "fix": "Read the traceback (`course run` shows it in full) and fix the line it "
            "points at, then check again.",
            "line": line,
        }
    return None


def _probe_line(lines: list[str], probe_path: str) -> int | None:
    """The line of the innermost traceback frame in the probe file."""
    target = os.path.realpath(probe_path)  # the runner starts the resolved path
    for text in reversed(lines):
        frame = _FRAME.match(text)
        if frame and frame.group("file") == target:
            return int(frame.group("line"))
    return None


def explainer_notes(
    stderr: str, source: str | None, host: dict[str, Any] | None = None
) -> list[Note]:
    """runner.present.explain's hints as notes; none when it is absent or fails."""
    try:
        from runner.present.explain import explain
    except ImportError:  # the explainer is optional: the report stands alone
        return []
    try:
        hints = explain(stderr, source, host=host)
    except Exception as exc:  # a bug in the explainer must not hide the report
        print(f"warning: the error explainer failed ({exc!r}).", file=sys.stderr)
        return []
    return [
        {
            "title": str(getattr(h, "title", "")),
            "cause": str(getattr(h, "cause", "")),
            "fix": str(getattr(h, "fix", "")),
            "line": getattr(h, "line", None),
        }
        for h in hints[:MAX_EXPLAINED]
    ]


def notes_for(recording: Recording) -> list[Note]:
    """Every note for a recording whose probe may have failed."""
    notes: list[Note] = []
    stderr = "\n".join(line for run in recording.runs.values() for line in run.err())
    if stderr.strip():
        # The explainer knows bcc's errors: its hints say more than a bare
        # "Failed to compile BPF module", so they come first.
        notes += explainer_notes(stderr, recording.probe_source or None, recording.host or None)
    for run in recording.runs.values():
        note = crash_note(run, recording.probe_path) or early_exit_note(run)
        if note and note not in notes:
            notes.append(note)
        note = ignored_sigint_note(run)
        if note and note not in notes:
            notes.append(note)
    return notes


def ignored_sigint_note(run: Run) -> Note | None:
    """A probe that did not end on SIGINT (the runner's Ctrl+C): the runner had
    to send SIGTERM, maybe SIGKILL, and whatever it prints on exit was lost."""
    sent = list(getattr(run, "signals_sent", []) or [])
    if "TERM" not in sent:
        return None
    how = "SIGTERM and then SIGKILL" if "KILL" in sent else "SIGTERM"
    if any(line.startswith(_CALLBACK_IGNORED) for line in run.err()):
        # Not ignored on purpose: bcc's idiom of catching KeyboardInterrupt
        # around the poll loop loses it when Ctrl+C lands inside a callback.
        return {
            "title": "Your probe missed Ctrl+C inside a callback",
            "cause": "The runner's SIGINT (Ctrl+C) arrived while bcc was running your event "
            "callback; Python cannot raise KeyboardInterrupt out of a ctypes callback, so it "
            "printed 'Exception ignored on calling ctypes callback function' and your loop "
            f"went on until the runner sent {how}; a summary printed on exit never came.",
            "fix": "Install a SIGINT handler that only sets a flag, and end the loop on that "
            "flag (lesson 04, 'Stopping cleanly'): then Ctrl+C ends the loop wherever it lands.",
            "line": None,
        }
    return {
        "title": "Your probe ignored Ctrl+C",
        "cause": f"The runner sent SIGINT (Ctrl+C) to stop it, and it was still running "
        f"seconds later, so the runner had to send {how}; a summary printed on exit never "
        "came.",
        "fix": "Let Ctrl+C end the main loop: catch KeyboardInterrupt around it (do not "
        "ignore SIGINT or swallow the exception in a bare `except:`), print the summary, "
        "then exit.",
        "line": None,
    }


def early_exit_note(run: Run) -> Note | None:
    """A probe that ended by itself before its ready line: the workload never
    ran, so every check on it fails for that one reason."""
    if run.ready or run.stop_reason != "exited" or run.error or run.unsupported:
        return None
    status = f"status {run.exit_code}" if run.exit_code is not None else "a signal"
    said = f" Its last words: {run.err()[-1]!r}." if run.err() else ""
    refused = _refused_options(run)
    if refused is not None:
        return {
            "title": "Your probe does not take the options the lesson runs it with",
            "cause": f"argparse refused {refused} and exited with {status} before the ready "
            "line, so the workload never ran.",
            "fix": f"Add {refused} to your probe's parse_args (the lesson's Goal says what "
            "each option does), then check again.",
            "line": None,
        }
    return {
        "title": "Your probe ended before it was ready",
        "cause": f"It exited with {status} before printing its ready line, so the workload "
        f"never ran.{said}",
        "fix": "Keep the probe running until Ctrl+C (SIGINT) and print the ready line once "
        "it is attached; `course run` shows everything it printed.",
        "line": None,
    }


# argparse's last stderr line for an unknown option: "probe.py: error: unrecognized arguments: -c"
_UNRECOGNIZED = re.compile(r"error: unrecognized arguments: (?P<args>.+)$")


def _refused_options(run: Run) -> str | None:
    """The options argparse refused ("-c"), when that is why the probe ended."""
    err = run.err()
    found = _UNRECOGNIZED.search(err[-1].strip()) if err else None
    if found is None:
        return None
    options = [a for a in found.group("args").split() if a.startswith("-")]
    return ", ".join(options) if options else found.group("args").strip()


def format_notes(notes: list[Note]) -> str:
    """Notes as text lines under a report."""
    lines = ["Why it may have failed:"] if notes else []
    for note in notes:
        at = f" (line {note['line']})" if note.get("line") else ""
        lines.append(f"  • {note['title']}{at}: {note['cause']}")
        if note.get("fix"):
            lines.append(f"    Fix: {note['fix']}")
    return "\n".join(lines)
