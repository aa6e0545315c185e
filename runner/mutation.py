"""The mutation gate: classic eBPF mistakes planted in each reference solution
must each fail one of the lesson's checks (docs/evidence.md, "The mutation
gate").

Operators are data: a name, a one-line summary and a function from the
solution's text to mutants. They work on the source text through two masked
views of the same length as the file: the Python view blanks comments and
plain strings (f-strings stay: their fields are code), the C view keeps only
the BPF C held in the script's strings, minus C comments. A match found in a
view is replaced at the same offsets in the real text, so a mutant changes
exactly one spot and knows its line.

The gate loop (`run_mutation_gate`) runs each mutant through the lesson's
own checks: static checks on the source first, then the runs in order,
stopping at the first run whose checks already fail. Lessons this kernel
cannot run go to one VM boot for all of their mutants.

    python -m runner.mutation [--lesson 06] [--vm auto] [--json] [--markdown] [--plan]
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import io
import json
import re
import shutil
import sys
import tempfile
import tokenize
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner.model import Course, Lesson, Recording

# Boots the VM once for the gate's jobs (runner.live.vm.VmJob): {job.key: Recording}.
RunVm = Callable[[list[Any]], dict[str, Recording]]

# ---------------------------------------------------------------- mutants


@dataclass(frozen=True)
class Mutant:
    operator: str  # an Operator's name
    line: int  # 1-based line of the solution where the mistake is planted
    description: str  # one line: what changed
    source: str  # the whole mutated probe.py


@dataclass
class Source:
    """A solution's text with its masked views and what `ast` knows of it."""

    text: str
    py: str  # Python code only (comments and plain strings blanked)
    c: str  # BPF C only (everything else blanked, C comments too)
    c_regions: list[tuple[int, int]]  # [start, end) offsets of each BPF C string body
    options: dict[str, Any]  # argparse dest -> default, for options that have one
    validation_lines: set[int]  # `if` tests that end in parser.error(): checks of an option
    if_tests: list[tuple[int, int]] = field(default_factory=list)  # Python `if` tests, offsets

    def line_of(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def replace(self, start: int, end: int, new: str) -> str:
        return self.text[:start] + new + self.text[end:]


_C_MARKERS = re.compile(
    r"\bbpf_\w+|\bBPF_[A-Z_]+\(|TRACEPOINT_PROBE|struct pt_regs|#include\s*<"
    r"|\.(?:perf_submit|ringbuf_\w+|increment)\(|\b\w+\s*\(\s*(?:void|struct \w+)\s*\*\s*ctx\b"
)
_C_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)


def _blank(text: str) -> str:
    """Spaces for everything but newlines: offsets and lines stay put."""
    return re.sub(r"[^\n]", " ", text)


def _offsets(text: str) -> list[int]:
    starts, pos = [0], 0
    for line in text.splitlines(keepends=True):
        pos += len(line)
        starts.append(pos)
    return starts


def parse_source(text: str) -> Source:
    """Build the views; raises SyntaxError for a file that is not Python."""
    tree = ast.parse(text)
    starts = _offsets(text)
    py = list(text)
    c = list(_blank(text))
    regions: list[tuple[int, int]] = []
    tokens = tokenize.generate_tokens(io.StringIO(text).readline)
    for tok in tokens:
        if tok.type not in (tokenize.COMMENT, tokenize.STRING):
            continue
        start = starts[tok.start[0] - 1] + tok.start[1]
        end = starts[tok.end[0] - 1] + tok.end[1]
        prefix = re.match(r"[A-Za-z]*", tok.string).group(0).lower()
        if tok.type == tokenize.STRING and "f" in prefix:
            continue  # an f-string's fields are code
        py[start:end] = _blank(text[start:end])
        if tok.type == tokenize.STRING and _C_MARKERS.search(tok.string) and ";" in tok.string:
            quote = 3 if tok.string[len(prefix) :].startswith(('"""', "'''")) else 1
            body_start, body_end = start + len(prefix) + quote, end - quote
            body = _C_COMMENT.sub(lambda m: _blank(m.group(0)), text[body_start:body_end])
            c[body_start:body_end] = body
            regions.append((body_start, body_end))
    options, validation = _argparse_facts(tree)
    lines = text.splitlines(keepends=True)

    def offset(line: int, col: int) -> int:  # ast columns count UTF-8 bytes
        return starts[line - 1] + len(lines[line - 1].encode()[:col].decode(errors="ignore"))

    if_tests = [
        (offset(n.test.lineno, n.test.col_offset), offset(n.test.end_lineno, n.test.end_col_offset))
        for n in ast.walk(tree)
        if isinstance(n, ast.If)
        and n.test.end_lineno is not None
        and n.test.end_col_offset is not None
        and "__name__" not in ast.unparse(n.test)
        and n.test.lineno not in validation
    ]
    return Source(text, "".join(py), "".join(c), regions, options, validation, sorted(if_tests))


def _argparse_facts(tree: ast.AST) -> tuple[dict[str, Any], set[int]]:
    """Options with a default (dest -> value), and the lines of `if` tests whose
    body calls parser.error(): a use there validates the option, it is not
    the option's effect."""
    options: dict[str, Any] = {}
    lines: set[int] = set()
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        calls = [
            n
            for n in ast.walk(func)
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "add_argument"
        ]
        if not calls:
            continue
        for call in calls:
            names = [a.value for a in call.args if isinstance(a, ast.Constant)]
            names = [n for n in names if isinstance(n, str)]
            kw = {k.arg: k.value for k in call.keywords if k.arg}
            dest = kw.get("dest")
            if isinstance(dest, ast.Constant):
                name = dest.value
            else:
                longs = [n for n in names if n.startswith("--")]
                name = (longs[0] if longs else names[0] if names else "").lstrip("-")
                name = name.replace("-", "_")
            if not name:
                continue
            if "default" in kw and isinstance(kw["default"], ast.Constant):
                options[name] = kw["default"].value
            elif isinstance(kw.get("action"), ast.Constant) and kw["action"].value == "store_true":
                options[name] = False
            elif names and names[0].startswith("-") and "default" not in kw:
                options[name] = None  # an option left out is None
    for node in ast.walk(tree):
        if not isinstance(node, ast.If):
            continue
        refuses = any(
            isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "error"
            for stmt in node.body
            for n in ast.walk(stmt)
        )
        if refuses:
            lines.update(range(node.test.lineno, (node.test.end_lineno or node.lineno) + 1))
    return options, lines


# ---------------------------------------------------------------- helpers for operators


def _matches(view: str, pattern: str, flags: int = 0) -> Iterator[re.Match[str]]:
    yield from re.finditer(pattern, view, flags | re.M)


