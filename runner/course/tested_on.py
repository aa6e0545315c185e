"""`tested-on.yaml`: which kernels each lesson's reference solution passed on.

The kernel matrix (`course validate --kernels all --record`) writes it next
to course.yaml; the lesson list, the TUI's lesson header and `course doctor`
read it to say "tested on 6.1, 6.12, 7.2" and to warn a learner whose
running kernel is older or newer than every kernel a lesson passed on.

```yaml
# Written by `course validate --kernels all --record`; do not edit by hand.
date: "2026-12-02"
bcc: "0.18.0"
kernels:            # name -> exact release booted
  "6.1": "6.1.0-57-amd64"
lessons:
  01-hello-kprobe:
    "6.1": {status: passed}
    "7.2": {status: failed, reason: "one sentence"}
```

A missing file is no information (None); a malformed one is one sentence
(TestedOnError, with file:line) and the rest of the course works without it.
Kernel names are versions ("6.12"); they sort by number, not as text.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.course.yamldoc import Doc, LoadError, read_doc

FILE_NAME = "tested-on.yaml"
HEADER = "# Written by `course validate --kernels all --record`; do not edit by hand.\n"
STATUSES = ("passed", "failed", "unsupported")
_VERSION = re.compile(r"^(\d+)\.(\d+)")


class TestedOnError(Exception):
    """tested-on.yaml cannot be read: one sentence, with file:line."""

    __test__ = False  # not a pytest test class, whatever its name says


@dataclass(frozen=True)
class KernelResult:
    status: str  # passed | failed | unsupported
    reason: str = ""


@dataclass
class TestedOn:
    __test__ = False

    date: str
    bcc: str
    kernels: dict[str, str] = field(default_factory=dict)  # name -> exact release booted
    lessons: dict[str, dict[str, KernelResult]] = field(default_factory=dict)

    # ------------------------------------------------------------ reading it

    def results(self, lesson_id: str) -> dict[str, KernelResult]:
        """The lesson's results by kernel name, oldest kernel first."""
        found = self.lessons.get(lesson_id, {})
        return {name: found[name] for name in sorted(found, key=kernel_key)}

    def with_status(self, lesson_id: str, status: str) -> list[str]:
        return [n for n, r in self.results(lesson_id).items() if r.status == status]

    def summary(self, lesson_id: str) -> str:
        """ "tested on 6.1, 6.12, 7.2", "tested on 6.1; failed on 7.2",
        "failed on 6.1", or "not tested" when the matrix did not run it."""
        parts = []
        for status, words in (
            ("passed", "tested on"),
            ("failed", "failed on"),
            ("unsupported", "unsupported on"),
        ):
            names = self.with_status(lesson_id, status)
            if names:
                parts.append(f"{words} {', '.join(names)}")
        return "; ".join(parts) or "not tested"

    def outside_tested(self, lesson_id: str, running_release: str) -> str | None:
        """A warning sentence when the running kernel (its major.minor) is
        older than the oldest or newer than the newest kernel the lesson
        passed on, or is a version it failed on; None otherwise (also when
        the release cannot be read or the lesson passed nowhere)."""
        running = version_of(running_release)
        if running is None:
            return None
        shown = f"{running[0]}.{running[1]}"  # first: a narrow header still shows it
        results = self.results(lesson_id)
        for name, result in results.items():
            if version_of(name) == running and result.status == "failed":
                why = f" ({result.reason.rstrip('.')})" if result.reason else ""
                return (
                    f"{lesson_id} failed on {name}, this kernel's version{why}; "
                    "its checks may fail here too."
                )
        passed = sorted(
            (v, n) for n in self.with_status(lesson_id, "passed") if (v := version_of(n))
        )
        if not passed:
            return None
        (low, low_name), (high, high_name) = passed[0], passed[-1]
        span = (
            f"{low_name}, the kernel" if low == high else f"{low_name} to {high_name}, the kernels"
        )
        if running < low:
            side = "older"
        elif running > high:
            side = "newer"
        else:
            return None
        return (
            f"This kernel, {shown}, is {side} than {span} {lesson_id} was tested on; "
            "it may behave differently here."
        )

    # ------------------------------------------------------------ writing it

    def to_dict(self) -> dict[str, Any]:
        return {
            "date": self.date,
            "bcc": self.bcc,
            "kernels": {n: self.kernels[n] for n in sorted(self.kernels, key=kernel_key)},
            "lessons": {
                lesson_id: {
                    name: {"status": r.status, **({"reason": r.reason} if r.reason else {})}
                    for name, r in self.results(lesson_id).items()
                }
                for lesson_id in sorted(self.lessons)
            },
        }


def version_of(name: str) -> tuple[int, int] | None:
    """(major, minor) of "6.12" or "6.12.95+deb12-amd64"; None when it has none."""
    m = _VERSION.match(name.strip())
    return (int(m.group(1)), int(m.group(2))) if m else None


