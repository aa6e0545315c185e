"""docs.expected_output / docs.pytest_command against the lesson text."""

from recordings import judge, make_ctx, make_lesson, make_run

from checks.docs import doc_output_blocks, output_shape
from runner.course.markdown import fenced_blocks
from runner.model import RunSpec

TEXT = """\
# Reading data

Run it:

```bash
sudo python probe.py -d 5
```

## What you will see

```output
Attached to do_sys_openat2. Ctrl+C to end.
[<pid>] <comm>: dfd=-100, timestamp=1234567890123
...
[4242] ebpfc-open: dfd=3, timestamp=1234567890999

```

## Tests

Delete the skip line, then:

```console
$ cd ~/ebpf-course/02-reading-data && python3 -m pytest -q tests
3 passed in 0.04s
```
"""

SOLUTION_OUT = [
    "Attached to do_sys_openat2. Ctrl+C to end.",
    "[812] systemd-journal: dfd=-100, timestamp=2100000000",
    "[4242]  ebpfc-open: dfd=7, timestamp=2100000123   ",
]

WRONG_DOC = TEXT.replace("dfd=-100, timestamp=1234567890123", "syscall_nr=257, timestamp=1")


def ctx_for(tmp_path, text=TEXT, out=SOLUTION_OUT, command=None, argv=()):
    run_specs = [RunSpec(id="main", args=["-d", "5"])]
    if command:
        run_specs.append(RunSpec(id="tests", command=command))
    lesson = make_lesson(tmp_path, text, run_specs)
    run = make_run(out, run_id="tests" if command or argv else "main", argv=list(argv))
    return make_ctx(run, lesson=lesson)


def test_doc_output_blocks_give_line_numbers():
    blocks = doc_output_blocks(TEXT)
    assert len(blocks) == 1
    block = blocks[0]
    assert block.line == 12 and block.lines[0].startswith("Attached to")
    assert block.heading == "What you will see"
    assert TEXT.splitlines()[block.line - 1 + 3].startswith("[4242]")


def _blocks(text, section=None):
    return [(b.line, list(b.lines)) for b in doc_output_blocks(text, section)]


def test_fences_with_tildes_longer_markers_and_sections():
    # The last fence is never closed: CommonMark runs it to the end of the document.
    text = (
        "# A\n~~~~ output\n```\nnot a close\n~~~~\n## B\n```output x\nb\n```\n# C\n```output\nc\n"
    )
    assert _blocks(text) == [(3, ["```", "not a close"]), (8, ["b"]), (12, ["c"])]
    assert _blocks(text, section="a") == [(3, ["```", "not a close"]), (8, ["b"])]
    assert [b.lang for b in fenced_blocks(text, section="B")] == ["output"]
    assert [(b.info, b.headings) for b in fenced_blocks(text)] == [
        ("output", ("A",)),
        ("output x", ("A", "B")),
        ("output", ("C",)),
    ]


def test_a_heading_inside_a_shell_block_scopes_nothing():
    text = "## Run\n```bash\n## Tests\npython -m pytest\n```\n```output\nok\n```\n"
    assert _blocks(text, section="Run") == [(7, ["ok"])]
    assert _blocks(text, section="Tests") == []


def test_indented_code_and_quoted_fences_follow_commonmark():
    # Four spaces at top level make an indented code block, not a fence; a
    # fence in a block quote loses its `> `.
    text = "Text:\n\n    ```output\n    x\n    ```\n\n> ```output\n> y\n> ```\n"
    assert _blocks(text) == [(8, ["y"])]


def test_shapes():
    shape = output_shape("[<pid>] <comm>: dfd=-100, ts=0x7f3a addr deadbeef01")
    assert shape.fullmatch("[1] a b: dfd=4294967196, ts=0xFFFF addr 00ab12cd34ef")
    assert not shape.fullmatch("[1] a: syscall_nr=257, ts=0x1 addr 12345678")
    assert output_shape("CPU 0: 12 samples ...").fullmatch("CPU 1: 3 samples (12%)")


def test_expected_output_matches_the_solution(tmp_path):
    v = judge("docs.expected_output", {}, ctx_for(tmp_path))
    assert v.status == "pass", v.message
    assert v.expected["doc_lines"] == 3


