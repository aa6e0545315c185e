"""Plain data for the whole platform: what a course is, what a run recorded,
what grading concluded. No behaviour beyond (de)serialisation lives here, so
every other module can depend on it and nothing here depends on them."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

RECORDING_VERSION = 1
REPORT_VERSION = 1

Status = Literal["pass", "fail", "error", "timeout", "unsupported"]
STATUSES: tuple[str, ...] = ("pass", "fail", "error", "timeout", "unsupported")

# NN-slug; NNc-slug is the challenge of lesson NN (a further task that builds on it)
LESSON_ID = re.compile(r"^(\d{2})(c?)-([a-z0-9]+(?:-[a-z0-9]+)*)$")


def id_answers_to(lesson_id: str, key: str) -> bool:
    """Whether `key` names the lesson `lesson_id`: its id, slug or code ("06c"),
    or its number ("6", "06") when it is not a challenge."""
    match = LESSON_ID.match(lesson_id)
    if key == lesson_id or match is None:
        return key == lesson_id
    number, challenge, slug = match.groups()
    if key in (slug, number + challenge):
        return True
    return key.isdigit() and int(key) == int(number) and not challenge


# ---------------------------------------------------------------- the course


@dataclass(frozen=True)
class Where:
    """A place in a YAML file, for error messages an author can act on."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class CheckSpec:
    """One entry of a lesson's `checks:` list."""

    id: str
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    points: int = 1
    run: str = "main"  # id of the run (a RunSpec) whose Run this check reads
    hint: str = ""
    where: Where | None = None
    # the heading of the lesson text that teaches what the check judges (its text)
    section: str | None = None


@dataclass
class WorkloadSpec:
    kind: str  # a name registered in runner/workloads/
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class RunSpec:
    """One live step of a lesson: the probe started with `args` (or a plain
    `command`, e.g. the learner's pytest run), optionally with a workload."""

    id: str
    args: list[str] = field(default_factory=list)  # templated: {workload.pid} ...
    workload: WorkloadSpec | None = None
    ready: str | None = None  # regex meaning "attached"; None: no gate
    ready_timeout: float = 20.0
    timeout: float = 30.0  # wall-clock limit of the whole step
    stop: Literal["exit", "after-workload"] = "exit"
    settle: float = 1.0  # seconds between workload end and SIGINT
    command: list[str] | None = None  # run this instead of the probe
    where: Where | None = None


@dataclass
class Lesson:
    id: str  # "06-tracepoints"
    number: int  # 6
    slug: str  # "tracepoints"
    title: str
    dir: Path  # lessons/06-tracepoints
    text: Path  # the markdown file
    starter: Path  # lessons/NN/probe.py
    solution: Path | None  # solutions/NN/probe.py
    tests_dir: Path | None  # learner tests
    requires: list[str] = field(default_factory=list)  # kprobes, uprobes, ...
    runs: list[RunSpec] = field(default_factory=list)
    checks: list[CheckSpec] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    wrong: list[WrongVariant] = field(default_factory=list)
    starter_may_pass: bool = False
    where: Where | None = None
    # mutants of the solution that no check can tell apart (docs/evidence.md)
    equivalent_mutants: list[EquivalentMutant] = field(default_factory=list)
    # what the lesson list shows about it (all optional in lesson.yaml)
    minutes: int | None = None  # estimated time
    difficulty: str | None = None  # beginner | intermediate | advanced
    concepts: list[str] = field(default_factory=list)  # what it teaches
    prerequisites: list[str] = field(default_factory=list)  # ids of earlier lessons
    # kernel drift: a role (`open`) and the names its function has had, in the
    # order to try (`[do_filp_open, do_file_open]`); the runner records the one
    # the running kernel has as host.kernel_functions.<role> (runner/live/ksyms.py)
    kernel_functions: dict[str, list[str]] = field(default_factory=dict)

    def run_spec(self, run_id: str) -> RunSpec | None:
        return next((s for s in self.runs if s.id == run_id), None)

    @property
    def code(self) -> str:
        """What a learner types and the list shows: "06", or "06c" for the
        challenge of lesson 06 (its id is "06c-<slug>")."""
        return self.id.split("-", 1)[0]

    @property
    def challenge(self) -> bool:
        """A further task of lesson `number`, stated as a goal (NNc-slug)."""
        return self.code.endswith("c")

    def answers_to(self, key: str) -> bool:
        return id_answers_to(self.id, key)

    @property
    def max_score(self) -> int:
        return sum(c.points for c in self.checks)


@dataclass
class WrongVariant:
    """A known-wrong solution and the check it must fail."""

    path: Path
    must_fail: str  # a check id of the lesson
    why: str = ""
    # a feature (of the host facts) whose absence alone shows the mistake: where
    # the kernel has it, passing is no defect of the check (`# shows-without:`)
    shows_without: str | None = None


@dataclass
class EquivalentMutant:
    """A mutant of the solution the lesson declares harmless: (operator, line) of
    runner.mutation, and why no check can (or should) catch it."""

    operator: str
    line: int
    reason: str
    where: Where | None = None


