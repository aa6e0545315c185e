"""The mutation operators on small sources (pure: no kernel), and the gate on a
fixture lesson whose weak check lets a mutant survive."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

import pytest

from runner import mutation
from runner.model import CheckSpec, Course, EquivalentMutant, Lesson, RunSpec
from runner.mutation import (
    GATE_OPERATORS,
    OPERATOR_NAMES,
    OPERATORS,
    MutationReport,
    mutants,
    parse_source,
)
from runner.paths import SCHEMA_DIR


def probe(c: str = "", py: str = "") -> str:
    return (
        f'from bcc import BPF\n\nBPF_TEXT = r"""\n#include <uapi/linux/ptrace.h>\n{c}\n"""\n{py}\n'
    )


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


OPTIONS = (
    "import argparse\n"
    "def parse_args():\n"
    "    p = argparse.ArgumentParser()\n"
    '    p.add_argument("-d", "--duration", type=float, default=5)\n'
    "    args = p.parse_args()\n"
    "    if args.duration < 0:\n"
    '        p.error("no")\n'
    "    return args\n"
)

# operator -> (C text, Python text, the line the mutant changes, text the mutant holds)
CASES: dict[str, tuple[str, str, str, str]] = {
    "tgid-tid": (
        "int f(void *ctx) { u32 pid = bpf_get_current_pid_tgid() >> 32; return 0; }",
        "",
        "u32 pid =",
        "u32 pid = (u32)bpf_get_current_pid_tgid();",
    ),
    "drop-submit": (
        "int f(void *ctx) {\n    events.perf_submit(ctx, &ev, sizeof(ev));\n    return 0;\n}",
        "",
        "perf_submit",
        "\n    ;\n",
    ),
    "count-doubled": (
        "int f(void *ctx) {\n    counts.increment(pid);\n    return 0;\n}",
        "",
        "increment",
        "counts.increment(pid, 2);",
    ),
    "count-skipped": ("", "seen = 0\nseen += 1\n", "seen += 1", "seen = 0\npass\n"),
    "wrong-arg": (
        "int f(struct pt_regs *ctx) {\n    void *p = (void *)PT_REGS_PARM1(ctx);\n    return 0;\n}",
        "",
        "PT_REGS_PARM1",
        "PT_REGS_PARM2(ctx)",
    ),
    "wrong-clock": (
        "int f(void *ctx) {\n    u64 ts = bpf_ktime_get_ns();\n    return 0;\n}",
        "",
        "bpf_ktime_get_ns",
        "u64 ts = bpf_ktime_get_boot_ns();",
    ),
    "comm-truncated": (
        "int f(void *ctx) {\n    bpf_get_current_comm(&ev.comm, sizeof(ev.comm));\n"
        "    return 0;\n}",
        "",
        "bpf_get_current_comm",
        "bpf_get_current_comm(&ev.comm, 4);",
    ),
    "filter-inverted": (
        "int f(void *ctx) {\n    if (pid != TARGET)\n        return 0;\n    return 0;\n}",
        "",
        "if (pid",
        "if (pid == TARGET)",
    ),
    "filter-removed": (
        "int f(void *ctx) {\n    if (pid != TARGET)\n        return 0;\n    return 1;\n}",
        "",
        "if (pid",
        "int f(void *ctx) {\n    ;\n    return 1;\n}",
    ),
    "count-before-filter": (
        "int f(void *ctx) {\n    if (pid != TARGET)\n        return 0;\n"
        "    counts.increment(pid);\n    return 0;\n}",
        "",
        "if (pid",
        "counts.increment(pid); if (pid != TARGET)\n        return 0;",
    ),
    "option-ignored": (
        "",
        OPTIONS + "args = parse_args()\nend = args.duration\n",
        "end = args.duration",
        "end = 5\n",
    ),
    "one-cpu": (
        "",
        'b = None\nb.attach_perf_event(ev_type=1, ev_config=0, fn_name="f")\n',
        "attach_perf_event",
        "attach_perf_event(cpu=0, ev_type=1",
    ),
    "signed-cast-dropped": (
        "int f(void *ctx) {\n    ev.dfd = (int)args->dfd;\n    return 0;\n}",
        "",
        "ev.dfd",
        "ev.dfd = args->dfd;",
    ),
    "sort-reversed": (
        "",
        "rows = sorted({}.items(), key=lambda item: (-item[1], item[0]))\n",
        "rows = sorted",
        "key=lambda item: (item[1], item[0])",
    ),
    "top-n-changed": ("", "limit = 10\nrows = []\ntop = rows[:limit]\n", "top =", "top = rows[:1]"),
    "error-exit-zero": ("", "def main():\n    return 1\n", "return 1", "    return 0\n"),
    "stderr-to-stdout": (
        "",
        'import sys\nprint("no such binary", file=sys.stderr)\n',
        "print(",
        'print("no such binary")',
    ),
    "drain-dropped": (
        "",
        "b = None\nb.perf_buffer_poll(timeout=0)\n",
        "perf_buffer_poll",
        "b = None\npass\n",
    ),
    "kernel-read": (
        "int f(void *ctx) {\n    bpf_probe_read_user_str(&ev.name, sizeof(ev.name), p);\n"
        "    return 0;\n}",
        "",
        "bpf_probe_read_user_str",
        "bpf_probe_read_kernel_str(&ev.name",
    ),
    "branch-inverted": (
        "",
        "def main(loaded):\n    if loaded:\n        return 1\n    return 2\n",
        "if loaded",
        "    if not (loaded):\n",
    ),
}