def test_doc_showing_output_the_probe_cannot_print_fails_with_its_line(tmp_path):
    v = judge("docs.expected_output", {}, ctx_for(tmp_path, text=WRONG_DOC))
    assert v.status == "fail"
    # Said to the learner: the shape expected (numbers as <number>) and where it is shown.
    assert v.message.startswith(
        "Your probe printed no line shaped like '[<pid>] <comm>: syscall_nr=<number>, "
        "timestamp=<number>' (the expected output, README.md line 13)"
    )
    assert "writing <name> for values that vary" not in v.message  # an author's advice
    assert v.expected["line"] == 13


def test_expected_output_section_and_missing_blocks(tmp_path):
    ctx = ctx_for(tmp_path)
    assert judge("docs.expected_output", {"section": "What you will see"}, ctx).status == "pass"
    v = judge("docs.expected_output", {"section": "Tests"}, ctx)
    assert v.status == "fail" and "no ```output block under the heading 'Tests'" in v.message


def test_docs_need_the_lesson(tmp_path):
    ctx = make_ctx(make_run(SOLUTION_OUT))
    assert judge("docs.expected_output", {}, ctx).status == "error"
    assert judge("docs.expected_output", {"section": ""}, ctx_for(tmp_path)).status == "error"


PYTEST = ["{python}", "-m", "pytest", "-q", "tests"]


def test_documented_course_test_is_the_run(tmp_path):
    text = TEXT.replace("python3 -m pytest -q tests", "./course test 99")
    v = judge("docs.pytest_command", {}, ctx_for(tmp_path, text=text, command=PYTEST))
    assert v.status == "pass", v.message
    assert v.observed == [{"line": 24, "command": ["./course", "test", "99"]}]
    assert "`./course test 99`" in v.message
    for typed in ("course test 99", "course --workspace ~/ws test test", "./course test 99-test"):
        text = TEXT.replace("python3 -m pytest -q tests", typed)
        v = judge("docs.pytest_command", {}, ctx_for(tmp_path, text=text, command=PYTEST))
        assert v.status == "pass", (typed, v.message)