def _sub(
    src: Source,
    name: str,
    view: str,
    pattern: str,
    new: Callable[[re.Match[str]], str | None],
    why: str,
    flags: int = 0,
) -> Iterator[Mutant]:
    """One mutant per match of `pattern` in `view`, the match replaced by `new(m)`
    (None: leave this match alone)."""
    for m in _matches(view, pattern, flags):
        replacement = new(m)
        if replacement is None:
            continue
        old = view[m.start() : m.end()]
        if replacement == old:
            continue
        shown_old = " ".join(old.split())
        shown_new = " ".join(replacement.split())
        change = (
            f"`{shown_old}` removed"
            if shown_new in ("", ";", "pass")
            else f"`{shown_old}` -> `{shown_new}`"
        )
        yield Mutant(
            name,
            src.line_of(m.start()),
            f"{change} ({why})",
            src.replace(m.start(), m.end(), replacement),
        )


# A C filter: `if (COND) return 0;` (braceless), COND with one level of parens.
_FILTER = r"\bif\s*\(((?:[^()]|\((?:[^()]|\([^()]*\))*\))*)\)\s*return\s+0\s*;"
# A C count statement, from its start to its `;`.
_C_COUNT = (
    r"[A-Za-z_][\w.>-]*\.increment\([^;]*\)\s*;"
    r"|__sync_fetch_and_add\([^;]*\)\s*;|\(\*\w+\)\s*\+\+\s*;|[\w.>-]+\s*\+=\s*1\s*;"
    r"|\block_xadd\([^;]*\)\s*;"
)


def _c_function_end(src: Source, offset: int) -> int:
    """Where the C function holding `offset` ends: its closing brace at column 0."""
    m = re.compile(r"^\}", re.M).search(src.c, offset)
    return m.start() if m else len(src.c)