PLAIN = probe(
    "int f(void *ctx) {\n    return 0;\n}",
    'def main():\n    print("hello")\n    return 0\n',
)


def test_every_operator_has_a_case_and_a_one_line_summary():
    assert set(CASES) == set(OPERATOR_NAMES)
    assert len(OPERATORS) >= 12
    for op in OPERATORS:
        assert op.summary and "\n" not in op.summary


@pytest.mark.parametrize("name", list(CASES))
def test_operator_plants_its_mistake_on_the_right_line(name: str):
    c, py, needle, expected = CASES[name]
    text = probe(c, py)
    op = next(o for o in OPERATORS if o.name == name)
    found = list(op.apply(parse_source(text)))
    assert found, f"{name} found nothing in:\n{text}"
    hit = [m for m in found if expected in m.source]
    assert hit, [m.source for m in found]
    assert hit[0].operator == name
    assert hit[0].line == line_of(text, needle)
    assert hit[0].description and "\n" not in hit[0].description
    compile(hit[0].source, "probe.py", "exec")


@pytest.mark.parametrize("name", list(CASES))
def test_operator_does_nothing_without_its_pattern(name: str):
    op = next(o for o in OPERATORS if o.name == name)
    assert list(op.apply(parse_source(PLAIN))) == []


def test_comments_docstrings_and_c_comments_are_not_code():
    text = probe(
        "// bpf_get_current_pid_tgid() >> 32 in a comment\n/* counts.increment(pid); */",
        '"""time.monotonic() in a docstring"""\n# file=sys.stderr in a comment\nx = 1\n',
    )
    assert mutants(text)[0] == []


def test_python_patterns_do_not_match_inside_the_c_text_and_back():
    text = probe("int f(void *ctx) { return 0; } // seen += 1", "x = 'bpf_ktime_get_ns()'\n")
    assert mutants(text)[0] == []


def test_two_changes_on_one_line_are_told_apart():
    text = probe("", OPTIONS + "args = parse_args()\nend = args.duration + args.duration\n")
    found = [m for m in mutants(text)[0] if m.operator == "option-ignored"]
    assert len(found) == 2
    assert found[0].description != found[1].description
    assert "end = 5 + args.duration" in found[0].source
    assert "end = args.duration + 5" in found[1].source


