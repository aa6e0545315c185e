"""Benchmarks of the TUI, each reported as a ratio to a baseline measured in
the same run (no asserts: numbers for humans, see bench/README.md).

    .venv/bin/python bench/bench_tui.py            # all, ~1 minute
    .venv/bin/python bench/bench_tui.py --quick    # fewer repeats, 3 s flood

1. start-up: build_app to the first interactive frame, against a bare
   Textual app showing the same lesson markdown in one Markdown widget;
2. switching lessons (open + render the first section), against the bare
   app updating its Markdown with the whole lesson text;
3. rendering the longest lesson (the real course's and a 75 KB fixture):
   first section and every section in turn, against the whole text at once;
4. probe output at 50,000 lines/s for 10 s into the output widget: keys
   stay answered (latency of a tab switch while flooding), memory stays
   bounded (RSS growth), counts are exact (lines seen vs produced), against
   a bare Log fed one `write_line` per line via `call_from_thread`.

The runs use a scripted core (no BPF): these measure the UI, not the kernel.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Log, Markdown, TabbedContent

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from runner.course.load import load_course  # noqa: E402
from runner.model import Course, Lesson, Line, Recording, Report, Run  # noqa: E402
from runner.session import Session  # noqa: E402
from runner.tui.app import OUTPUT_MAX_LINES, CourseApp, build_app  # noqa: E402
from runner.workspace import Workspace  # noqa: E402

SIZE = (80, 24)
FIXTURE_LONG = REPO / "tests" / "tui" / "fixtures" / "lessons" / "03-long" / "README.md"


# ---------------------------------------------------------------- helpers


class BareMarkdownApp(App[None]):
    """The baseline: one Markdown widget with the whole text."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Markdown(self.text)


class BareLogApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Log(max_lines=OUTPUT_MAX_LINES)


RunLesson = Callable[..., Recording]  # runner.live.execute.run_lesson's shape


def quiet_session(course: Course, workspace: Workspace, run: RunLesson | None = None) -> Session:
    """The real session with a scripted runner: no BPF, no host probe."""

    def no_run(lesson: Lesson, probe: Path, **_: Any) -> Recording:
        raise RuntimeError("not used")

    return Session(
        course,
        workspace,
        run_lesson=run or no_run,
        grade=lambda lesson, recording: Report(lesson.id, "pass", 0, 0, []),
        detect=lambda **_: {},
        needs_password=lambda: False,
        ensure_tracefs=lambda: None,
    )


def our_app(course: Course, run: RunLesson | None = None, start: str | None = None) -> CourseApp:
    workspace = Workspace(Path(tempfile.mkdtemp(prefix="ebpfc-bench-")))
    return build_app(
        course,
        workspace,
        watch=False,
        session=quiet_session(course, workspace, run),
        start_lesson=start,
        needs_password=lambda: False,
    )


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def ratio(ours: float, base: float) -> str:
    return f"{ours / base:.2f}x" if base else "n/a"


async def timed(make: Callable[[], App], then: Callable[[Any], Any] | None = None) -> float:
    """Seconds from creating the app to its first frame after `then`."""
    started = time.perf_counter()
    app = make()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        if then is not None:
            started = time.perf_counter()
            await then(pilot)
            await pilot.pause()
        return time.perf_counter() - started


async def paired(
    repeats: int,
    ours: Callable[[], App],
    base: Callable[[], App],
    ours_then: Callable[[Any], Any] | None = None,
    base_then: Callable[[Any], Any] | None = None,
) -> tuple[float, float]:
    """Medians of ours and the baseline, measured alternately so that load
    from other processes on the machine hits both alike."""
    a, b = [], []
    for _ in range(repeats):
        a.append(await timed(ours, ours_then))
        b.append(await timed(base, base_then))
    return statistics.median(a), statistics.median(b)


# ---------------------------------------------------------------- benchmarks


async def bench_startup(course: Course, repeats: int) -> dict[str, Any]:
    lesson = course.lessons[0]
    text = lesson.text.read_text()
    ours, base = await paired(repeats, lambda: our_app(course), lambda: BareMarkdownApp(text))
    return {"lesson": lesson.id, "ours_s": ours, "baseline_s": base, "ratio": ratio(ours, base)}


async def bench_switch(course: Course, repeats: int) -> dict[str, Any]:
    async def switch_all(pilot: Any) -> None:
        for _ in course.lessons[1:]:
            await pilot.app.action_next_lesson()

    async def update_all(pilot: Any) -> None:
        markdown = pilot.app.query_one(Markdown)
        for lesson in course.lessons[1:]:
            await markdown.update(lesson.text.read_text())

    first = course.lessons[0].text.read_text()
    steps = len(course.lessons) - 1
    ours, base = await paired(
        repeats, lambda: our_app(course), lambda: BareMarkdownApp(first), switch_all, update_all
    )
    ours, base = ours / steps, base / steps
    return {"per_switch_ours_s": ours, "per_switch_baseline_s": base, "ratio": ratio(ours, base)}


async def bench_longest(course: Course, text_file: Path, repeats: int) -> dict[str, Any]:
    text = text_file.read_text()
    lesson = _lesson_with_text(course, text_file)
    single = Course(course.title, course.version, course.dir, [lesson])

    async def every_section(pilot: Any) -> None:
        for _ in pilot.app.sections[1:]:
            await pilot.app.action_section(1)

    ours_first, base = await paired(repeats, lambda: our_app(single), lambda: BareMarkdownApp(text))
    ours_all, _ = await paired(
        1, lambda: our_app(single), lambda: BareMarkdownApp(""), every_section
    )
    return {
        "file": str(text_file.relative_to(REPO)),
        "bytes": len(text.encode()),
        "sections": len(_sections(text)),
        "first_section_ours_s": ours_first,
        "every_section_in_turn_ours_s": ours_all,
        "whole_text_baseline_s": base,
        "ratio_first_frame": ratio(ours_first, base),
    }


