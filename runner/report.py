"""`course report PATH...`: a class at a glance, one row per learner and lesson.

A PATH is a learner's workspace (its `.course/progress.json`, plus any
recording `course check --record` wrote inside it, `*.json` or `*.json.gz`),
a folder of recordings (the folder names the learner) or one recording file
(its folder names the learner, or the workspace it sits in). Recordings are
re-graded against the course, so their verdicts are the course's, not the
file's.

Per row: status, attempts and hints revealed (from progress; from the
recordings when there is no progress), time to pass (from the recordings: the
start of the first recorded attempt to the end of the first passing one; a
progress file keeps only when a lesson passed, not when work on it began, so
without recordings it is unknown), the checks the latest recording fails, and
the kernel it ran on (the recording's host facts, or the VM's kernel).

A progress file is the learner's own JSON, unsigned: nothing can prove it
true. What the report can do honestly is name claims that the course itself
never writes (SUSPECT_RULES), and say so; `forged` marks such a row. A
careful forger who writes a consistent file and edits the probe passes
unnoticed: grade where the learner cannot write (the learner-autograde
workflow runs `course check` itself).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import html
import io
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from runner.model import Course, Lesson, Recording, Report
from runner.progress import PROGRESS_VERSION, LessonState

MAX_RECORDING_BYTES = 64_000_000

SUSPECT_RULES = (
    "passed with zero attempts (the course counts every graded attempt)",
    "passed without a time of passing, or passed after its last run",
    "passed with fewer points than its maximum",
    "more hints revealed than the lesson has, plus one",
    "passed while the workspace probe is still the untouched starter",
    "passed, but every recording of it re-grades with a failing check",
)


class ReportError(Exception):
    """A path cannot be read as a workspace or recording (one sentence)."""


@dataclass
class Row:
    learner: str
    lesson: str
    status: str  # passed | failing | not-started | unsupported
    attempts: int = 0
    hints: int = 0
    score: int = 0
    max_score: int = 0
    passed_at: str | None = None
    time_to_pass: float | None = None  # seconds, from recordings
    failing: list[str] | None = None  # None: no recording to say
    kernel: str | None = None
    recordings: int = 0
    forged: bool = False
    suspect: list[str] = field(default_factory=list)  # why the row looks forged
    notes: list[str] = field(default_factory=list)  # stale or odd, not evidence

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Learner:
    name: str
    workspace: Path | None = None
    progress: dict[str, LessonState] | None = None
    progress_problem: str | None = None
    recordings: list[tuple[Path, Recording]] = field(default_factory=list)


# ---------------------------------------------------------------- reading


def read_recording(path: Path) -> Recording:
    try:
        raw = path.read_bytes()
        if path.name.endswith(".gz"):
            raw = gzip.decompress(raw)
        if len(raw) > MAX_RECORDING_BYTES:
            raise ValueError("it is larger than a recording may be")
        data = json.loads(raw.decode("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("lesson"), str):
            raise ValueError("it has no lesson id")
        if not isinstance(data.get("runs", {}), dict):
            raise ValueError("its runs are not a mapping")
        return Recording.from_dict(data)
    except OSError as exc:
        raise ReportError(f"Cannot read {path} ({exc.strerror}).") from None
    except (ValueError, TypeError, KeyError, AttributeError, EOFError) as exc:
        raise ReportError(
            f"{path} is not a recorded run ({str(exc).splitlines()[0] if str(exc) else exc!r}); "
            "give workspaces or files `course check --record` wrote."
        ) from None


def _is_recording_name(path: Path) -> bool:
    return path.name.endswith((".json", ".json.gz")) and path.name != "progress.json"


def _read_progress(path: Path) -> tuple[dict[str, LessonState] | None, str | None]:
    """The lessons of a progress file, read strictly and never moved (unlike
    runner.progress, which moves a corrupt file aside: this is not ours)."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(raw, dict) or not isinstance(raw.get("lessons"), dict):
            raise ValueError("it has no 'lessons' mapping")
        if raw.get("version") != PROGRESS_VERSION:
            raise ValueError(f"version {raw.get('version')!r} is not {PROGRESS_VERSION}")
        return {str(k): LessonState.from_dict(v) for k, v in raw["lessons"].items()}, None
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        return None, f"its progress file cannot be read ({exc.strerror})"
    except (ValueError, TypeError) as exc:
        return None, f"its progress file is not one the course writes ({exc})"


def _workspace_of(path: Path) -> Path | None:
    for parent in [path, *path.parents]:
        if (parent / ".course").is_dir():
            return parent
    return None