def kernel_key(name: str) -> tuple[int, int, int, str]:
    """Sort kernel names by version ("6.1" < "6.12" < "7.2"), others last."""
    v = version_of(name)
    return (0, *v, name) if v else (1, 0, 0, name)


# ---------------------------------------------------------------- the file


def load_tested_on(course_dir: Path) -> TestedOn | None:
    """The course's tested-on.yaml; None when there is none. TestedOnError
    (one sentence with file:line) when it is malformed."""
    course_dir = Path(course_dir)
    path = course_dir / FILE_NAME
    if not path.exists() and not path.is_symlink():
        return None
    try:
        doc, problems = read_doc(path, course_dir)
    except LoadError as exc:
        raise TestedOnError(_sentence(str(exc))) from None
    if problems:
        raise TestedOnError(_sentence(str(problems[0])))
    return _parse(doc)


def _sentence(text: str) -> str:
    return text.rstrip(". ") + "."


def _parse(doc: Doc) -> TestedOn:
    def fail(at: tuple[str | int, ...], message: str) -> TestedOnError:
        return TestedOnError(f"{doc.where(at)}: {message}.")

    data = doc.data
    if not isinstance(data, dict):
        raise fail((), f"{FILE_NAME} must be a mapping with date, bcc, kernels and lessons")
    unknown = sorted(set(data) - {"date", "bcc", "kernels", "lessons"})
    if unknown:
        raise fail((unknown[0],), f"unknown key {unknown[0]!r} (keys: date, bcc, kernels, lessons)")
    texts = {}
    for key in ("date", "bcc"):
        value = data.get(key)
        if value is None or isinstance(value, bool | dict | list):
            raise fail((key,), f"{key!r} must be a string")
        texts[key] = str(value)
    kernels = data.get("kernels")
    if not isinstance(kernels, dict) or not kernels:
        raise fail(("kernels",), "'kernels' must map each kernel's name to the release booted")
    for name, release in kernels.items():
        if not isinstance(release, str | int | float) or isinstance(release, bool):
            raise fail(("kernels", name), f"kernel {name!r} must name the release it booted")
    lessons_raw = data.get("lessons")
    if lessons_raw is None:
        lessons_raw = {}
    if not isinstance(lessons_raw, dict):
        raise fail(("lessons",), "'lessons' must map lesson ids to their results by kernel")
    lessons: dict[str, dict[str, KernelResult]] = {}
    for lesson_id, by_kernel in lessons_raw.items():
        if not isinstance(by_kernel, dict):
            raise fail(("lessons", lesson_id), f"{lesson_id} must map kernel names to results")
        results = {}
        for name, raw in by_kernel.items():
            at = ("lessons", lesson_id, name)
            if name not in kernels:
                raise fail(at, f"{lesson_id} names kernel {name!r}, which 'kernels' does not list")
            if not isinstance(raw, dict) or raw.get("status") not in STATUSES:
                raise fail(
                    at + ("status",) if isinstance(raw, dict) else at,
                    f"{lesson_id} on {name}: status must be passed, failed or unsupported",
                )
            reason = raw.get("reason", "")
            extra = sorted(set(raw) - {"status", "reason"})
            if extra or not isinstance(reason, str):
                bad = extra[0] if extra else "reason"
                raise fail(at + (bad,), f"{lesson_id} on {name}: {bad!r} is not a string result")
            results[str(name)] = KernelResult(raw["status"], reason)
        lessons[str(lesson_id)] = results
    return TestedOn(
        date=texts["date"],
        bcc=texts["bcc"],
        kernels={str(k): str(v) for k, v in kernels.items()},
        lessons=lessons,
    )


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON's string syntax is valid YAML)."""
    import json

    return json.dumps(text, ensure_ascii=False)


def dump_tested_on(tested: TestedOn) -> str:
    """The file's text: the header comment, then a stable, diff-friendly layout."""
    data = tested.to_dict()
    lines = [HEADER, f"date: {_quoted(data['date'])}\n", f"bcc: {_quoted(data['bcc'])}\n"]
    lines.append("kernels:            # name -> exact release booted\n")
    for name, release in data["kernels"].items():
        lines.append(f"  {_quoted(name)}: {_quoted(release)}\n")
    lines.append("lessons:\n" if data["lessons"] else "lessons: {}\n")
    for lesson_id, results in data["lessons"].items():
        lines.append(f"  {lesson_id}:\n" if results else f"  {lesson_id}: {{}}\n")
        for name, result in results.items():
            fields = [f"status: {result['status']}"]
            if "reason" in result:
                fields.append(f"reason: {_quoted(result['reason'])}")
            lines.append(f"    {_quoted(name)}: {{{', '.join(fields)}}}\n")
    return "".join(lines)


def write_tested_on(course_dir: Path, tested: TestedOn) -> Path:
    """Write tested-on.yaml atomically (a temporary file renamed over it)."""
    course_dir = Path(course_dir)
    path = course_dir / FILE_NAME
    text = dump_tested_on(tested)
    fd, tmp = tempfile.mkstemp(prefix=".tested-on.", suffix=".tmp", dir=course_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