def test_validation_inside_the_parser_function_is_left_alone():
    text = probe("", OPTIONS)
    assert [m for m in mutants(text)[0] if m.operator == "option-ignored"] == []


def test_mutants_that_are_not_python_are_dropped_and_counted():
    def broken(src):
        yield mutation.Mutant("x", 1, "breaks it", "def (:\n")

    fake = mutation.Operator("x", "breaks it", broken)
    assert mutants(PLAIN, (fake,)) == ([], 1)


def test_schema_lists_exactly_the_operators():
    schema = json.loads((SCHEMA_DIR / "lesson.schema.json").read_text())
    items = schema["properties"]["equivalent_mutants"]["items"]
    assert tuple(items["properties"]["operator"]["enum"]) == OPERATOR_NAMES


def test_every_shipped_solution_yields_mutants():
    root = Path(__file__).resolve().parents[2] / "solutions"
    for path in sorted(root.glob("*/probe.py")):
        found, _ = mutants(path.read_text())
        assert found, path


# ---------------------------------------------------------------- the gate on a fixture

FIXTURE_PROBE = """\
import argparse
import sys


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", "--count", type=int, default=3)
    args = parser.parse_args()
    seen = 0
    for i in range(args.count):
        print(f"event {i}", flush=True)
        seen += 1
    print(f"Traced {seen} events", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
"""


def fixture_lesson(tmp_path: Path, equivalent: list[EquivalentMutant] | None = None) -> Lesson:
    solution = tmp_path / "solutions" / "99-weak" / "probe.py"
    solution.parent.mkdir(parents=True)
    solution.write_text(FIXTURE_PROBE)
    return Lesson(
        id="99-weak",
        number=99,
        slug="weak",
        title="A lesson with a weak check",
        dir=tmp_path / "lessons" / "99-weak",
        text=tmp_path / "README.md",
        starter=tmp_path / "probe.py",
        solution=solution,
        tests_dir=None,
        runs=[RunSpec(id="main", args=["-n", "5"], timeout=30)],
        # The total must equal the lines printed, but nothing checks that -n 5
        # printed 5: a probe that ignores -n passes.
        checks=[
            CheckSpec(
                "total",
                "counts.total",
                {"total": r"^Traced (?P<n>\d+) events$", "count": "^event "},
            )
        ],
        equivalent_mutants=equivalent or [],
    )


def can_run_probes() -> bool:
    return os.geteuid() == 0 or shutil.which("sudo") is not None


@pytest.mark.skipif(not can_run_probes(), reason="the runner starts probes as root or with sudo")
def test_gate_reports_the_survivor_of_a_weak_check_and_fails(tmp_path: Path):
    lesson = fixture_lesson(tmp_path)
    course = Course("fixture", "1", tmp_path, [lesson])
    report = mutation.run_mutation_gate(course, [lesson], {}, python=sys.executable)
    (lm,) = report.lessons
    assert not lm.errors, lm.errors
    by_op = {r.operator: r for r in lm.results}
    assert by_op["count-doubled"].status == "killed"
    assert by_op["count-skipped"].status == "killed"
    assert by_op["count-doubled"].killed_by == ["total"]
    survivor = by_op["option-ignored"]
    assert survivor.status == "survived"
    assert survivor.line == FIXTURE_PROBE.splitlines().index("    for i in range(args.count):") + 1
    assert not report.ok
    assert "SURVIVED 99-weak option-ignored" in report.text()
    suites = report.junit_suites()["99-weak mutants"]
    assert any(status == "fail" and "option-ignored" in name for name, status, _ in suites)
    assert not list(tmp_path.glob(".mutants-*")), "the mutant files are left behind"
    again = MutationReport.from_json(json.loads(json.dumps(report.to_json())))
    assert again.text() == report.text()


