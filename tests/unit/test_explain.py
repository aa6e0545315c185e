"""runner.present.explain on recorded output.

tests/unit/data/explain/NAME.stderr is the real stderr of
tests/live/broken_probes/NAME.py, recorded on the development kernel (6.18,
no kprobes); NAME.vm-6.1.stderr was recorded inside a stock Debian 6.1 VM
(virtme-ng), which has kprobes. The few failures this machine cannot
produce (an old kernel, lockdown) are written below from the messages of
bcc and the kernel, and say so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from runner.present.explain import RULES, Hint, explain, format_hints

HERE = Path(__file__).parent
RECORDED = sorted((HERE / "data" / "explain").glob("*.stderr"))
PROBES = HERE.parent / "live" / "broken_probes"
COVERED: set[str] = set()  # rule ids some test below expects


def probe_of(recording: Path) -> Path:
    return PROBES / (recording.name.split(".")[0] + ".py")


def expectation(recording: Path) -> str:
    text = probe_of(recording).read_text()
    key = "expect-with-kprobes" if ".vm-" in recording.name else "expect"
    match = re.search(rf"^# {key}: (\S+)", text, re.MULTILINE)
    assert match, f"{probe_of(recording).name} has no '# {key}:' header"
    return match.group(1)


def marked_line(path: Path) -> int | None:
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if re.search(r"(#|//) HERE\b", line):
            return number
    return None


COVERED.update(expectation(r) for r in RECORDED)


@pytest.mark.parametrize("recording", RECORDED, ids=[r.name for r in RECORDED])
def test_recorded_failure(recording: Path) -> None:
    source = probe_of(recording).read_text()
    hints = explain(recording.read_text(), source)
    assert hints and hints[0].id == expectation(recording), [h.id for h in hints]
    line = marked_line(probe_of(recording))
    if line is not None:
        assert (hints[0].line, hints[0].line_of) == (line, "file")


def test_every_broken_probe_has_a_recording() -> None:
    recorded = {r.name.split(".")[0] for r in RECORDED}
    assert recorded == {p.stem for p in PROBES.glob("*.py")}


def _data(name: str) -> str:
    return (HERE / "data" / "explain" / f"{name}.stderr").read_text()


# ---------------------------------------------------------------- details of the matches


def test_group_values_fill_the_sentence() -> None:
    hint = explain(_data("no_such_field"), (PROBES / "no_such_field.py").read_text())[0]
    assert "dirfd" in hint.cause and "syscalls:sys_enter_openat" in hint.cause
    assert "events/syscalls/sys_enter_openat/format" in hint.fix


def test_c_line_counts_from_the_bpf_text() -> None:
    source = (PROBES / "undeclared_identifier.py").read_text()
    hint = explain(_data("undeclared_identifier"), source)[0]
    # PROGRAM = r"""  is line 4 of the file; the C text's line 1 is that line's rest.
    assert (hint.line, hint.c_line) == (7, 4)
    assert hint.location("probe.py") == "probe.py line 7 (line 4 of the BPF text)"


def test_without_source_no_line_is_guessed() -> None:
    hint = explain(_data("undeclared_identifier"))[0]
    assert hint.id == "clang-undeclared" and hint.line is None and hint.location() == ""


def test_traceback_line_without_source_is_the_file_line() -> None:
    hint = explain(_data("table_not_found"))[0]
    assert (hint.id, hint.line, hint.line_of) == ("table-not-found", 12, "file")


def test_source_that_is_plain_c() -> None:
    c_text = (
        "TRACEPOINT_PROBE(syscalls, sys_enter_getpid) {\n"
        "    u32 pid = 0;\n"
        '    bpf_trace_printk("pid %d\\n", pidd); // HERE\n'
        "    return 0;\n"
        "}\n"
    )
    stderr = _data("undeclared_identifier")
    hint = explain(stderr, c_text)[0]
    assert (hint.line, hint.line_of, hint.c_line) == (3, "bpf-text", 3)
    assert hint.location() == "line 3 of the BPF text"


@pytest.mark.parametrize(("clang_line", "expected"), [(3, 3), (6, 6), (9, 6)])
def test_duplicate_lines_resolve_to_the_one_clang_meant(clang_line: int, expected: int) -> None:
    stderr = (
        f"/virtual/main.c:{clang_line}:5: error: use of undeclared identifier 'y'\n"
        "    x = y;\n"
        "    ^\n"
        "1 error generated.\n"
    )
    source = (
        'PROGRAM = """\nint a(void *ctx) {\n    x = y;\n}\nint b(void *ctx) {\n    x = y;\n}\n"""\n'
    )
    # The C text starts on file line 1, so clang's line N is file line N when
    # bcc adds nothing; bcc only ever adds lines, so take the closest at or below.
    assert explain(stderr, source)[0].line == expected