@dataclass
class Course:
    title: str
    version: str
    dir: Path
    lessons: list[Lesson]

    def lesson(self, key: str) -> Lesson | None:
        """Find a lesson by id ("06-tracepoints"), number ("6", "06"), code
        ("06c", a challenge) or slug."""
        return next((lesson for lesson in self.lessons if lesson.answers_to(key.lower())), None)


# ---------------------------------------------------------------- a recording


@dataclass
class Line:
    t: float  # seconds since the probe started
    stream: Literal["out", "err"]
    text: str  # control sequences already stripped


@dataclass
class WorkloadTruth:
    """What the workload really did: the ground truth checks compare against."""

    kind: str
    pid: int  # tgid of the process that did the work
    tid: int  # thread that did the work (differs from pid for thread cases)
    comm: str
    started_ns: int = 0  # CLOCK_MONOTONIC
    ended_ns: int = 0
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """The recording of one RunSpec: everything a check may look at."""

    id: str  # the RunSpec it recorded
    argv: list[str] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)  # captured, capped
    stdout_lines: int = 0  # exact counts, including lines dropped by the cap
    stderr_lines: int = 0
    dropped: int = 0
    exit_code: int | None = None
    signal: int | None = None  # the signal that ended it, if any
    duration: float = 0.0
    ready: bool = False
    ready_at: float | None = None
    stop_reason: str = ""  # exited | stopped | timeout | not-ready | error
    started_ns: int = 0  # CLOCK_MONOTONIC at probe start
    ended_ns: int = 0
    # the wall clock at started_ns (time.time()) and local time's offset from
    # UTC then, so printed clock times can be judged (lesson 08's [HH:MM:SS.mmm])
    wall_started: float = 0.0
    utc_offset: int = 0
    workload: WorkloadTruth | None = None
    error: str | None = None  # the runner could not do its part (one sentence)
    unsupported: str | None = None  # this machine lacks what the step needs
    # kernel evidence: snapshots of the BPF objects the probe held ("ready", "stop"),
    # shaped as docs/evidence.md says, and the probe's processes
    evidence: list[dict[str, Any]] = field(default_factory=list)
    probe_pids: list[int] = field(default_factory=list)
    # the signals the runner had to send to stop the probe ("INT", then "TERM",
    # "KILL" when it ignored the one before): what ignoring Ctrl+C looks like
    signals_sent: list[str] = field(default_factory=list)
    # what the probe left in the kernel after its processes ended (pins the
    # runner removed, objects still loaded); non-empty fails the run (`error`)
    kernel_leftovers: list[str] = field(default_factory=list)
    # the kernel's own record of the probe's bpf() syscalls (ftrace; recorded when a
    # check kind asks, runner/live/bpfcalls.py): [{pid, tid, cmd, ret}] in order, ret
    # None when the call never returned; None when not recorded, and then
    # `bpf_calls_missing` is the one sentence saying why (None: nothing asked for it);
    # `bpf_calls_lost`: calls the kernel's trace buffer dropped
    bpf_calls: list[dict[str, Any]] | None = None
    bpf_calls_missing: str | None = None
    bpf_calls_lost: int = 0

    def out(self) -> list[str]:
        return [ln.text for ln in self.lines if ln.stream == "out"]

    def err(self) -> list[str]:
        return [ln.text for ln in self.lines if ln.stream == "err"]


@dataclass
class Recording:
    """Every Run of one `course check`, plus what grading needs besides."""

    lesson: str
    probe_path: str
    probe_source: str  # the learner's file as it was run (static checks)
    host: dict[str, Any] = field(default_factory=dict)  # runner.live.host facts
    runs: dict[str, Run] = field(default_factory=dict)
    version: int = RECORDING_VERSION
    where: str = "host"  # "host" or "vm:<kernel release>"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recording:
        runs = {}
        for key, raw in data.get("runs", {}).items():
            raw = dict(raw)
            if "scenario" in raw:  # recordings made before the rename
                raw.setdefault("id", raw.pop("scenario"))
            raw["lines"] = [Line(**ln) for ln in raw.get("lines", [])]
            if raw.get("workload"):
                raw["workload"] = WorkloadTruth(**raw["workload"])
            runs[key] = Run(**raw)
        return cls(
            lesson=data["lesson"],
            probe_path=data.get("probe_path", ""),
            probe_source=data.get("probe_source", ""),
            host=data.get("host", {}),
            runs=runs,
            version=data.get("version", RECORDING_VERSION),
            where=data.get("where", "host"),
        )


# ---------------------------------------------------------------- a verdict


@dataclass
class Verdict:
    """What one check kind concluded about one recording."""

    status: Status
    message: str  # one sentence a learner can act on
    expected: Any = None
    observed: Any = None


@dataclass
class CheckResult:
    id: str
    kind: str
    status: Status
    message: str
    expected: Any
    observed: Any
    points: int  # awarded
    max_points: int
    hint: str = ""
    section: str = ""  # the heading of the lesson text to read when it fails


@dataclass
class Report:
    lesson: str
    status: Status
    score: int
    max_score: int
    checks: list[CheckResult]
    where: str = "host"
    version: int = REPORT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "lesson": self.lesson,
            "status": self.status,
            "score": self.score,
            "max_score": self.max_score,
            "where": self.where,
            "checks": [dataclasses.asdict(c) for c in self.checks],
        }