@pytest.mark.skipif(not can_run_probes(), reason="the runner starts probes as root or with sudo")
def test_a_declared_equivalent_passes_and_a_stale_one_is_an_error(tmp_path: Path):
    line = FIXTURE_PROBE.splitlines().index("    for i in range(args.count):") + 1
    lesson = fixture_lesson(
        tmp_path,
        [
            EquivalentMutant("option-ignored", line, "the fixture says so"),
            EquivalentMutant("tgid-tid", 3, "there is no such mutant"),
        ],
    )
    course = Course("fixture", "1", tmp_path, [lesson])
    report = mutation.run_mutation_gate(course, [lesson], {}, python=sys.executable)
    (lm,) = report.lessons
    assert [r.status for r in lm.results if r.operator == "option-ignored"] == ["equivalent"]
    assert not lm.survivors
    assert len(lm.errors) == 1 and "tgid-tid on line 3 matches no mutant" in lm.errors[0]
    assert not report.ok
    lesson.equivalent_mutants.pop()
    assert mutation.stale_declarations(lesson, mutants(FIXTURE_PROBE)[0]) == []


def test_a_lesson_this_kernel_cannot_run_is_unsupported_not_failed(tmp_path: Path):
    lesson = fixture_lesson(tmp_path)
    lesson.requires = ["kprobes"]
    course = Course("fixture", "1", tmp_path, [lesson])
    host = {"features": {"kprobes": {"ok": False, "reason": "CONFIG_KPROBES is not set"}}}
    report = mutation.run_mutation_gate(course, [lesson], host, python=sys.executable)
    (lm,) = report.lessons
    assert lm.results == [] and "CONFIG_KPROBES" in (lm.unsupported or "")
    assert report.ok
    assert "unsupported here" in report.text()


def test_markdown_table_has_a_row_per_operator_and_lists_what_was_not_killed():
    lm = mutation.LessonMutation(
        "99-weak",
        results=[
            mutation.MutantResult("tgid-tid", 3, "a", "killed", ["x"]),
            mutation.MutantResult("option-ignored", 9, "b | c", "survived"),
        ],
    )
    text = MutationReport([lm]).markdown()
    assert "| `tgid-tid` |" in text and "| 1/1 |" in text
    assert "| `option-ignored` |" in text and "| 0/1 |" in text
    assert "| 99-weak | `option-ignored` | 9 | b \\| c | survived |" in text
    assert text.count("\n| `") == len(GATE_OPERATORS)  # the error-path ones are off


def test_a_vm_sample_takes_one_operator_after_another() -> None:
    from runner.mutation import Mutant, sample_mutants

    found = [
        Mutant("a", 1, "a1", ""),
        Mutant("a", 2, "a2", ""),
        Mutant("b", 3, "b1", ""),
        Mutant("a", 4, "a3", ""),
        Mutant("c", 5, "c1", ""),
        Mutant("b", 6, "b2", ""),
    ]
    assert [m.description for m in sample_mutants(found, 3)] == ["a1", "b1", "c1"]
    assert [m.description for m in sample_mutants(found, 5)] == ["a1", "a2", "b1", "c1", "b2"]
    assert sample_mutants(found, 10) == found