def test_host_facts_settle_tracefs() -> None:
    stderr = _data("no_such_tracepoint")  # open(/sys/kernel/debug/tracing/...): no such file
    with_tracefs = {"tracefs": True, "debugfs": True, "root": True}
    assert explain(stderr, None, host=with_tracefs)[0].id == "tracepoint-missing"
    without = {"tracefs": False, "debugfs": False, "root": True}
    assert explain(stderr, None, host=without)[0].id == "tracefs-missing"


def test_not_root_is_not_claimed_for_root() -> None:
    stderr = _data("not_root")
    assert explain(stderr)[0].id == "not-root"
    assert "not-root" not in {h.id for h in explain(stderr, host={"root": True})}


def test_unknown_text_gives_no_hint() -> None:
    assert explain("Attached to sys_enter_openat\nall fine\n") == []
    assert explain("", "print('no BPF here')\n") == []


# ------------------------------------------------ messages this machine cannot produce
# Written from the message formats of bcc 0.26 and the kernel's verifier, not recorded.

WRITTEN = [
    (
        "program-too-large",
        "bpf: Failed to load program: Argument list too long\n"
        "BPF program is too large. Processed 1000001 insn\n"
        "processed 1000001 insns (limit 1000000) max_states_per_insn 4\n",
    ),
    (
        "ringbuf-unsupported",
        "bpf: Failed to load program: Invalid argument\n"
        "0: (85) call bpf_ringbuf_output#130\nunknown func bpf_ringbuf_output#130\n",
    ),
    (
        "helper-unknown",
        "bpf: Failed to load program: Invalid argument\n"
        "3: (85) call bpf_probe_read_user_str#114\nunknown func bpf_probe_read_user_str#114\n",
    ),
    (
        "lockdown",
        "bpf: Failed to load program: Operation not permitted\n"
        "Lockdown: python3: use of bpf to read kernel RAM is restricted; "
        "see man kernel_lockdown.7\n",
    ),
    (
        "bcc-missing",
        "Traceback (most recent call last):\n"
        '  File "probe.py", line 3, in <module>\n    from bcc import BPF\n'
        "ModuleNotFoundError: No module named 'bcc'\n",
    ),
    (
        "clang-error",
        "/virtual/main.c:3:12: error: called object type 'int' is not a function or "
        "function pointer\n    return x(1);\n           ~^\n1 error generated.\n",
    ),
    (
        "verifier-rejected",
        "bpf: Failed to load program: Invalid argument\n0: (bf) r6 = r1\n"
        "R1 type=ctx expected=fp\nprocessed 1 insns (limit 1000000)\n",
    ),
    (
        "attach-failed",
        "Exception: Failed to attach BPF to perf event\n",
    ),
]
COVERED.update(rule_id for rule_id, _ in WRITTEN)


@pytest.mark.parametrize(("rule_id", "stderr"), WRITTEN, ids=[w[0] for w in WRITTEN])
def test_written_failure(rule_id: str, stderr: str) -> None:
    source = "BPF_RINGBUF_OUTPUT(events, 8);\n" if rule_id == "ringbuf-unsupported" else None
    hints = explain(stderr, source)
    assert hints and hints[0].id == rule_id, [h.id for h in hints]


def test_ringbuf_rule_needs_a_ringbuf_in_the_source() -> None:
    stderr = WRITTEN[1][1]
    assert explain(stderr, "BPF_PERF_OUTPUT(events);\n")[0].id == "helper-unknown"


# Kernel drift the matrix found: lesson 07's solution before HEADER_FLAGS, compiled
# by bcc against Debian's 7.2.13 headers (BCC_KERNEL_SOURCE), its real stderr.
DRIFT = HERE / "data" / "explain_drift" / "07-perf-sampling.headers-7.2.stderr"
COVERED.add("headers-ms-extensions")


def test_headers_of_6_19_and_later_get_the_ms_extensions_fix() -> None:
    hints = explain(DRIFT.read_text())
    assert [h.id for h in hints][:1] == ["headers-ms-extensions"], [h.id for h in hints]
    assert "-fms-extensions" in hints[0].fix and "not at fault" in hints[0].cause


def test_an_ordinary_missing_member_is_not_blamed_on_the_headers() -> None:
    stderr = "/virtual/main.c:9:12: error: no member named 'pidd' in 'struct task_struct'\n"
    assert "headers-ms-extensions" not in [h.id for h in explain(stderr)]


def test_rules_are_many_distinct_and_all_exercised() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) >= 20 and len(set(ids)) == len(ids)
    assert set(ids) - COVERED == set(), "rules no test expects"


def test_format_hints() -> None:
    hints = [Hint("a title", "the cause", "the fix", 7, "x", "file", 4), Hint("t2", "c2", "f2")]
    text = format_hints(hints, "probe.py")
    assert text == (
        "a title (probe.py line 7 (line 4 of the BPF text))\n  why: the cause\n  fix: the fix"
        "\n\nt2\n  why: c2\n  fix: f2"
    )
