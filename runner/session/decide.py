"""The pure decisions of the application layer: can this host run a
lesson (ONE function, `missing_feature`), where a check runs, whether sudo
is ready, which notes explain a run. Reasons carry no advice: the front
end that shows one adds the way out its user can follow."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from runner.model import Lesson, Line, Recording, Report
from runner.present.notes import Note, notes_for

OnLine = Callable[[str, Line], None]  # (step id, line), called from the running thread
OnEvent = Callable[[str, str], None]  # (step id, "started"|"ready"|"go"|"stopping"|"done")
OnProgress = Callable[[str], None]  # one VM boot or job step, as it happens
OnWarning = Callable[[str], None]  # something the user should know; the run goes on
VmMode = str  # "off" (here; refuse what this kernel cannot do) | "on" | "auto"

VM_MODES = ("off", "on", "auto")


class SessionError(Exception):
    """Something the user can fix; the message is one sentence."""


class Unsupported(SessionError):
    """This host cannot run the lesson; `reason` carries no advice."""

    def __init__(self, lesson: Lesson, need: str, reason: str, no_bpf: bool) -> None:
        self.lesson = lesson
        self.need = need
        self.reason = reason
        self.no_bpf = no_bpf  # nothing loads at all: privileges, not the kernel
        if no_bpf:
            text = f"Cannot load BPF programs here: {reason}."
        else:
            text = f"{lesson.id} needs {need}, and {reason}"
        super().__init__(text)


class RunLesson(Protocol):
    """runner.live.execute.run_lesson's shape (the real one is the default)."""

    def __call__(
        self,
        lesson: Lesson,
        probe: Path,
        *,
        python: str,
        host: dict[str, Any],
        on_line: OnLine | None = None,
        on_event: OnEvent | None = None,
        only: list[str] | None = None,
        cancel: threading.Event | None = None,
    ) -> Recording: ...


# runner.live.vm.run_in_vm: (course_dir, [VmJob], *, python, on_progress) -> {key: Recording}
RunInVm = Callable[..., dict[str, Recording]]
Grade = Callable[[Lesson, Recording], Report]


def lacked_privileges(facts: dict[str, Any] | None) -> bool:
    """Facts gathered while sudo wanted a password say nothing about the kernel."""
    facts = facts or {}
    bpf = (facts.get("features") or {}).get("bpf") or {}
    return not facts.get("root") and facts.get("sudo") == "password" and not bpf.get("ok")


def missing_feature(lesson: Lesson, facts: dict[str, Any] | None) -> tuple[str, str] | None:
    """THE decision "can this host run the lesson?": (feature, reason) for the
    first feature the lesson needs that this host failed to load or attach,
    or None. None too when the facts were gathered without root: the kernel
    is unknown until sudo works. The reason is the host's own sentence,
    without advice."""
    if lacked_privileges(facts):
        return None
    features = (facts or {}).get("features") or {}
    for need in lesson.requires:
        state = features.get(need)
        if state is not None and not state.get("ok", False):
            return need, state.get("reason") or f"this kernel cannot do {need}"
    return None


def unsupported_reason(lesson: Lesson, facts: dict[str, Any] | None) -> str | None:
    """Why this host cannot run the lesson (no advice), or None."""
    found = missing_feature(lesson, facts)
    return found[1] if found else None


def unsupported(lesson: Lesson, facts: dict[str, Any] | None) -> Unsupported | None:
    """The refusal to run a lesson here, or None when it can run."""
    found = missing_feature(lesson, facts)
    if found is None:
        return None
    bpf = ((facts or {}).get("features") or {}).get("bpf") or {}
    return Unsupported(lesson, found[0], found[1], no_bpf=bool(bpf) and not bpf.get("ok"))


def use_vm(mode: VmMode, lesson: Lesson, facts: dict[str, Any] | None) -> bool:
    """Where a check runs: "on" always in the VM, "auto" when this host cannot."""
    return mode == "on" or (mode == "auto" and missing_feature(lesson, facts) is not None)


def needs_password() -> bool:
    """Sudo readiness: True when the runner's real privileged command (the
    root guard) would make sudo ask for a password. Asking for exactly that
    command means the README's narrow sudoers rule counts as ready."""
    from runner.live.host import sudo_state

    return sudo_state() == "password"


def env_error(recording: Recording) -> str | None:
    """A runner-side problem (sudo, launch) rather than the learner's probe."""
    return next((r.error for r in recording.runs.values() if r.error), None)


def notes(report: Report | None, recording: Recording) -> list[Note]:
    """The notes shown for a run: none when it passed (runner.present.notes)."""
    if report is not None and report.status == "pass":
        return []
    return notes_for(recording)


def doctor_text(facts: dict[str, Any]) -> str:
    """The doctor table of host facts (runner.live.host.format_doctor)."""
    from runner.live.host import format_doctor

    return format_doctor(facts)