def gather(paths: Iterable[Path]) -> list[_Learner]:
    learners: dict[str, _Learner] = {}

    def learner(name: str) -> _Learner:
        return learners.setdefault(name, _Learner(name))

    for path in paths:
        path = Path(path)
        if path.is_dir():
            if (path / ".course").is_dir():
                who = learner(path.resolve().name)
                who.workspace = path
                who.progress, who.progress_problem = _read_progress(
                    path / ".course" / "progress.json"
                )
            else:
                who = learner(path.resolve().name)
            for found in sorted(path.rglob("*")):
                rel = found.relative_to(path).parts
                if ".course" in rel or "__pycache__" in rel or not found.is_file():
                    continue
                if _is_recording_name(found):
                    try:
                        who.recordings.append((found, read_recording(found)))
                    except ReportError:
                        continue  # a workspace may hold other JSON; named files must be runs
        elif path.is_file():
            home = _workspace_of(path.resolve().parent)
            who = learner((home or path.resolve().parent).name)
            who.recordings.append((path, read_recording(path)))
        else:
            raise ReportError(f"There is no {path}; give learners' workspaces or recordings.")
    return sorted(learners.values(), key=lambda x: x.name)


# ---------------------------------------------------------------- judging


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _start(recording: Recording) -> float:
    starts = [r.wall_started for r in recording.runs.values() if r.wall_started]
    return min(starts) if starts else 0.0


def _end(recording: Recording) -> float:
    ends = [r.wall_started + r.duration for r in recording.runs.values() if r.wall_started]
    return max(ends) if ends else 0.0


def _kernel(recording: Recording) -> str | None:
    if recording.where.startswith("vm:"):
        return f"{recording.where[3:]} (vm)"
    release = (recording.host or {}).get("kernel_release")
    return str(release) if release else None