def test_course_test_with_pytest_args_is_what_it_runs(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_probe.py").write_text("")
    runs = ["{python}", "-m", "pytest", "-q", "tests", "-rA"]
    text = TEXT.replace("python3 -m pytest -q tests", "./course test 99 -rA")
    assert judge("docs.pytest_command", {}, ctx_for(tmp_path, text=text, command=runs)).status == (
        "pass"
    )
    # a file of its own replaces `tests`
    runs = ["{python}", "-m", "pytest", "-q", "tests/test_probe.py"]
    text = TEXT.replace("python3 -m pytest -q tests", "./course test 99 tests/test_probe.py")
    v = judge("docs.pytest_command", {}, ctx_for(tmp_path, text=text, command=runs))
    assert v.status == "pass", v.message
    # documented extra args the run does not have
    text = TEXT.replace("python3 -m pytest -q tests", "./course test 99 -x")
    v = judge("docs.pytest_command", {}, ctx_for(tmp_path, text=text, command=PYTEST))
    assert v.status == "fail" and "document `./course test 99`" in v.message


def test_course_test_of_another_lesson_fails(tmp_path):
    text = TEXT.replace("python3 -m pytest -q tests", "./course test 07")
    v = judge("docs.pytest_command", {}, ctx_for(tmp_path, text=text, command=PYTEST))
    assert v.status == "fail" and "another lesson" in v.message
    assert "`./course test 99`" in v.message


def test_a_bare_python_is_not_the_course_interpreter(tmp_path):
    # BUG: `python -m pytest` in a learner's shell lacks bcc or pytest
    v = judge("docs.pytest_command", {}, ctx_for(tmp_path, command=PYTEST))
    assert v.status == "fail"
    assert "line 24 runs `python3 -m pytest -q tests`" in v.message
    assert "not the course's interpreter" in v.message
    assert "document `./course test 99`" in v.message


def test_a_run_course_test_cannot_say_is_documented_as_is(tmp_path):
    runs = ["{python}", "-m", "pytest", "-rA", "tests"]
    text = TEXT.replace("python3 -m pytest -q tests", "python -m pytest -rA tests")
    v = judge("docs.pytest_command", {}, ctx_for(tmp_path, text=text, command=runs))
    assert v.status == "pass", v.message


def test_documented_command_that_runs_nothing_fails(tmp_path):
    text = TEXT.replace("python3 -m pytest -q tests", "./course test 99")
    text += "\n```bash\n# then\npython -m pytest -q tests -- --ignored\n```\n"
    v = judge("docs.pytest_command", {}, ctx_for(tmp_path, text=text, command=PYTEST))
    assert v.status == "fail"
    assert "line 30 runs `python -m pytest -q tests -- --ignored`" in v.message
    assert "`python -m pytest -q tests`" in v.message
    assert "document `./course test 99`" in v.message


def test_a_bare_pytest_is_not_the_same_command(tmp_path):
    text = "```sh\npytest -q \\\n  tests\n```\n"
    v = judge("docs.pytest_command", {}, ctx_for(tmp_path, text=text, command=PYTEST))
    assert v.status == "fail" and "line 2 runs `pytest -q tests`" in v.message


def test_no_documented_pytest_command_fails(tmp_path):
    text = "```bash\npip install pytest\necho python -m pytest\necho course test 99\n```\n"
    v = judge("docs.pytest_command", {}, ctx_for(tmp_path, text=text, command=PYTEST))
    assert v.status == "fail" and "documents no command that runs the learner tests" in v.message
    assert "add `./course test 99`" in v.message


def test_recorded_argv_is_used_without_a_lesson_command(tmp_path):
    argv = ["/usr/bin/python3.11", "-m", "pytest", "-q", "tests"]
    text = TEXT.replace("python3 -m pytest -q tests", "./course test 99")
    v = judge("docs.pytest_command", {}, ctx_for(tmp_path, text=text, argv=argv))
    assert v.status == "pass", v.message
    assert judge("docs.pytest_command", {"x": 1}, ctx_for(tmp_path, argv=argv)).status == "error"


def test_literal_values_in_docs_fail_and_the_closest_line_is_shown(tmp_path):
    text = "```output\nuprobe triggered! pid=812 comm=cron\n```\n"
    out = ["Attached.", "uprobe triggered! pid=26651 comm=ebpfc-getenv"]
    v = judge("docs.expected_output", {}, ctx_for(tmp_path, text=text, out=out))
    assert v.status == "fail"
    assert "closest line it printed is 'uprobe triggered! pid=26651 comm=ebpfc-getenv'" in v.message
    fixed = text.replace("comm=cron", "comm=<comm>")
    assert (
        judge("docs.expected_output", {}, ctx_for(tmp_path, text=fixed, out=out)).status == "pass"
    )


SNIPPETS = """\
# Events

```python
import asyncio
from bcc import BPF
from probe import format_event

async def main():
    await asyncio.sleep(0)
```

```python
async def main():
    asyncio.run(other())
```
"""


def test_snippets_flag_nested_loops_and_undeclared_imports_by_doc_line(tmp_path):
    v = judge("docs.snippets", {}, ctx_for(tmp_path, text=SNIPPETS))
    assert v.status == "fail"
    assert v.message.startswith("README.md line 14: asyncio.run() inside the coroutine main()")
    bad = SNIPPETS.replace("from bcc import BPF", "import rich")
    v = judge("docs.snippets", {}, ctx_for(tmp_path, text=bad))
    assert v.observed[0] == {"line": 5, "message": v.observed[0]["message"]}
    assert "'rich' is third-party" in v.observed[0]["message"]


def test_snippets_pass_and_syntax_errors_fail(tmp_path):
    clean = SNIPPETS.split("```python\nasync def main():\n    asyncio.run")[0]
    assert judge("docs.snippets", {}, ctx_for(tmp_path, text=clean)).status == "pass"
    broken = "```python\nx = (\n```\n"
    v = judge("docs.snippets", {}, ctx_for(tmp_path, text=broken))
    assert v.status == "fail" and "not valid Python" in v.message
    assert judge("docs.snippets", {"local": "probe"}, ctx_for(tmp_path)).status == "error"


def test_fenced_blocks_inside_list_items_are_dedented():
    text = "1. Do this:\n\n   ```python\n   if x:\n       y()\n   ```\n"
    assert [(b.lang, b.line, b.lines) for b in fenced_blocks(text)] == [
        ("python", 4, ("if x:", "    y()"))
    ]


def test_an_unclosed_fence_in_a_list_item_ends_with_the_item():
    # CommonMark closes it with its container, so the paragraph after the
    # list is text again, not code (the blank line still belongs to the item).
    text = "- step:\n\n  ```bash\n  make\n\nafter\n"
    assert [(b.line, b.lines) for b in fenced_blocks(text)] == [(4, ("make", ""))]