def _balanced_call(view: str, open_paren: int) -> int:
    """The offset of the `)` closing the `(` at `open_paren`, or -1."""
    depth = 0
    for i in range(open_paren, len(view)):
        if view[i] == "(":
            depth += 1
        elif view[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


# ---------------------------------------------------------------- the operators


def op_tgid_tid(src: Source) -> Iterator[Mutant]:
    name = "tgid-tid"
    yield from _sub(
        src,
        name,
        src.c,
        r"\b(bpf_get_current_pid_tgid\(\)|[A-Za-z_]\w*)\s*>>\s*32\b",
        lambda m: f"(u32){m.group(1)}",
        "the thread id instead of the process id",
    )
    yield from _sub(
        src,
        name,
        src.c,
        r"\(u32\)\s*(bpf_get_current_pid_tgid\(\)|[A-Za-z_]*id[A-Za-z_]*\b)",
        lambda m: f"{m.group(1)} >> 32",
        "the process id where the thread id belongs",
    )
    yield from _sub(
        src,
        name,
        src.c,
        r"\b(bpf_get_current_pid_tgid\(\)|[A-Za-z_]\w*)\s*&\s*0x[fF]{8}\b",
        lambda m: f"{m.group(1)} >> 32",
        "the process id where the thread id belongs",
    )
    if re.search(r"\bu32\s+tid\s*;", src.c):  # the event carries both ids
        yield from _sub(
            src,
            name,
            src.py,
            r"\b(\w+)\.pid\b",
            lambda m: f"{m.group(1)}.tid",
            "prints the thread id as the pid",
        )


def op_drop_submit(src: Source) -> Iterator[Mutant]:
    name = "drop-submit"
    yield from _sub(
        src,
        name,
        src.c,
        r"[A-Za-z_]\w*\.(?:perf_submit|ringbuf_output)\([^;]*\)\s*;",
        lambda m: ";",
        "the event is never sent to user space",
    )
    yield from _sub(
        src,
        name,
        src.c,
        r"\b([A-Za-z_]\w*)\.ringbuf_submit\(",
        lambda m: f"{m.group(1)}.ringbuf_discard(",
        "the reserved event is discarded, never sent",
    )


def op_count_doubled(src: Source) -> Iterator[Mutant]:
    name = "count-doubled"
    yield from _sub(
        src,
        name,
        src.c,
        r"\.increment\(((?:[^(),;]|\([^()]*\))+)\)",
        lambda m: f".increment({m.group(1)}, 2)",
        "each event counted twice",
    )
    yield from _sub(
        src,
        name,
        src.c,
        r"\b(__sync_fetch_and_add|lock_xadd)\(([^,;]+),\s*1\s*\)",
        lambda m: f"{m.group(1)}({m.group(2)}, 2)",
        "each event counted twice",
    )
    yield from _sub(
        src,
        name,
        src.c,
        r"\(\*(\w+)\)\s*\+\+",
        lambda m: f"(*{m.group(1)}) += 2",
        "each event counted twice",
    )
    for view in (src.c, src.py):
        yield from _sub(src, name, view, r"\+=\s*1\b", lambda m: "+= 2", "each event counted twice")


def op_count_skipped(src: Source) -> Iterator[Mutant]:
    name = "count-skipped"
    # C: the statement becomes empty (`;`), so an `if` above it keeps its body shape.
    yield from _sub(src, name, src.c, _C_COUNT, lambda m: ";", "the count never happens")
    yield from _sub(
        src,
        name,
        src.py,
        r"^([ \t]*)[\w.]+[ \t]*\+=[ \t]*1(?=[ \t]*$)",
        lambda m: f"{m.group(1)}pass",
        "the count never happens",
    )
    for m in _matches(src.c, r"lookup_or_try_init\(\s*&?\w+\s*,\s*&(\w+)\s*\)"):
        yield from _sub(
            src,
            name,
            src.c,
            rf"\b({re.escape(m.group(1))}\s*=\s*)1\b",
            lambda d: f"{d.group(1)}0",
            "the first event of each key is not counted",
        )


def op_wrong_arg(src: Source) -> Iterator[Mutant]:
    name = "wrong-arg"

    def shift(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f"PT_REGS_PARM{n + 1 if n == 1 else n - 1}"

    yield from _sub(src, name, src.c, r"\bPT_REGS_PARM(\d)\b", shift, "reads another argument")
    yield from _sub(
        src,
        name,
        src.c,
        r"(\(\s*struct\s+pt_regs\s*\*\s*ctx\s*,\s*)(?=[A-Za-z_])",
        lambda m: f"{m.group(1)}long skipped_arg, ",
        "every declared argument shifted by one: reads the next argument",
    )
    for start, end in src.c_regions:
        body = src.c[start:end]
        fields = sorted(set(re.findall(r"\bargs->(\w+)", body)))
        if len(fields) < 2:
            continue
        for m in re.finditer(r"\bargs->(\w+)", body):
            other = fields[(fields.index(m.group(1)) + 1) % len(fields)]
            at = start + m.start()
            yield Mutant(
                name,
                src.line_of(at),
                f"`args->{m.group(1)}` -> `args->{other}` (reads another tracepoint field)",
                src.replace(at, start + m.end(), f"args->{other}"),
            )


def op_wrong_clock(src: Source) -> Iterator[Mutant]:
    name = "wrong-clock"
    yield from _sub(
        src,
        name,
        src.c,
        r"\bbpf_ktime_get_ns\(\)",
        lambda m: "bpf_ktime_get_boot_ns()",
        "CLOCK_BOOTTIME instead of CLOCK_MONOTONIC",
    )
    yield from _sub(
        src,
        name,
        src.py,
        r"\btime\.monotonic\(\)",
        lambda m: "time.time()",
        "the wall clock where the monotonic clock belongs",
    )
    yield from _sub(
        src,
        name,
        src.py,
        r"\btime\.time\(\)",
        lambda m: "time.monotonic()",
        "the monotonic clock where the wall clock belongs",
    )


def op_comm_truncated(src: Source) -> Iterator[Mutant]:
    yield from _sub(
        src,
        "comm-truncated",
        src.c,
        r"(\bbpf_get_current_comm\(\s*[^,;]+,\s*)sizeof\([^()]*\)(\s*\))",
        lambda m: f"{m.group(1)}4{m.group(2)}",
        "the name cut to 3 characters",
    )


def op_filter_inverted(src: Source) -> Iterator[Mutant]:
    name = "filter-inverted"
    for m in _matches(src.c, _FILTER):
        cond_start, cond = m.start(1), m.group(1)
        flips = list(re.finditer(r"==|!=", cond))
        for op in flips:
            at = cond_start + op.start()
            new = "!=" if op.group(0) == "==" else "=="
            shown = " ".join(src.text[m.start(1) : m.end(1)].split())
            yield Mutant(
                name,
                src.line_of(at),
                f"`{op.group(0)}` -> `{new}` in `if ({shown})` (the filter keeps what it "
                "should drop)",
                src.replace(at, at + 2, new),
            )
        if not flips:
            original = src.text[m.start(1) : m.end(1)]
            yield Mutant(
                name,
                src.line_of(m.start()),
                f"`if ({' '.join(original.split())})` negated (the filter keeps what it "
                "should drop)",
                src.replace(m.start(1), m.end(1), f"!({original})"),
            )


def op_filter_removed(src: Source) -> Iterator[Mutant]:
    yield from _sub(
        src,
        "filter-removed",
        src.c,
        _FILTER,
        lambda m: ";",
        "the filter is ignored",
    )


def op_count_before_filter(src: Source) -> Iterator[Mutant]:
    """The filter moved below the first count after it: the count sees everything."""
    for m in _matches(src.c, _FILTER):
        end = _c_function_end(src, m.end())
        count = re.compile(_C_COUNT).search(src.c, m.end(), end)
        if count is None:
            continue
        filter_text = src.text[m.start() : m.end()]
        between = src.text[m.end() : count.end()]
        mutated = (
            src.text[: m.start()] + between.lstrip() + " " + filter_text + src.text[count.end() :]
        )
        yield Mutant(
            "count-before-filter",
            src.line_of(m.start()),
            f"`if ({' '.join(m.group(1).split())}) return 0;` moved below the count on line "
            f"{src.line_of(count.start())} (counts what the filter should drop)",
            mutated,
        )


def op_option_ignored(src: Source) -> Iterator[Mutant]:
    for dest, default in src.options.items():
        for m in _matches(src.py, rf"\bargs\.{re.escape(dest)}\b"):
            line = src.line_of(m.start())
            if line in src.validation_lines:
                continue  # validation of the option, not its effect
            yield Mutant(
                "option-ignored",
                line,
                f"`args.{dest}` -> `{default!r}` (the option's default, whatever was asked)",
                src.replace(m.start(), m.end(), repr(default)),
            )


def op_one_cpu(src: Source) -> Iterator[Mutant]:
    name = "one-cpu"
    yield from _sub(
        src, name, src.py, r"\bcpu\s*=\s*-1\b", lambda m: "cpu=0", "only CPU 0 is watched"
    )
    for m in _matches(src.py, r"\battach_perf_event\("):
        close = _balanced_call(src.py, m.end() - 1)
        if close < 0 or re.search(r"\bcpu\s*=", src.py[m.end() : close]):
            continue
        yield Mutant(
            name,
            src.line_of(m.start()),
            "`attach_perf_event(...)` -> `attach_perf_event(cpu=0, ...)` (only CPU 0 samples)",
            src.replace(m.end(), m.end(), "cpu=0, "),
        )
    yield from _sub(
        src,
        name,
        src.py,
        r"\bget_online_cpus\(\)",
        lambda m: "[0]",
        "the online CPUs cut to CPU 0",
    )


def op_signed_cast_dropped(src: Source) -> Iterator[Mutant]:
    name = "signed-cast-dropped"
    yield from _sub(
        src,
        name,
        src.c,
        r"\((?:int|s32|long|s64)\)\s*(?=[A-Za-z_(])",
        lambda m: "",
        "a negative value read as a large unsigned one",
    )
    yield from _sub(
        src,
        name,
        src.c,
        r"^([ \t]*)int([ \t]+\w+[ \t]*;)",
        lambda m: f"{m.group(1)}u32{m.group(2)}",
        "a signed event field made unsigned",
    )


def op_sort_reversed(src: Source) -> Iterator[Mutant]:
    name = "sort-reversed"
    yield from _sub(
        src,
        name,
        src.py,
        r"(\bkey\s*=\s*lambda\s+\w+\s*:\s*\(?\s*)-\s*",
        lambda m: m.group(1),
        "smallest first instead of largest first",
    )
    yield from _sub(
        src,
        name,
        src.py,
        r"\breverse\s*=\s*(True|False)\b",
        lambda m: f"reverse={m.group(1) != 'True'}",
        "the order reversed",
    )


def op_top_n_changed(src: Source) -> Iterator[Mutant]:
    yield from _sub(
        src,
        "top-n-changed",
        src.py,
        r"\[\s*:\s*([A-Za-z_][\w.]*)\s*\]",
        lambda m: "[:1]",
        "only the first row is kept",
    )


def op_error_exit_zero(src: Source) -> Iterator[Mutant]:
    name = "error-exit-zero"
    yield from _sub(
        src,
        name,
        src.py,
        r"(\breturn\s+)(?:1|2|130)(?=[ \t]*$)",
        lambda m: f"{m.group(1)}0",
        "an error ends with exit status 0",
    )
    yield from _sub(
        src,
        name,
        src.py,
        r"(\bsys\.exit\()\s*[12]\s*\)",
        lambda m: f"{m.group(1)}0)",
        "an error ends with exit status 0",
    )


def op_stderr_to_stdout(src: Source) -> Iterator[Mutant]:
    yield from _sub(
        src,
        "stderr-to-stdout",
        src.py,
        r",\s*file\s*=\s*sys\.stderr\b",
        lambda m: "",
        "the message goes to stdout",
    )


def op_final_drain_dropped(src: Source) -> Iterator[Mutant]:
    yield from _sub(
        src,
        "drain-dropped",
        src.py,
        r"^([ \t]*)[\w.\[\]\"']+\."
        r"(?:perf_buffer_poll\(\s*timeout\s*=\s*0\s*\)|ring_buffer_consume\(\))(?=[ \t]*$)",
        lambda m: f"{m.group(1)}pass",
        "events already in the buffer are never read",
    )


def op_kernel_read(src: Source) -> Iterator[Mutant]:
    yield from _sub(
        src,
        "kernel-read",
        src.c,
        r"\bbpf_probe_read_user(_str)?\(",
        lambda m: f"bpf_probe_read_kernel{m.group(1) or ''}(",
        "user memory read as kernel memory",
    )


def op_branch_inverted(src: Source) -> Iterator[Mutant]:
    for start, end in src.if_tests:
        test = src.text[start:end]
        yield Mutant(
            "branch-inverted",
            src.line_of(start),
            f"`if {' '.join(test.split())}:` -> `if not (...)` (the other branch runs)",
            src.replace(start, end, f"not ({test})"),
        )


@dataclass(frozen=True)
class Operator:
    name: str
    summary: str  # one line for tables and --help
    apply: Callable[[Source], Iterator[Mutant]]


OPERATORS: tuple[Operator, ...] = (
    Operator(
        "tgid-tid",
        "thread id for process id (or back): `>> 32` <-> `(u32)`, `.pid` <-> `.tid`",
        op_tgid_tid,
    ),
    Operator(
        "drop-submit",
        "the event is never sent: perf_submit/ringbuf_output removed, "
        "ringbuf_submit -> ringbuf_discard",
        op_drop_submit,
    ),
    Operator(
        "count-doubled",
        "`increment(x)` -> `increment(x, 2)`, `+= 1`/`++` -> `+= 2`",
        op_count_doubled,
    ),
    Operator(
        "count-skipped",
        "the count statement removed; lookup_or_try_init starts at 0",
        op_count_skipped,
    ),
    Operator(
        "wrong-arg",
        "PT_REGS_PARM1 <-> PARM2, kprobe arguments shifted, another tracepoint field",
        op_wrong_arg,
    ),
    Operator(
        "wrong-clock",
        "bpf_ktime_get_ns -> bpf_ktime_get_boot_ns, time.monotonic <-> time.time",
        op_wrong_clock,
    ),
    Operator("comm-truncated", "bpf_get_current_comm(&x, sizeof(x)) -> size 4", op_comm_truncated),
    Operator(
        "filter-inverted",
        "`if (a != b) return 0;` -> `==` (or the condition negated)",
        op_filter_inverted,
    ),
    Operator("filter-removed", "the `if (...) return 0;` filter removed", op_filter_removed),
    Operator(
        "count-before-filter",
        "a filter moved below the count that follows it",
        op_count_before_filter,
    ),
    Operator(
        "option-ignored", "one use of `args.X` replaced by the option's default", op_option_ignored
    ),
    Operator(
        "one-cpu", "cpu=-1 -> cpu=0, attach_perf_event on CPU 0, online CPUs -> [0]", op_one_cpu
    ),
    Operator(
        "signed-cast-dropped",
        "`(int)x` -> `x`, an `int` event field -> `u32`",
        op_signed_cast_dropped,
    ),
    Operator("sort-reversed", "`key=lambda r: -r[1]` -> `r[1]`, reverse flipped", op_sort_reversed),
    Operator("top-n-changed", "`rows[:limit]` -> `rows[:1]`", op_top_n_changed),
    Operator(
        "error-exit-zero", "`return 1`/`sys.exit(1)` on an error path -> 0", op_error_exit_zero
    ),
    Operator("stderr-to-stdout", "`file=sys.stderr` removed from a print", op_stderr_to_stdout),
    Operator(
        "drain-dropped",
        "the last perf_buffer_poll(timeout=0)/ring_buffer_consume() removed",
        op_final_drain_dropped,
    ),
    Operator(
        "kernel-read", "bpf_probe_read_user(_str) -> bpf_probe_read_kernel(_str)", op_kernel_read
    ),
    Operator(
        "branch-inverted", "a Python `if` test negated (not the option checks)", op_branch_inverted
    ),
)
OPERATOR_NAMES: tuple[str, ...] = tuple(op.name for op in OPERATORS)
# What the gate plants by default. The two error-path operators are left
# out: their mutants sit mostly on paths no lesson run can take (not root, a
# failed compile), so they measured the runs' reach, not the checks, and cost
# a full lesson run each. run_mutation_gate(..., operators=OPERATORS) keeps them.
_ERROR_PATH = ("error-exit-zero", "stderr-to-stdout")
GATE_OPERATORS: tuple[Operator, ...] = tuple(op for op in OPERATORS if op.name not in _ERROR_PATH)


def mutants(text: str, operators: tuple[Operator, ...] = OPERATORS) -> tuple[list[Mutant], int]:
    """Every mutant of `text` that still compiles as Python, first of its text;
    and how many were dropped because they do not compile."""
    src = parse_source(text)
    found: list[Mutant] = []
    seen = {text}
    uncompilable = 0
    for op in operators:
        for mutant in op.apply(src):
            if mutant.source in seen:
                continue
            seen.add(mutant.source)
            try:
                compile(mutant.source, "probe.py", "exec")
            except (SyntaxError, ValueError):
                uncompilable += 1
                continue
            found.append(mutant)
    # Two identical changes on one line (`args.d ... args.d`) are told apart.
    same: dict[tuple[str, int, str], int] = {}
    for m in found:
        same[(m.operator, m.line, m.description)] = (
            same.get((m.operator, m.line, m.description), 0) + 1
        )
    seen_n: dict[tuple[str, int, str], int] = {}
    for i, m in enumerate(found):
        key = (m.operator, m.line, m.description)
        if same[key] > 1:
            seen_n[key] = seen_n.get(key, 0) + 1
            found[i] = dataclasses.replace(
                m, description=f"{m.description} [#{seen_n[key]} on the line]"
            )
    return found, uncompilable


def sample_mutants(found: list[Mutant], n: int) -> list[Mutant]:
    """At most `n` mutants, taken one operator after another (the first of
    each operator, then the second, ...), so a small sample still covers as
    many kinds of mistake as it can. Deterministic: the same every run."""
    by_operator: dict[str, list[Mutant]] = {}
    for m in found:
        by_operator.setdefault(m.operator, []).append(m)
    kept: list[Mutant] = []
    depth = 0
    while len(kept) < n and any(len(ms) > depth for ms in by_operator.values()):
        kept += [ms[depth] for ms in by_operator.values() if len(ms) > depth][: n - len(kept)]
        depth += 1
    return [m for m in found if m in kept]  # in source order


def stale_declarations(lesson: Lesson, found: list[Mutant]) -> list[str]:
    """One sentence per declared equivalent mutant that no operator produces."""
    produced = {(m.operator, m.line) for m in found}
    problems = []
    for eq in lesson.equivalent_mutants:
        if (eq.operator, eq.line) not in produced:
            at = f"{eq.where}: " if eq.where else ""
            problems.append(
                f"{at}equivalent mutant {eq.operator} on line {eq.line} matches no mutant of "
                f"the solution; update the line or remove the declaration"
            )
    return problems


# ---------------------------------------------------------------- results

KILLED = ("killed", "killed-not-loaded")
# What a probe prints when its BPF C did not compile or the verifier refused it.
_NOT_LOADED = re.compile(
    r"/virtual/main\.c:\d+:\d+: error:|Failed to compile BPF|bpf: Failed to load program"
    r"|Failed to load BPF program|failed to load BPF program"
)


@dataclass
class MutantResult:
    operator: str
    line: int
    description: str
    status: str  # killed | killed-not-loaded | survived | equivalent | unsupported | error
    killed_by: list[str] = field(default_factory=list)  # ids of the checks it did not pass
    message: str = ""  # the first failing check's message, the reason, or the error
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.operator}@L{self.line}: {self.description}"


@dataclass
class LessonMutation:
    lesson: str
    where: str = "host"  # host | vm
    results: list[MutantResult] = field(default_factory=list)
    uncompilable: int = 0  # mutants dropped before running: not Python any more
    errors: list[str] = field(default_factory=list)  # stale declarations, baseline, VM
    notes: list[str] = field(default_factory=list)
    unsupported: str | None = None  # why this machine cannot run the lesson (not a failure)

    def of(self, *statuses: str) -> list[MutantResult]:
        return [r for r in self.results if r.status in statuses]

    @property
    def applied(self) -> int:
        return len(self.results)

    @property
    def killed(self) -> int:
        return len(self.of(*KILLED))

    @property
    def survivors(self) -> list[MutantResult]:
        return self.of("survived")

    @property
    def ok(self) -> bool:
        return not self.errors and not self.survivors and not self.of("error")


@dataclass
class MutationReport:
    lessons: list[LessonMutation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(lesson.ok for lesson in self.lessons)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": "pass" if self.ok else "fail",
            "operators": {op.name: op.summary for op in OPERATORS},
            "lessons": [
                {
                    **{k: v for k, v in dataclasses.asdict(lm).items() if k != "results"},
                    "applied": lm.applied,
                    "killed": lm.killed,
                    "survived": len(lm.survivors),
                    "results": [dataclasses.asdict(r) for r in lm.results],
                }
                for lm in self.lessons
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MutationReport:
        lessons = []
        for raw in data.get("lessons", []):
            lm = LessonMutation(
                raw["lesson"],
                raw.get("where", "host"),
                [MutantResult(**r) for r in raw.get("results", [])],
                raw.get("uncompilable", 0),
                list(raw.get("errors", [])),
                list(raw.get("notes", [])),
                raw.get("unsupported"),
            )
            lessons.append(lm)
        return cls(lessons)

    def junit_suites(self) -> dict[str, list[tuple[str, str, str]]]:
        """For runner.present.render.junit_xml: one suite per lesson, one case per
        mutant (a survivor fails), one error case per lesson problem."""
        suites: dict[str, list[tuple[str, str, str]]] = {}
        status_of = {"survived": "fail", "error": "error", "unsupported": "unsupported"}
        for lm in self.lessons:
            cases = [(f"mutants: {e}"[:200], "error", e) for e in lm.errors]
            if lm.unsupported:
                cases.append(("mutants", "unsupported", lm.unsupported))
            for r in lm.results:
                message = r.message or ", ".join(r.killed_by)
                if r.status == "survived":
                    message = f"survived every check: {r.description}"
                cases.append((r.name, status_of.get(r.status, "pass"), message))
            suites[f"{lm.lesson} mutants"] = cases
        return suites

    def text(self) -> str:
        lines = [
            f"{'lesson':<20} {'where':<5} {'applied':>7} {'killed':>6} {'equiv':>5} {'surv':>4}"
        ]
        for lm in self.lessons:
            lines.append(
                f"{lm.lesson:<20} {lm.where:<5} {lm.applied:>7} {lm.killed:>6} "
                f"{len(lm.of('equivalent')):>5} {len(lm.survivors):>4}"
                + (f"  ({len(lm.of('unsupported'))} unsupported)" if lm.of("unsupported") else "")
                + (f"  unsupported here: {lm.unsupported}" if lm.unsupported else "")
            )
        for lm in self.lessons:
            for problem in lm.errors:
                lines.append(f"! ERROR    {lm.lesson}: {problem}")
            for r in lm.of("error"):
                lines.append(f"! ERROR    {lm.lesson} {r.operator} line {r.line}: {r.message}")
            for r in lm.survivors:
                lines.append(f"✗ SURVIVED {lm.lesson} {r.operator} line {r.line}: {r.description}")
            for note in lm.notes:
                lines.append(f"  note     {lm.lesson}: {note}")
        total = sum(lm.applied for lm in self.lessons)
        killed = sum(lm.killed for lm in self.lessons)
        survived = sum(len(lm.survivors) for lm in self.lessons)
        lines.append(f"{killed}/{total} mutants killed, {survived} survived")
        return "\n".join(lines)

    def markdown(self) -> str:
        """Operators x lessons: killed/applied per cell, then every survivor."""
        heads = [lm.lesson.split("-")[0] for lm in self.lessons]
        out = [
            "| operator | what it plants | " + " | ".join(heads) + " |",
            "|---|---|" + "---|" * len(heads),
        ]
        planted = {r.operator for lm in self.lessons for r in lm.results}
        for op in OPERATORS:
            if op not in GATE_OPERATORS and op.name not in planted:
                continue  # off by default (the error-path operators) and not run here
            cells = []
            for lm in self.lessons:
                mine = [r for r in lm.results if r.operator == op.name]
                killed = sum(1 for r in mine if r.status in KILLED)
                cells.append(f"{killed}/{len(mine)}" if mine else "·")
            summary = op.summary.replace("|", "\\|")
            out.append(f"| `{op.name}` | {summary} | " + " | ".join(cells) + " |")
        out.append(
            "| **all** | killed/applied | "
            + " | ".join(f"**{lm.killed}/{lm.applied}**" for lm in self.lessons)
            + " |"
        )
        rest = [(lm.lesson, r) for lm in self.lessons for r in lm.results if r.status not in KILLED]
        if rest:
            out += ["", "| lesson | operator | line | mutant | status |", "|---|---|---|---|---|"]
            for lesson, r in rest:
                desc = r.description.replace("|", "\\|")
                out.append(f"| {lesson} | `{r.operator}` | {r.line} | {desc} | {r.status} |")
        return "\n".join(out) + "\n"


# ---------------------------------------------------------------- the gate


def _needs_run(spec: Any) -> bool:
    import checks

    kind = checks.get(spec.kind)
    return kind is None or kind.needs_run


def _verdict(results: list[Any], recording: Recording | None) -> tuple[str, list[str], str]:
    """(status, ids of checks not passed, message) for the checks graded so far."""
    not_passed = [c for c in results if c.status != "pass"]
    if not not_passed:
        return "survived", [], ""
    ids = [c.id for c in not_passed]
    real = [c for c in not_passed if c.status in ("fail", "timeout", "error")]
    runner_errors = [r.error for r in (recording.runs.values() if recording else []) if r.error]
    if not real:
        return "unsupported", ids, not_passed[0].message
    if all(c.status == "error" for c in real) and runner_errors:
        return "error", ids, runner_errors[0]
    err = [ln for run in (recording.runs.values() if recording else []) for ln in run.err()]
    status = "killed-not-loaded" if any(_NOT_LOADED.search(ln) for ln in err) else "killed"
    return status, ids, f"{real[0].id}: {real[0].message}"


def _grade(lesson: Lesson, specs: list[Any], recording: Recording) -> list[Any]:
    from runner.grade import grade

    return grade(dataclasses.replace(lesson, checks=specs), recording).checks


def _static_stage(lesson: Lesson, probe: Path) -> list[Any]:
    specs = [c for c in lesson.checks if not _needs_run(c)]
    if not specs:
        return []
    source = probe.read_text(encoding="utf-8", errors="replace")
    recording = Recording(lesson=lesson.id, probe_path=str(probe), probe_source=source)
    return _grade(lesson, specs, recording)


def _probe_runs(lesson: Lesson) -> list[str]:
    """The probe runs (not commands) some check reads, in lesson order."""
    read = {c.run for c in lesson.checks if _needs_run(c)}
    return [s.id for s in lesson.runs if s.id in read and s.command is None]


def _run_steps(
    lesson: Lesson,
    probe: Path,
    host: dict[str, Any],
    python: str,
    step_ids: list[str],
    recording: Recording,
    *,
    stop_early: bool = True,
) -> list[Any]:
    """Run the steps in lesson order, grading each one's checks as it ends;
    stop at the first step whose checks do not all pass (the mutant is
    killed: the later steps cannot change that). No retries: a check that
    fails at random is the check's defect, not the gate's to smooth over."""
    from runner.live.execute import run_one

    graded: list[Any] = []
    for step in lesson.runs:
        if step.id not in step_ids:
            continue
        specs = [c for c in lesson.checks if _needs_run(c) and c.run == step.id]
        run = run_one(lesson, step, probe, python=python, host=host, recording=recording)
        recording.runs[step.id] = run
        results = _grade(lesson, specs, recording)
        graded += results
        if stop_early and any(r.status != "pass" for r in results):
            break
    return graded


def _command_host(lesson: Lesson, host: dict[str, Any]) -> dict[str, Any]:
    """Host facts for a lesson's command steps (pytest): they touch no kernel
    feature, so the lesson's requirements must not mark them unsupported."""
    features = {k: v for k, v in (host.get("features") or {}).items() if k not in lesson.requires}
    return {**host, "features": features}


def _missing(lesson: Lesson, host: dict[str, Any]) -> str | None:
    """Why this kernel cannot run the lesson, or None."""
    features = host.get("features") or {}
    for need in lesson.requires:
        fact = features.get(need)
        if fact is not None and not fact.get("ok"):
            return f"this kernel cannot do {need} ({fact.get('reason') or 'not available'})"
    return None


def _use_vm(mode: str, lesson: Lesson, host: dict[str, Any]) -> bool:
    return mode == "on" or (mode == "auto" and _missing(lesson, host) is not None)


@dataclass
class _Planned:
    lesson: Lesson
    report: LessonMutation
    mutants: list[Mutant]
    probes: list[Path]


def _workdir(course: Course) -> Path:
    """Mutant files must be readable inside the VM, which sees the host's files
    but not its /tmp: put them in the course folder when it is writable."""
    try:
        return Path(tempfile.mkdtemp(prefix=".mutants-", dir=course.dir))
    except OSError:
        return Path(tempfile.mkdtemp(prefix="ebpfc-mutants-"))


def _materialise(lesson: Lesson, found: list[Mutant], root: Path) -> list[Path]:
    """Each mutant as probe.py in its own folder beside a copy of the
    solution's tests, so the lesson's pytest step reads the mutant."""
    assert lesson.solution is not None
    tests = lesson.solution.parent / "tests"
    probes = []
    for i, mutant in enumerate(found, 1):
        folder = root / lesson.id / f"{i:02d}-{mutant.operator}-L{mutant.line}"
        folder.mkdir(parents=True)
        (folder / "probe.py").write_text(mutant.source, encoding="utf-8")
        if tests.is_dir():
            shutil.copytree(tests, folder / "tests", ignore=shutil.ignore_patterns("__pycache__"))
        probes.append(folder / "probe.py")
    return probes


def _declared(lesson: Lesson, mutant: Mutant) -> str | None:
    for eq in lesson.equivalent_mutants:
        if (eq.operator, eq.line) == (mutant.operator, mutant.line):
            return eq.reason
    return None


def _settle(lesson: Lesson, mutant: Mutant, status: str, ids: list[str], message: str):
    """A MutantResult, with survivors the lesson declared turned equivalent."""
    reason = _declared(lesson, mutant)
    if status == "survived" and reason:
        status, message = "equivalent", reason
    return MutantResult(mutant.operator, mutant.line, mutant.description, status, ids, message)


def run_mutation_gate(
    course: Course,
    lessons: list[Lesson],
    host: dict[str, Any],
    *,
    vm_mode: str = "off",
    python: str = sys.executable,
    on_progress: Callable[[str], None] | None = None,
    operators: tuple[Operator, ...] = GATE_OPERATORS,
    vm_sample: int | None = None,
    proven: frozenset[str] = frozenset(),
    host_sample: int | None = None,
    run_vm: RunVm | None = None,
) -> MutationReport:
    """Plant every operator's mistakes in each lesson's solution and run each
    mutant through the lesson's checks (see the module docstring). Lessons
    in `proven` skip the baseline run: their reference solution has just
    passed every check where the gate runs them (`course validate` did).
    `run_vm` boots the VM for the gate's VM jobs (default: a boot of its own;
    `course validate` passes one that carries its own cases too)."""
    import time

    notify = on_progress or (lambda _m: None)
    report = MutationReport()
    root = _workdir(course)
    try:
        planned: list[_Planned] = []
        for lesson in lessons:
            lm = LessonMutation(lesson.id, "vm" if _use_vm(vm_mode, lesson, host) else "host")
            report.lessons.append(lm)
            if lm.where == "host" and _missing(lesson, host):
                lm.unsupported = f"{_missing(lesson, host)}; run the gate with --vm auto"
                continue
            if lesson.solution is None:
                lm.errors.append("the lesson has no reference solution to mutate")
                continue
            try:
                found, lm.uncompilable = mutants(lesson.solution.read_text(), operators)
            except SyntaxError as exc:
                lm.errors.append(f"the reference solution is not valid Python ({exc.msg})")
                continue
            lm.errors += stale_declarations(lesson, found)
            limit = vm_sample if lm.where == "vm" else host_sample
            if limit is not None and len(found) > limit:
                kept = sample_mutants(found, limit)
                place = "in the VM" if lm.where == "vm" else "here"
                lm.notes.append(
                    f"sampled: {len(kept)} of {len(found)} mutants run {place} (one operator "
                    "after another); `course validate --vm auto --mutants` runs them all"
                )
                found = kept
            planned.append(_Planned(lesson, lm, found, _materialise(lesson, found, root)))

        for plan in planned:
            if plan.report.where == "host":
                _gate_here(plan, host, python, notify, time.monotonic, plan.lesson.id in proven)
        vm_plans = [p for p in planned if p.report.where == "vm"]
        if vm_plans:
            boot = run_vm or (lambda jobs: _boot(course, jobs, python=python, on_progress=notify))
            _gate_in_vm(vm_plans, host, python, notify, boot, proven)
        for plan in planned:
            for r in plan.report.results:
                if r.status in KILLED and _declared(plan.lesson, _as_mutant(r)):
                    plan.report.notes.append(
                        f"{r.operator} on line {r.line} is declared equivalent but was killed "
                        f"by {', '.join(r.killed_by)}; the declaration can go"
                    )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return report


def _as_mutant(r: MutantResult) -> Mutant:
    return Mutant(r.operator, r.line, r.description, "")


def _gate_here(
    plan: _Planned, host: dict[str, Any], python: str, notify, clock, proven: bool = False
) -> None:
    lesson, lm = plan.lesson, plan.report
    assert lesson.solution is not None
    all_steps = [s.id for s in lesson.runs]

    def judge(probe: Path, label: str) -> tuple[str, list[str], str]:
        results = _static_stage(lesson, probe)
        if any(r.status != "pass" for r in results):
            return _verdict(results, None)
        recording = Recording(
            lesson=lesson.id,
            probe_path=str(probe),
            probe_source=probe.read_text(encoding="utf-8", errors="replace"),
            host=dict(host),
        )
        results += _run_steps(lesson, probe, host, python, all_steps, recording)
        return _verdict(results, recording)

    if proven:
        notify(f"{lesson.id}: the reference solution passed just now (baseline)")
        status, ids, message = "survived", [], ""
    else:
        notify(f"{lesson.id}: the reference solution first (baseline)")
        status, ids, message = judge(lesson.solution, "the reference solution")
    if status == "unsupported":
        lm.unsupported = message
        return
    if status != "survived":
        lm.errors.append(
            f"the reference solution does not pass {', '.join(ids)} ({message}), so its "
            "mutants were not judged"
        )
        return
    for i, (mutant, probe) in enumerate(zip(plan.mutants, plan.probes, strict=True), 1):
        started = clock()
        status, ids, message = judge(probe, f"{mutant.operator} on line {mutant.line}")
        result = _settle(lesson, mutant, status, ids, message)
        result.seconds = round(clock() - started, 1)
        lm.results.append(result)
        notify(
            f"{lesson.id} [{i}/{len(plan.mutants)}] {mutant.operator} line {mutant.line}: "
            f"{result.status}" + (f" by {', '.join(ids[:3])}" if result.status in KILLED else "")
        )


def _boot(course: Course, jobs: list[Any], **options: Any) -> dict[str, Recording]:
    from runner.live import vm

    return vm.run_in_vm(course.dir, jobs, **options)


def _gate_in_vm(
    plans: list[_Planned],
    host: dict[str, Any],
    python: str,
    notify,
    boot: RunVm,
    proven: frozenset[str] = frozenset(),
) -> None:
    """Host-side stages first (static checks, command steps such as pytest);
    the survivors of those and each baseline (unless `proven`) go to ONE VM
    boot."""
    from runner.live import vm

    jobs: list[vm.VmJob] = []
    pending: dict[str, tuple[_Planned, Mutant | None, Recording, list[Any]]] = {}
    for plan in plans:
        lesson = plan.lesson
        assert lesson.solution is not None
        cmd_host = _command_host(lesson, host)
        commands = [s.id for s in lesson.runs if s.command is not None]
        probe_steps = _probe_runs(lesson)
        if lesson.id not in proven:
            base_key = f"{lesson.code}-solution"
            jobs.append(vm.VmJob(base_key, lesson.id, lesson.solution, probe_steps))
            pending[base_key] = (
                plan,
                None,
                *_host_stages(lesson, lesson.solution, cmd_host, commands, python),
            )
        for i, (mutant, probe) in enumerate(zip(plan.mutants, plan.probes, strict=True), 1):
            recording, results = _host_stages(lesson, probe, cmd_host, commands, python)
            if any(r.status != "pass" for r in results):
                status, ids, message = _verdict(results, recording)
                plan.report.results.append(_settle(lesson, mutant, status, ids, message))
                continue
            key = f"{lesson.code}-{i:02d}"
            # killed at its first failing step: the steps after it cannot save it,
            # and each one compiles again (tens of seconds under emulation)
            jobs.append(vm.VmJob(key, lesson.id, probe, probe_steps, stop_early=True))
            pending[key] = (plan, mutant, recording, results)
        notify(f"{lesson.id}: {len(plan.report.results)} mutants killed on the host before the VM")
    try:
        found = boot(jobs) if jobs else {}
    except vm.VmError as exc:
        for plan in plans:
            plan.report.errors.append(f"the VM run failed: {exc}")
        return
    failed_baseline: set[str] = set()
    for key, (plan, mutant, recording, results) in pending.items():
        lesson = plan.lesson
        if plan.lesson.id in failed_baseline:
            continue
        got = found[key]
        got.runs.update(recording.runs)  # the command steps ran on the host
        specs = [c for c in lesson.checks if _needs_run(c) and c.run in _probe_runs(lesson)]
        # a mutant stopped at its first failing step is killed by that step's
        # checks, not by "not run" on the steps it skipped; should no step
        # that ran fail, every check is graded (a skipped step is no pass)
        ran = [c for c in specs if c.run in got.runs]
        graded = results + _grade(lesson, ran, got)
        if ran != specs and all(c.status == "pass" for c in graded):
            graded = results + _grade(lesson, specs, got)
        status, ids, message = _verdict(graded, got)
        if mutant is None:
            if status != "survived":
                plan.report.errors.append(
                    f"the reference solution does not pass {', '.join(ids)} in the VM "
                    f"({message}), so its mutants were not judged"
                )
                plan.report.results.clear()
                failed_baseline.add(lesson.id)
            continue
        plan.report.results.append(_settle(lesson, mutant, status, ids, message))
    for plan in plans:
        order = {(m.operator, m.line, m.description): i for i, m in enumerate(plan.mutants)}
        plan.report.results.sort(key=lambda r: order.get((r.operator, r.line, r.description), 0))


def _host_stages(
    lesson: Lesson, probe: Path, cmd_host: dict[str, Any], commands: list[str], python: str
) -> tuple[Recording, list[Any]]:
    """Static checks, then the command steps, on the host."""
    recording = Recording(
        lesson=lesson.id,
        probe_path=str(probe),
        probe_source=probe.read_text(encoding="utf-8", errors="replace"),
        host=dict(cmd_host),
    )
    results = _static_stage(lesson, probe)
    if any(r.status != "pass" for r in results):
        return recording, results
    results += _run_steps(lesson, probe, cmd_host, python, commands, recording)
    return recording, results


# ---------------------------------------------------------------- python -m runner.mutation


def _plan_text(lessons: list[Lesson]) -> str:
    lines = []
    for lesson in lessons:
        if lesson.solution is None:
            continue
        found, bad = mutants(lesson.solution.read_text())
        lines.append(f"{lesson.id}: {len(found)} mutants ({bad} dropped: not Python)")
        lines += [f"  {m.operator:<20} line {m.line:>4}  {m.description}" for m in found]
    return "\n".join(lines)


def _load(course_dir: Path, keys: list[str] | None) -> Course:
    """The whole course, or only the lessons asked for (each loaded on its own,
    so a problem in another lesson does not stop this one)."""
    from runner.course.load import load_course, load_lesson
    from runner.model import LESSON_ID, id_answers_to

    if not keys:
        return load_course(course_dir)
    course_dir = course_dir.resolve()
    folders = sorted(
        p.name for p in (course_dir / "lessons").iterdir() if p.is_dir() and LESSON_ID.match(p.name)
    )
    lessons = []
    for key in keys:
        # the same names as everywhere else: id, number, slug, or a challenge's code ("06c")
        match = [f for f in folders if id_answers_to(f, key.lower())]
        if not match:
            raise LookupError(f"there is no lesson {key!r} in {course_dir}/lessons.")
        lessons.append(load_lesson(course_dir, match[0]))
    return Course(title="", version="", dir=course_dir, lessons=lessons)


def main(argv: list[str] | None = None) -> int:
    from runner.paths import default_course

    parser = argparse.ArgumentParser(
        prog="python -m runner.mutation",
        description="The mutation gate: every mutant of a reference solution must fail a check.",
    )
    parser.add_argument("--course", default=str(default_course()), help="the course folder")
    parser.add_argument("--lesson", action="append", metavar="ID", help="only these lessons")
    parser.add_argument(
        "--vm",
        choices=("off", "on", "auto"),
        default="off",
        nargs="?",
        const="on",
        help="run lessons in a stock-kernel VM: on, off, or auto (those this kernel cannot run)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--markdown", action="store_true", help="print the operators x lessons table"
    )
    parser.add_argument("--junit", metavar="FILE", help="also write JUnit XML")
    parser.add_argument("--plan", action="store_true", help="list the mutants, run nothing")
    parser.add_argument(
        "--from-json",
        metavar="FILE",
        action="append",
        help="render reports saved with --json (merged in order) instead of running",
    )
    args = parser.parse_args(argv)

    if args.from_json:
        report = MutationReport()
        for name in args.from_json:
            try:
                report.lessons += MutationReport.from_json(
                    json.loads(Path(name).read_text())
                ).lessons
            except (OSError, ValueError, KeyError, TypeError) as exc:
                print(
                    f"runner.mutation: {name} is not a saved mutation report ({exc}).",
                    file=sys.stderr,
                )
                return 2
        report.lessons.sort(key=lambda lm: lm.lesson)
        return _emit(args, report)

    from runner.course.load import LoadError

    try:
        course = _load(Path(args.course), args.lesson)
    except LoadError as exc:
        print("\n".join(str(e) for e in exc.errors), file=sys.stderr)
        return 2
    except LookupError as exc:
        print(f"runner.mutation: {exc.args[0]}", file=sys.stderr)
        return 2
    lessons = course.lessons
    if args.plan:
        print(_plan_text(lessons))
        return 0

    from runner.live.host import detect, ensure_tracefs

    if args.vm != "on":
        advice = ensure_tracefs()
        if advice:
            print(f"warning: {advice}", file=sys.stderr)
    host = detect()

    def progress(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    report = run_mutation_gate(course, lessons, host, vm_mode=args.vm, on_progress=progress)
    return _emit(args, report)


MARKDOWN_HEAD = """# The mutation gate: operators x lessons

Each operator plants one classic eBPF mistake at a time in a lesson's
reference solution (`solutions/NN-slug/probe.py`); each mutant runs through
the lesson's own checks and must fail one (docs/evidence.md, "The mutation
gate"). A cell is killed/applied; `·`: the operator found nothing to change.
Everything not killed is listed below the table. The error-path operators
(`error-exit-zero`, `stderr-to-stdout`) are off by default: their mutants
sat on paths no run can take (not root, a failed compile). Regenerate with
`python -m runner.mutation --vm auto --markdown > docs/mutation.md` (or
render saved runs with `--from-json A.json --from-json B.json --markdown`).

"""


def _emit(args: argparse.Namespace, report: MutationReport) -> int:
    if args.junit:
        from runner.present.render import junit_xml

        Path(args.junit).write_text(junit_xml(report.junit_suites()))
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    elif args.markdown:
        print(MARKDOWN_HEAD + report.markdown(), end="")
    else:
        print(report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