def test_a_proven_solution_gets_no_baseline_run_in_the_vm(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`course validate --mutants` has just seen the solution pass there:
    only the mutants go to the VM (each a compile under emulation)."""
    from runner.live import vm
    from runner.model import Recording, Run

    lesson = fixture_lesson(tmp_path)
    lesson.requires = ["kprobes"]
    course = Course("fixture", "1", tmp_path, [lesson])
    host = {"features": {"kprobes": {"ok": False, "reason": "CONFIG_KPROBES is not set"}}}
    sent: list[list[vm.VmJob]] = []

    def fake_vm(course_dir, jobs, *, python, on_progress=None):
        sent.append(list(jobs))
        # every mutant printed nothing: the total check fails, each is killed
        return {j.key: Recording(lesson.id, str(j.probe_path), "", runs={"main": Run("main")})
                for j in jobs}  # fmt: skip

    monkeypatch.setattr(vm, "run_in_vm", fake_vm)
    for proven, baseline in ((frozenset(), True), (frozenset({lesson.id}), False)):
        sent.clear()
        report = mutation.run_mutation_gate(
            course, [lesson], host, vm_mode="auto", python=sys.executable, proven=proven
        )
        (jobs,) = sent
        assert any(j.probe_path == lesson.solution for j in jobs) is baseline
        assert all(j.stop_early for j in jobs if j.probe_path != lesson.solution)
        (lm,) = report.lessons
        if baseline:  # the baseline printed nothing either: no mutant is judged
            assert lm.errors and "reference solution does not pass" in lm.errors[0]
        else:
            assert lm.results and all(r.status == "killed" for r in lm.results), lm.results


@pytest.mark.skipif(not can_run_probes(), reason="the runner starts probes as root or with sudo")
def test_a_host_sample_runs_that_many_mutants_and_says_so(tmp_path: Path) -> None:
    lesson = fixture_lesson(tmp_path)
    course = Course("fixture", "1", tmp_path, [lesson])
    report = mutation.run_mutation_gate(course, [lesson], {}, python=sys.executable, host_sample=2)
    (lm,) = report.lessons
    assert lm.applied == 2 and len({r.operator for r in lm.results}) == 2
    (note,) = [n for n in lm.notes if n.startswith("sampled")]
    assert note.startswith("sampled: 2 of ") and "run here" in note


def test_a_mutant_stopped_early_in_the_vm_is_killed_by_the_step_that_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guest skips the steps after the first failing one: the verdict
    names that step's checks, not "not run" on the steps it skipped."""
    from runner.live import vm
    from runner.model import Recording, Run

    lesson = fixture_lesson(tmp_path)
    lesson.requires = ["kprobes"]
    lesson.runs.append(RunSpec(id="later", args=["-n", "1"], timeout=30))
    lesson.checks.append(
        CheckSpec(
            "later-total",
            "counts.total",
            {"total": r"^Traced (?P<n>\d+) events$", "count": "^event "},
            run="later",
        )  # fmt: skip
    )
    course = Course("fixture", "1", tmp_path, [lesson])
    host = {"features": {"kprobes": {"ok": False, "reason": "CONFIG_KPROBES is not set"}}}

    def fake_vm(course_dir, jobs, *, python, on_progress=None):
        return {j.key: Recording(lesson.id, str(j.probe_path), "", runs={"main": Run("main")})
                for j in jobs}  # fmt: skip

    monkeypatch.setattr(vm, "run_in_vm", fake_vm)
    report = mutation.run_mutation_gate(
        course, [lesson], host, vm_mode="auto", python=sys.executable,
        proven=frozenset({lesson.id}),
    )  # fmt: skip
    (lm,) = report.lessons
    assert lm.results and all(r.killed_by == ["total"] for r in lm.results), lm.results


def test_every_shipped_declaration_of_an_equivalent_mutant_still_matches() -> None:
    # an edit above a declared line (lesson 02's `import signal`) silently broke
    # two declarations, found only by the VM gate in CI: catch it in a second
    from runner.course.load import load_course
    from runner.mutation import mutants, stale_declarations

    repo = Path(__file__).resolve().parents[2]
    for lesson in load_course(repo).lessons:
        if lesson.solution is not None:
            found, _ = mutants(lesson.solution.read_text())
            assert stale_declarations(lesson, found) == [], lesson.id


def test_the_command_line_finds_lessons_and_challenges_by_their_names():
    repo = Path(__file__).resolve().parents[2]
    found = mutation._load(repo, ["06c", "5", "call-latency"])
    assert [lesson.id for lesson in found.lessons] == [
        "06c-open-results",
        "05-uprobes",
        "05c-call-latency",
    ]
    with pytest.raises(LookupError):
        mutation._load(repo, ["99c"])