def _sections(text: str) -> list[Any]:
    from runner.tui.sections import split_sections

    return split_sections(text)


def _lesson_with_text(course: Course, text_file: Path) -> Lesson:
    for lesson in course.lessons:
        if lesson.text == text_file:
            return lesson
    base = course.lessons[0]
    return Lesson(
        id="99-long",
        number=99,
        slug="long",
        title="Long fixture",
        dir=text_file.parent,
        text=text_file,
        starter=base.starter,
        solution=None,
        tests_dir=None,
    )


async def bench_flood(course: Course, rate: int, seconds: float) -> dict[str, Any]:
    """Ours: the scripted run pushes lines through on_line at `rate`/s."""
    total = int(rate * seconds)
    chunk = rate // 100  # 100 chunks a second, paced against the clock

    def produce(push: Callable[[int], None]) -> float:
        started = time.perf_counter()
        for c in range(total // chunk):
            for i in range(c * chunk, (c + 1) * chunk):
                push(i)
            ahead = started + (c + 1) / 100 - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)
        return time.perf_counter() - started

    produced: dict[str, float] = {}

    def run(lesson: Lesson, probe: Path, *, on_line: Any, **_: Any) -> Recording:
        produced["seconds"] = produce(lambda i: on_line("main", Line(0.0, "out", f"line {i}")))
        return Recording(lesson.id, str(probe), "", runs={"main": Run("main")})

    app = our_app(course, run)
    latencies: list[float] = []
    rss_before = rss_after = 0
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        rss_before = rss_kib()
        await pilot.press("r")
        tabs = app.query_one(TabbedContent)
        names = ["lesson", "output", "results", "hints"]
        while app.state.running is not None:
            # a key press, then the time until its effect (the tab) is on the app
            key = len(latencies) % 4
            started = time.perf_counter()
            app.simulate_key(str(key + 1))
            while tabs.active != names[key] and app.state.running is not None:
                await asyncio.sleep(0.002)
            latencies.append(time.perf_counter() - started)
            await asyncio.sleep(0.05)
        await pilot.pause()
        rss_after = rss_kib()
        log = app.query_one("#output-log", Log)
        last = log.lines[-1] if log.lines else ""
        ours = {
            "lines_produced": total,
            "lines_seen_by_ui": app.buffer.seen,
            "counts_exact": app.buffer.seen == total and last == f"main: line {total - 1}",
            "lines_kept_in_log": log.line_count,
            "producer_seconds": produced.get("seconds", 0.0),
            "key_latency_median_ms": 1000 * statistics.median(latencies) if latencies else None,
            "key_latency_max_ms": 1000 * max(latencies) if latencies else None,
            "keys_pressed": len(latencies),
            "rss_growth_mib": (rss_after - rss_before) / 1024,
        }

    # Baseline: one write_line per line via call_from_thread, for at most 2 s.
    base_app = BareLogApp()
    base_seconds = min(seconds, 2.0)
    async with base_app.run_test(size=SIZE) as pilot:
        log = base_app.query_one(Log)
        done = threading.Event()
        sent = {"n": 0}

        def feed() -> None:
            deadline = time.perf_counter() + base_seconds
            while time.perf_counter() < deadline:
                base_app.call_from_thread(log.write_line, f"line {sent['n']}")
                sent["n"] += 1
            done.set()

        thread = threading.Thread(target=feed)
        thread.start()
        while not done.is_set():
            await pilot.pause(0.05)
        thread.join()
    base_rate = sent["n"] / base_seconds
    ours_rate = total / max(ours["producer_seconds"], 1e-9)
    return {
        "ours": ours,
        "ours_lines_per_s": ours_rate,
        "baseline_lines_per_s": base_rate,
        "throughput_ratio": ratio(ours_rate, base_rate),
    }


# ---------------------------------------------------------------- main


async def main(quick: bool, only: str | None) -> dict[str, Any]:
    course = load_course(REPO)
    repeats = 2 if quick else 5
    longest = max((lesson.text for lesson in course.lessons), key=lambda p: p.stat().st_size)
    benches = {
        "startup": lambda: bench_startup(course, repeats),
        "switch_lessons": lambda: bench_switch(course, max(1, repeats // 2)),
        "longest_course_lesson": lambda: bench_longest(course, longest, repeats),
        "long_fixture_75kb": lambda: bench_longest(course, FIXTURE_LONG, max(1, repeats // 2)),
        "output_flood": lambda: bench_flood(course, 50_000, 3.0 if quick else 10.0),
    }
    return {name: await run() for name, run in benches.items() if only in (None, name)}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, a 3 s flood")
    parser.add_argument(
        "--only",
        choices=[
            "startup",
            "switch_lessons",
            "longest_course_lesson",
            "long_fixture_75kb",
            "output_flood",
        ],
        help="run one benchmark",
    )
    args = parser.parse_args()
    results = asyncio.run(main(args.quick, args.only))
    text = json.dumps(results, indent=2, default=str)
    print(text)
    out = REPO / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "last.json").write_text(text + "\n")