def _time(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _grade(lesson: Lesson, recording: Recording) -> Report:
    from runner.grade import grade

    return grade(lesson, recording)


def _row(who: _Learner, lesson: Lesson, course: Course) -> Row:
    state = (who.progress or {}).get(lesson.id)
    recs = sorted((r for _, r in who.recordings if course.lesson(r.lesson) is lesson), key=_start)
    reports = [_grade(lesson, r) for r in recs]
    row = Row(who.name, lesson.id, "not-started", max_score=lesson.max_score)
    row.recordings = len(recs)
    if state is not None:
        row.status, row.attempts, row.hints = state.status, state.attempts, state.hints_revealed
        row.score, row.max_score, row.passed_at = state.score, state.max_score, state.passed_at
    elif reports:
        last = reports[-1]
        row.status = {"pass": "passed", "unsupported": "unsupported"}.get(last.status, "failing")
        row.attempts, row.score = len(reports), last.score
    if reports:
        row.failing = [c.id for c in reports[-1].checks if c.status != "pass"]
        row.kernel = _kernel(recs[-1])
        first_pass = next((i for i, rep in enumerate(reports) if rep.status == "pass"), None)
        if first_pass is not None and _start(recs[0]):
            row.time_to_pass = round(_end(recs[first_pass]) - _start(recs[0]), 1)
    if state is not None:
        row.suspect = _suspect(state, lesson, who, reports)
        if state.max_score != lesson.max_score and state.attempts:
            row.notes.append(
                f"scored out of {state.max_score}, the lesson now has {lesson.max_score} points"
            )
    row.forged = bool(row.suspect)
    return row


def _suspect(state: LessonState, lesson: Lesson, who: _Learner, reports: list[Report]) -> list[str]:
    """Claims runner.progress never writes (SUSPECT_RULES, in order)."""
    if state.status != "passed":
        return [SUSPECT_RULES[3]] if state.hints_revealed > len(lesson.hints) + 1 else []
    found = []
    if state.attempts == 0:
        found.append(SUSPECT_RULES[0])
    passed, last = _time(state.passed_at), _time(state.last_run)
    if passed is None or (last is not None and passed > last):
        found.append(SUSPECT_RULES[1])
    if state.score < state.max_score:
        found.append(SUSPECT_RULES[2])
    if state.hints_revealed > len(lesson.hints) + 1:
        found.append(SUSPECT_RULES[3])
    if who.workspace is not None and not lesson.starter_may_pass:
        probe = who.workspace / lesson.id / lesson.starter.name
        try:
            if _sha(probe.read_bytes()) == _sha(lesson.starter.read_bytes()):
                found.append(SUSPECT_RULES[4])
        except OSError:
            pass  # no probe in the workspace: nothing to compare
    # A check that cannot judge an old recording (made before the check, or
    # the evidence it reads, existed) is no sign of forgery; a failed one is.
    if reports and all(any(c.status in ("fail", "timeout") for c in r.checks) for r in reports):
        found.append(SUSPECT_RULES[5])
    return found


def class_report(paths: Iterable[Path], course: Course) -> list[Row]:
    """One row per learner and lesson of `course` (course order), plus a row
    for each lesson a progress file names that the course does not have."""
    rows: list[Row] = []
    for who in gather(paths):
        for lesson in course.lessons:
            rows.append(_row(who, lesson, course))
        for lesson_id in sorted(set(who.progress or {}) - {x.id for x in course.lessons}):
            rows.append(
                Row(
                    who.name,
                    lesson_id,
                    (who.progress or {})[lesson_id].status,
                    notes=["not a lesson of this course"],
                )
            )
        if who.progress_problem:
            for row in rows:
                if row.learner == who.name:
                    row.notes.append(who.progress_problem)
        unknown = sorted({r.lesson for _, r in who.recordings} - {x.id for x in course.lessons})
        for lesson_id in unknown:
            if course.lesson(lesson_id) is None:
                rows.append(
                    Row(
                        who.name, lesson_id, "failing", notes=["recorded lesson not in this course"]
                    )
                )
    return rows


# ---------------------------------------------------------------- rendering

COLUMNS = (
    "learner",
    "lesson",
    "status",
    "attempts",
    "hints",
    "time_to_pass",
    "failing",
    "kernel",
    "suspect",
)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, s = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{s:02d}s"
    hours, m = divmod(minutes, 60)
    return f"{hours}h{m:02d}m"


def cells(row: Row) -> dict[str, str]:
    status = row.status + (" (forged?)" if row.forged else "")
    return {
        "learner": row.learner,
        "lesson": row.lesson,
        "status": status,
        "attempts": str(row.attempts),
        "hints": str(row.hints),
        "time_to_pass": _duration(row.time_to_pass),
        "failing": "-" if row.failing is None else (", ".join(row.failing) or "none"),
        "kernel": row.kernel or "-",
        "suspect": "; ".join(row.suspect + row.notes) or "",
    }


def render_table(rows: list[Row]) -> str:
    table = [dict(zip(COLUMNS, COLUMNS, strict=True))] + [cells(r) for r in rows]
    widths = {c: min(40, max(len(t[c]) for t in table)) for c in COLUMNS}

    def line(t: dict[str, str]) -> str:
        parts = []
        for c in COLUMNS:
            text = t[c] if len(t[c]) <= widths[c] or c == "suspect" else t[c][: widths[c] - 1] + "…"
            parts.append(text.ljust(widths[c]) if c != "suspect" else text)
        return "  ".join(parts).rstrip()

    out = [line(table[0]), "  ".join("-" * widths[c] for c in COLUMNS).rstrip()]
    out += [line(t) for t in table[1:]]
    forged = sorted({r.learner for r in rows if r.forged})
    if forged:
        out.append(
            "forged?: rows whose progress claims what the course never writes "
            f"({', '.join(forged)})"
        )
    return "\n".join(out)


def render_csv(rows: list[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*COLUMNS[:-1], "forged", "suspect"])
    for row in rows:
        c = cells(row)
        writer.writerow(
            [c[k] if k != "status" else row.status for k in COLUMNS[:-1]]
            + [str(row.forged).lower(), c["suspect"]]
        )
    return buffer.getvalue()


def pass_counts(rows: list[Row]) -> list[tuple[str, int, int, int]]:
    """(lesson, passed, forged passes, learners) in course order."""
    order: dict[str, list[Row]] = {}
    for row in rows:
        order.setdefault(row.lesson, []).append(row)
    return [
        (
            lesson,
            sum(r.status == "passed" and not r.forged for r in group),
            sum(r.status == "passed" and r.forged for r in group),
            len(group),
        )
        for lesson, group in order.items()
    ]


def render_svg(rows: list[Row]) -> str:
    """A bar per lesson: how many learners passed it (forged passes apart)."""
    counts = pass_counts(rows)
    learners = max((n for *_, n in counts), default=1) or 1
    bar_w, gap, height, top, left = 44, 16, 160, 20, 30
    width = left + len(counts) * (bar_w + gap) + gap
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 70}" '
        f'role="img" aria-label="learners who passed each lesson">',
        f'<line x1="{left}" y1="{top + height}" x2="{width}" y2="{top + height}" stroke="#444"/>',
    ]
    for n in range(learners + 1):
        y = top + height - height * n / learners
        parts.append(
            f'<text x="{left - 6}" y="{y + 4:.0f}" text-anchor="end" font-size="11">{n}</text>'
        )
    for i, (lesson, passed, forged, _) in enumerate(counts):
        x = left + gap + i * (bar_w + gap)
        h = height * passed / learners
        fh = height * forged / learners
        y = top + height - h
        parts.append(
            f'<rect class="pass" x="{x}" y="{y:.1f}" width="{bar_w}" height="{h:.1f}" '
            f'fill="#2b7a3d"><title>{html.escape(lesson)}: {passed} passed</title></rect>'
        )
        if forged:
            parts.append(
                f'<rect class="forged" x="{x}" y="{y - fh:.1f}" width="{bar_w}" height="{fh:.1f}" '
                f'fill="none" stroke="#b00020" stroke-dasharray="4 2">'
                f"<title>{html.escape(lesson)}: {forged} forged?</title></rect>"
            )
        parts.append(
            f'<text x="{x + bar_w / 2:.0f}" y="{y - fh - 4:.0f}" text-anchor="middle" '
            f'font-size="12">{passed}{"+" + str(forged) + "?" if forged else ""}</text>'
        )
        parts.append(
            f'<text x="{x + bar_w / 2:.0f}" y="{top + height + 16}" text-anchor="middle" '
            f'font-size="11">{html.escape(lesson[:2])}</text>'
        )
        parts.append(
            f'<text x="{x + bar_w / 2:.0f}" y="{top + height + 30}" text-anchor="middle" '
            f'font-size="9">{html.escape(lesson[3:13])}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def render_html(rows: list[Row], title: str = "Class report") -> str:
    """A self-contained page: the pass chart (inline SVG) and the table; no
    script, no external asset."""
    head = "".join(f"<th>{html.escape(c.replace('_', ' '))}</th>" for c in COLUMNS)
    body = []
    for row in rows:
        c = cells(row)
        cls = "forged" if row.forged else row.status
        body.append(
            f'<tr class="{html.escape(cls)}">'
            + "".join(f"<td>{html.escape(c[k])}</td>" for k in COLUMNS)
            + "</tr>"
        )
    learners = sorted({r.learner for r in rows})
    rules = "".join(f"<li>{html.escape(r)}</li>" for r in SUSPECT_RULES)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #111; }}
table {{ border-collapse: collapse; font-size: 13px; }}
th, td {{ border: 1px solid #bbb; padding: 3px 7px; text-align: left; }}
th {{ background: #eee; }}
tr.passed td:nth-child(3) {{ color: #2b7a3d; font-weight: bold; }}
tr.failing td:nth-child(3) {{ color: #a15c00; }}
tr.forged td {{ background: #fde8ea; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{len(learners)} learners: {html.escape(", ".join(learners))}.</p>
<h2>Learners who passed each lesson</h2>
{render_svg(rows)}
<h2>Every learner and lesson</h2>
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(body)}
</tbody></table>
<h2>What "forged?" means</h2>
<p>A progress file is the learner's own, unsigned: a row is marked when it claims
something the course never writes:</p><ul>{rules}</ul>
<p>A consistent forgery is not detected; grade where learners cannot write.</p>
</body></html>
"""


# ---------------------------------------------------------------- autograding


def autograding(
    paths: Iterable[Path], course: Course, lessons: Iterable[Lesson] | None = None
) -> dict[str, Any]:
    """GitHub Classroom's autograding results (what its grading reporter reads,
    base64-encoded, from `<RUNNER>_RESULTS`): one test per check of the latest
    recording of each lesson, with the check's points. A lesson in `lessons`
    without a recording is one failing test worth all its points."""
    chosen = list(lessons) if lessons is not None else None
    recordings: dict[str, tuple[float, Recording]] = {}
    for who in gather(paths):
        for _, recording in who.recordings:
            lesson = course.lesson(recording.lesson)
            if lesson is None:
                continue
            if lesson.id not in recordings or _start(recording) >= recordings[lesson.id][0]:
                recordings[lesson.id] = (_start(recording), recording)
    tests: list[dict[str, Any]] = []
    max_score = 0
    for lesson in chosen if chosen is not None else course.lessons:
        found = recordings.get(lesson.id)
        if found is None:
            if chosen is None:
                continue
            max_score += lesson.max_score
            tests.append(_test(lesson, lesson.id, "fail", 0, lesson.max_score, "no recorded run"))
            continue
        report = _grade(lesson, found[1])
        max_score += report.max_score
        for c in report.checks:
            status = {"pass": "pass", "error": "error"}.get(c.status, "fail")
            tests.append(_test(lesson, c.id, status, c.points, c.max_points, c.message))
    status = "pass" if tests and all(t["status"] == "pass" for t in tests) else "fail"
    return {"version": 1, "status": status, "max_score": max_score, "tests": tests}


def _test(lesson: Lesson, name: str, status: str, score: int, most: int, message: str) -> dict:
    return {
        "name": f"{lesson.id}: {name}",
        "status": status,
        "score": score,
        "max_score": most,
        "message": message,
        "test_code": f"course check {lesson.code}",
        "filename": "",
        "line_no": 0,
        "execution_time": "",
    }
