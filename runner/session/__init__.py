"""The application layer under `course` (runner/cli.py) and `course start`
(runner/tui/): every user action is one method of `Session`, so the two
front ends cannot drift. It decides where a lesson runs (here or in the
VM) and whether this host can run it at all, whether sudo is ready, which
notes explain a failed run, how progress changes after a check, which
hints to show and when the solution unlocks.

Front ends only parse input, render and map outcomes to exit codes or
widgets. Reasons returned here never carry advice ("run it with --vm");
the front end that shows a reason adds the advice its user can follow.

Nothing here imports Textual; the runner modules (execute, grade, host,
vm) are imported lazily so `course --help` and the TUI start fast, and
tests inject a fake `run_lesson`/`run_in_vm`/`grade` to need no root."""

from runner.session.core import Session, vm_progress_lines
from runner.session.decide import (
    VM_MODES,
    Grade,
    OnEvent,
    OnLine,
    OnProgress,
    OnWarning,
    RunInVm,
    RunLesson,
    SessionError,
    Unsupported,
    VmMode,
    doctor_text,
    env_error,
    lacked_privileges,
    missing_feature,
    needs_password,
    notes,
    unsupported,
    unsupported_reason,
    use_vm,
)
from runner.session.results import CheckOutcome, Doctor, Hints, LessonRow, SolutionGate

__all__ = [
    "VM_MODES",
    "CheckOutcome",
    "Doctor",
    "Grade",
    "Hints",
    "LessonRow",
    "OnEvent",
    "OnLine",
    "OnProgress",
    "OnWarning",
    "RunInVm",
    "RunLesson",
    "Session",
    "SessionError",
    "SolutionGate",
    "Unsupported",
    "VmMode",
    "doctor_text",
    "env_error",
    "lacked_privileges",
    "missing_feature",
    "needs_password",
    "notes",
    "unsupported",
    "unsupported_reason",
    "use_vm",
    "vm_progress_lines",
]
