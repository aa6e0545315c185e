"""bcc, clang, verifier and attach errors, explained in plain words.

`explain(stderr_text, source)` matches what a probe printed against a table
of known failures (each learned from a real broken probe, see
tests/live/broken_probes/) and returns hints: what went wrong, how to fix
it, and where possible the line of the learner's file it is about. Lines
are found by the TEXT clang or the verifier quote, not by their numbers:
bcc adds lines of its own (tracepoint structs) and rewrites the program
before the verifier sees it, so `/virtual/main.c:16` is rarely line 16 of
the learner's C.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

LineOf = Literal["file", "bpf-text", ""]


@dataclass(frozen=True)
class Hint:
    title: str
    cause: str
    fix: str
    line: int | None = None  # see line_of
    id: str = ""  # stable name of the rule, for tests and docs
    line_of: LineOf = ""  # "file": line of the probe file; "bpf-text": of the C text
    c_line: int | None = None  # line within the BPF C text (1 = its first line)

    def location(self, filename: str = "your probe") -> str:
        """Say which line: 'probe.py line 12 (line 4 of the BPF text)'."""
        if self.line is None:
            return ""
        if self.line_of == "file":
            extra = f" (line {self.c_line} of the BPF text)" if self.c_line else ""
            return f"{filename} line {self.line}{extra}"
        return f"line {self.line} of the BPF text"


# How a rule finds the line it is about.
Locate = Literal["clang", "verifier", "traceback", "none"]


@dataclass(frozen=True)
class Rule:
    id: str
    title: str
    pattern: str  # re.search over the whole text, MULTILINE
    cause: str  # may use the pattern's named groups: {func}
    fix: str
    locate: Locate = "none"
    source_pattern: str | None = None  # the probe text must match this as well
    source_line: str | None = None  # regex: the first source line matching is the place
    fallback: bool = False  # shown only when no specific rule matched
    # An extra test on (host facts or None, the match), for what text alone cannot settle.
    when: Callable[[dict[str, Any] | None, re.Match[str]], bool] | None = None


def _tracefs_missing(host: dict[str, Any] | None, match: re.Match[str]) -> bool:
    """With host facts, believe them. Without, bcc's own choice tells: it uses
    /sys/kernel/tracing only when /sys/kernel/debug/tracing is absent."""
    if host is not None and "tracefs" in host:
        return not (host["tracefs"] and host.get("debugfs", True))
    return match.group("path") == "tracing"


VM = "run the lesson in a VM with `course check LESSON --vm`"
TRACING = "/sys/kernel/debug/tracing"

RULES: tuple[Rule, ...] = (
    # ------------------------------------------------ environment
    Rule(
        "bcc-missing",
        "bcc is not importable",
        r"ModuleNotFoundError: No module named 'bcc'",
        "bcc comes from the distribution (python3-bpfcc), not from PyPI, and this interpreter "
        "does not see the system's packages.",
        "Run ./setup.sh, then use the course's .venv/bin/python (made with "
        "--system-site-packages) or /usr/bin/python3.",
    ),
    Rule(
        "headers-missing",
        "kernel headers are missing",
        r"Unable to find kernel headers|chdir\(/lib/modules/[^)]*/build\): No such file"
        r"|fatal error: '(?:linux|asm|uapi)/[^']+' file not found",
        "bcc compiles your C against the kernel headers in /lib/modules/$(uname -r)/build, "
        "and there are none for this kernel.",
        "Run ./setup.sh: it installs linux-headers-$(uname -r), or links the distribution's "
        "default headers as an announced fallback.",
    ),
    Rule(
        "lockdown",
        "kernel lockdown refuses this",
        r"[Ll]ockdown|kernel_lockdown",
        "The kernel is in lockdown mode (often with Secure Boot), which forbids some BPF "
        "features, such as reading kernel memory, even for root.",
        "Check /sys/kernel/security/lockdown; turn Secure Boot lockdown off for this machine, "
        f"or {VM}.",
    ),
    Rule(
        "fentry-unsupported",
        "this kernel refuses fentry/KFUNC_PROBE programs",
        r"Operation not permitted|Need super-user privileges",
        "KFUNC_PROBE and KRETFUNC_PROBE load as fentry/fexit programs, which need BTF and BPF "
        "trampolines; this kernel refuses them even though you are root.",
        f"Use a kprobe or a tracepoint instead, or {VM}.",
        source_pattern=r"\bK(?:RET)?FUNC_PROBE\s*\(",
        source_line=r"\bK(?:RET)?FUNC_PROBE\s*\(",
    ),
    Rule(
        "not-root",
        "loading BPF needs root",
        r"Need super-user privileges to run|bpf: Failed to load program: Operation not permitted"
        r"|Failed to (?:create|load)[^\n]*Operation not permitted",
        "The kernel refused to load the program: the probe did not run as root (or without "
        "CAP_BPF and CAP_PERFMON).",
        "Let the course run it (it uses sudo -n), or run it yourself with "
        "`sudo .venv/bin/python probe.py`.",
        when=lambda host, _: host is None or not host.get("root", False),
    ),
    Rule(
        "tracefs-missing",
        "tracefs is not mounted",
        r"open\(/sys/kernel/(?P<path>(?:debug/)?tracing)/[^)]*\): No such file",
        "bcc finds tracepoints and probe events in tracefs (/sys/kernel/debug/tracing), "
        "which is not mounted on this machine.",
        "Run `sudo mount -t tracefs tracefs /sys/kernel/tracing && sudo mount -t debugfs "
        "debugfs /sys/kernel/debug` (./setup.sh does it too).",
        when=lambda host, match: _tracefs_missing(host, match),
    ),
    # ------------------------------------------------ attaching
    Rule(
        "kprobes-missing",
        "this kernel has no kprobes",
        r"kprobe_events\): No such file or directory",
        "This kernel was built without CONFIG_KPROBES, so no kprobe can attach to any "
        "function; your code may well be right.",
        f"{VM.capitalize()}, which boots a stock distribution kernel that has kprobes.",
        locate="traceback",
    ),
    Rule(
        "kprobe-not-traceable",
        "the kernel function cannot be probed",
        r"to kprobe b?'?(?P<func>[\w.]+)'?, it's not traceable"
        r"|cannot attach kprobe, probe entry may not exist",
        "No traceable kernel function has that name: functions get renamed between kernel "
        "versions (do_sys_open became do_sys_openat2 in 5.6), get inlined, or are marked "
        "notrace.",
        f"Check the name with `grep -w NAME /proc/kallsyms` or in {TRACING}/"
        "available_filter_functions, or use a tracepoint, which is a stable interface.",
        locate="traceback",
    ),
    Rule(
        "tracepoint-missing",
        "that tracepoint does not exist",
        r"open\(\S*/events/(?P<category>[^/]+)/(?P<event>[^/)]+)/(?:id|format)\): No such file",
        "There is no tracepoint {category}:{event} on this kernel (a misspelling, or a "
        "syscall that has another name here).",
        f"List them with `ls {TRACING}/events/{{category}}/` or `tplist-bpfcc '{{category}}:*'`.",
        source_line=r"TRACEPOINT_PROBE\s*\(\s*{category}\s*,\s*{event}\b",
    ),
    Rule(
        "uprobe-not-found",
        "the uprobe target was not found",
        r"could not determine address of symbol (?P<sym>\S+) in (?P<binary>\S+)",
        "bcc could not find the function {sym} in {binary}: the binary or library does not "
        "exist, is not that path, or does not export that symbol.",
        'Give an existing path or a library name like "c" (for libc), and check the '
        "symbol with `nm -D PATH | grep SYMBOL`.",
        locate="traceback",
    ),
    Rule(
        "ctx-past-record",
        "the program reads past the tracepoint's record",
        r"ioctl\(PERF_EVENT_IOC_SET_BPF\): Permission denied",
        "The kernel refused to attach because the program reads further into its context "
        "than this tracepoint's record is long.",
        f"Read only the fields listed in {TRACING}/events/CATEGORY/NAME/format, through "
        "args->field.",
    ),
    # ------------------------------------------------ clang
    Rule(
        "tracepoint-field",
        "that field is not in the tracepoint",
        r"no member named '(?P<field>\w+)' in 'struct tracepoint__(?P<category>\w+?)__"
        r"(?P<event>\w+)'",
        "The tracepoint {category}:{event} has no field '{field}'; args-> only has the fields "
        "of its format file.",
        f"Read `cat {TRACING}/events/{{category}}/{{event}}/format` and use a name from it.",
        locate="clang",
    ),
    Rule(
        "clang-undeclared",
        "a name is not declared",
        r"error: (?:use of undeclared identifier|call to undeclared function|"
        r"implicit declaration of function) '(?P<name>\w+)'",
        "The C code uses '{name}', which is neither declared before that line nor a bcc "
        "helper (a misspelling, or a variable from another function).",
        "Declare it, or fix the spelling (clang's 'did you mean' note names the closest match).",
        locate="clang",
    ),
    Rule(
        "clang-syntax",
        "a C syntax error",
        r"error: expected (?P<what>[^\n]+)",
        "clang could not parse the C: it expected {what}.",
        "Look at the end of the marked line and of the line before it (a missing ';' or "
        "brace is reported where clang noticed it).",
        locate="clang",
    ),
    Rule(
        "stack-limit",
        "the BPF stack limit of 512 bytes is exceeded",
        r"BPF stack limit of 512 bytes is exceeded|combined stack size of \d+ calls",
        "A BPF program has 512 bytes of stack; local variables (a large char array) "
        "take more than that.",
        "Make the buffer smaller, or keep it in a BPF_PERCPU_ARRAY map entry instead of "
        "on the stack.",
        source_line=r"\[\s*(?:[5-9]\d\d|[1-9]\d\d\d+)\s*\]",
    ),
    Rule(
        "clang-error",
        "the C code does not compile",
        r"(?:/virtual/main\.c|\S+\.c):\d+:\d+: error: (?P<message>[^\n]+)",
        "clang stopped with: {message}",
        "Fix the marked line; the lines after the error in the output show where clang looked.",
        locate="clang",
        fallback=True,
    ),
    # ------------------------------------------------ verifier
    Rule(
        "map-null-check",
        "a map value is used without a NULL check",
        r"invalid mem access '(?:map_value_or_null|ptr_or_null_|[\w_]*or_null)",
        "lookup() returns NULL when the key is missing, and the verifier refuses a pointer "
        "that might be NULL.",
        "Check it first: `u64 *v = map.lookup(&key); if (v) { ... }` (or use "
        "lookup_or_try_init / increment).",
        locate="verifier",
    ),
    Rule(
        "verifier-invalid-mem",
        "the verifier refused a memory read",
        r"R\d+ invalid mem access '(?P<what>[^']+)'",
        "The program dereferences a pointer the verifier cannot prove safe ('{what}'), "
        "typically a user-space pointer such as args->filename read with '*'.",
        "Copy through a helper: bpf_probe_read_user_str(buf, sizeof(buf), args->filename) "
        "for user memory, bpf_probe_read_kernel for kernel memory.",
        locate="verifier",
    ),
    Rule(
        "verifier-ctx",
        "invalid access to the program's context",
        r"invalid bpf_context access off=(?P<off>-?\d+) size=(?P<size>\d+)",
        "The program reads its context at offset {off} with size {size}, which this program "
        "type does not allow (a wrong field, a wrong cast, or a misaligned read).",
        "Use args->field for tracepoints and ctx->args[N] for raw tracepoints instead of "
        "pointer arithmetic on the context.",
        locate="verifier",
    ),
    Rule(
        "verifier-r0",
        "the program does not return a value",
        r"R0 !read_ok",
        "The function ends without `return`, so the value it returns (register R0) is "
        "undefined and the verifier refuses it.",
        "End every path of the probe function with `return 0;`.",
        locate="clang",
    ),
    Rule(
        "verifier-loop",
        "the verifier found a loop it cannot bound",
        r"infinite loop detected|back-edge from insn|loop is not bounded",
        "The verifier must see every loop end; this one has no limit it can prove.",
        "Give the loop a constant bound (`for (int i = 0; i < 16; i++)`) or use "
        "`#pragma unroll` on kernels older than 5.3.",
        locate="verifier",
        source_line=r"\b(?:while|for)\s*\(",
    ),
    Rule(
        "program-too-large",
        "the program is too large or too complex",
        r"BPF program is too large|is too complex|processed 1000001 insn",
        "The verifier walks every path and gave up after a million instructions.",
        "Make loops shorter, move work to user space, or split the work over tail calls.",
    ),
    Rule(
        "ringbuf-unsupported",
        "this kernel has no BPF ring buffer",
        r"unknown func bpf_ringbuf_\w+|could not open bpf map: \w+, error: Invalid argument",
        "BPF_RINGBUF_OUTPUT needs Linux 5.8 or newer.",
        f"Use BPF_PERF_OUTPUT with open_perf_buffer/perf_buffer_poll instead, or {VM}.",
        source_pattern=r"BPF_RINGBUF_OUTPUT|ringbuf",
    ),
    Rule(
        "helper-not-allowed",
        "this program type cannot call that helper",
        r"program of this type cannot use helper (?P<helper>\w+)#\d+",
        "{helper} is not available to this kind of program (e.g. socket helpers in a "
        "tracing probe).",
        "Use a helper made for tracing programs (bpf_get_current_pid_tgid, "
        "bpf_probe_read_user, ...); see `man bpf-helpers`.",
        locate="verifier",
        source_line=r"\b{helper}\s*\(",
    ),
    Rule(
        "helper-unknown",
        "this kernel does not know that helper",
        r"unknown func (?P<helper>\w+)#\d+",
        "{helper} is newer than this kernel (bpf_probe_read_user* needs 5.5, bpf_ringbuf_* 5.8).",
        f"Use an older equivalent (bpf_probe_read, bpf_probe_read_str), or {VM}.",
        locate="verifier",
        source_line=r"\b{helper}\s*\(",
    ),
    Rule(
        "verifier-rejected",
        "the verifier rejected the program",
        r"bpf: Failed to load program: (?P<error>[^\n]+)",
        "The kernel's verifier refused the program ({error}); the last lines of its log, "
        "just before 'processed N insns', say why.",
        "Read the last log lines: the '; ... @ main.c' line above them quotes the C "
        "statement concerned.",
        locate="verifier",
        fallback=True,
    ),
    # ------------------------------------------------ Python side
    Rule(
        "table-not-found",
        "no map of that name",
        r"in get_table\n.*\n?KeyError|Cannot find table|KeyError: b?'(?P<name>\w+)'",
        'b["NAME"] must use exactly the name given in BPF_HASH(NAME, ...), '
        "BPF_PERF_OUTPUT(NAME) ...; this name is not one of them.",
        "Use the same name in Python as in the C text.",
        locate="traceback",
    ),
    Rule(
        "wrong-map-type",
        "that method belongs to another kind of map",
        r"'(?P<cls>\w*(?:Table|Hash|Array|RingBuf|StackTrace|Queue|Stack)\w*)' object has no "
        r"attribute '(?P<attr>\w+)'",
        "The map is a {cls}, which has no {attr}: open_perf_buffer needs BPF_PERF_OUTPUT, "
        "open_ring_buffer needs BPF_RINGBUF_OUTPUT.",
        "Declare the map with the macro matching what Python does with it.",
        locate="traceback",
    ),
    Rule(
        "struct-size-mismatch",
        "the Python struct does not match the C struct",
        r"Buffer size too small \((?P<got>\d+) instead of at least (?P<want>\d+) bytes\)",
        "The ctypes Structure is {want} bytes but the C program sends {got}: its fields, "
        "their sizes or their order differ from the C struct.",
        "Make the ctypes fields mirror the C struct exactly (u32 -> c_uint32, u64 -> "
        'c_uint64, char[16] -> c_char * 16), or use b["events"].event(data).',
        locate="traceback",
    ),
    Rule(
        "lost-samples",
        "events were lost",
        r"Possibly lost (?P<n>\d+) samples",
        "The perf buffer filled up before Python read it, and the kernel dropped {n} events.",
        "Pass a bigger page_cnt to open_perf_buffer (a power of two, e.g. 64), poll more "
        "often, filter in the kernel, or count lost events with lost_cb.",
    ),
    Rule(
        "attach-failed",
        "the program loaded but did not attach",
        r"Failed to attach BPF (?:program )?[^\n]*",
        "bcc compiled and loaded the program, but the kernel refused to connect it to the event.",
        "Check the event name; `course doctor` says which probe types this kernel supports.",
        fallback=True,
    ),
)

# A source-only finding: it needs no error, only the probe text.
KERNEL_READ_OF_USER = Rule(
    "read-user-with-kernel",
    "user memory read with a kernel helper",
    r"",
    "The probe reads a user-space pointer (args->filename, a syscall argument) with "
    "bpf_probe_read_kernel*, which fails on most kernels and leaves the buffer empty.",
    "Use bpf_probe_read_user_str for strings from user space (bpf_probe_read_user for other data).",
    source_line=r"bpf_probe_read_kernel(?:_str)?\s*\([^;]*\bargs->",
)


# ---------------------------------------------------------------- finding the line


_CLANG_LOCATION = re.compile(r"^(?P<file>\S+?):(?P<line>\d+):(?P<col>\d+): (?:error|warning): ")
_VERIFIER_SOURCE = re.compile(r"^; (?P<text>.*?) @ \S+:\d+\s*$")
_TRACEBACK_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+)')
_LIBRARY_PATH = re.compile(r"/(?:bcc|ctypes|lib/python3[\d.]*|dist-packages|site-packages)/")


def _text_lines(text: str) -> list[str]:
    return text.splitlines()


def _line_index(text: str, position: int) -> int:
    return text.count("\n", 0, position)


def _quoted_by_clang(lines: list[str], at: int) -> tuple[str | None, int | None]:
    """The source text clang quotes under its location line at or before `at`,
    and the line number clang gives (in bcc's /virtual/main.c)."""
    for index in range(at, -1, -1):
        match = _CLANG_LOCATION.match(lines[index])
        if match:
            quoted = lines[index + 1] if index + 1 < len(lines) else None
            return quoted, int(match.group("line"))
    return None, None


def _quoted_by_verifier(lines: list[str], at: int) -> str | None:
    """The last '; <C statement> @ main.c:N' line before the verifier's complaint."""
    for index in range(at, -1, -1):
        match = _VERIFIER_SOURCE.match(lines[index])
        if match and match.group("text").strip():
            return match.group("text")
    return None


def _traceback_line(lines: list[str]) -> int | None:
    """The innermost traceback frame in the learner's code (not bcc, not ctypes)."""
    found = None
    for line in lines:
        match = _TRACEBACK_FRAME.match(line)
        if match and not _LIBRARY_PATH.search(match.group("file")):
            found = int(match.group("line"))
    return found


def _c_texts(source: str) -> list[tuple[int, int]]:
    """(first, last) file lines of string constants that look like C programs."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []  # not Python: the source is the C text itself
    spans = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if "\n" in node.value and re.search(r"[{};]", node.value):
                spans.append((node.lineno, node.end_lineno or node.lineno))
    return spans


def _find_in_source(source: str, quoted: str, near: int | None) -> int | None:
    """The source line whose text is `quoted` (whitespace-insensitive). When
    several match, take the one closest to `near` from below: bcc only ever
    ADDS lines before the learner's, so its numbers are too large, not small."""
    want = " ".join(quoted.split())
    if not want:
        return None
    candidates = [
        number
        for number, line in enumerate(source.splitlines(), start=1)
        if " ".join(line.split()) == want
    ]
    if not candidates:
        return None
    if near is None or len(candidates) == 1:
        return candidates[0]
    below = [c for c in candidates if c <= near]
    return max(below) if below else candidates[0]


def _first_source_line(source: str, pattern: str) -> int | None:
    for number, line in enumerate(source.splitlines(), start=1):
        if re.search(pattern, line):
            return number
    return None


def _place(source: str | None, file_line: int | None, raw_c_line: int | None) -> dict[str, Any]:
    """Hint fields for a file line (when the source is known) or a C-text line."""
    if source is None:
        if raw_c_line is None:
            return {}
        return {"line": raw_c_line, "line_of": "bpf-text", "c_line": raw_c_line}
    if file_line is None:
        return {}
    spans = _c_texts(source)
    if not spans and _looks_like_c(source):
        return {"line": file_line, "line_of": "bpf-text", "c_line": file_line}
    c_line = next((file_line - a + 1 for a, b in spans if a <= file_line <= b), None)
    return {"line": file_line, "line_of": "file", "c_line": c_line}


def _looks_like_c(source: str) -> bool:
    try:
        ast.parse(source)
    except SyntaxError:
        return True
    return False


def _locate(rule: Rule, text: str, match: re.Match[str], source: str | None) -> dict[str, Any]:
    """Where the hint points: by the rule's strategy, else by its source_line
    regex (which may name the match's groups, e.g. the helper's name)."""
    place = _locate_by_output(rule, text, match.start(), source)
    if place or source is None or not rule.source_line:
        return place
    groups = {k: re.escape(v) for k, v in match.groupdict().items() if v}
    try:
        pattern = (
            rule.source_line.format_map(groups) if "{" in rule.source_line else rule.source_line
        )
    except (KeyError, ValueError, IndexError):
        return {}
    found = _first_source_line(source, pattern)
    return _place(source, found, None) if found else {}


def _locate_by_output(rule: Rule, text: str, at: int, source: str | None) -> dict[str, Any]:
    lines = _text_lines(text)
    index = _line_index(text, at)
    if rule.locate == "clang":
        quoted, clang_line = _quoted_by_clang(lines, index)
        if rule.id == "verifier-r0":
            # The verifier quotes only "}"; clang's -Wreturn-type warning names the place.
            warning = re.search(
                r"^\S+?:\d+:\d+: warning: non-void function does not return", text, re.M
            )
            if not warning:
                return {}
            quoted, clang_line = _quoted_by_clang(lines, _line_index(text, warning.start()))
        if quoted is None or source is None:
            return {}  # without the source: bcc's numbering includes its own lines
        return _place(source, _find_in_source(source, quoted, _estimate(source, clang_line)), None)
    if rule.locate == "verifier":
        quoted = _quoted_by_verifier(lines, index)
        if quoted is None or source is None:
            return {}
        return _place(source, _find_in_source(source, quoted, None), None)
    if rule.locate == "traceback":
        found = _traceback_line(lines)
        if found is None:
            return {}
        if source is None:
            return {"line": found, "line_of": "file"}
        return _place(source, found, None)
    return {}


def _estimate(source: str, clang_line: int | None) -> int | None:
    """Where clang's number would land in the file if bcc added nothing."""
    if clang_line is None:
        return None
    spans = _c_texts(source)
    if not spans:
        return clang_line
    first = min(spans, key=lambda span: span[0])[0]
    return first + clang_line - 1


# ---------------------------------------------------------------- the entry point


def _render(template: str, groups: dict[str, str | None]) -> str:
    values = {k: (v or "?").strip("'") for k, v in groups.items()}
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError):
        return template


def _hint(rule: Rule, match: re.Match[str] | None, place: dict[str, Any]) -> Hint:
    groups = match.groupdict() if match else {}
    return Hint(
        title=rule.title,
        cause=_render(rule.cause, groups),
        fix=_render(rule.fix, groups),
        id=rule.id,
        **place,
    )


def explain(
    stderr_text: str, source: str | None = None, *, host: dict[str, Any] | None = None
) -> list[Hint]:
    """Hints for a probe's error output, most specific first.

    `source` is the probe file's text (Python with the C inside, or C
    alone); with it, hints point at lines of that file. `host` (runner.live.host
    facts) settles questions the text alone cannot, e.g. whether "not
    permitted" came from a non-root run.
    """
    text = stderr_text.replace("\r\n", "\n")
    hints: list[Hint] = []
    fallbacks: list[Hint] = []
    for rule in RULES:
        match = re.search(rule.pattern, text, re.MULTILINE)
        if not match:
            continue
        if rule.source_pattern and not (source and re.search(rule.source_pattern, source)):
            continue
        if rule.when is not None and not rule.when(host, match):
            continue
        hint = _hint(rule, match, _locate(rule, text, match, source))
        (fallbacks if rule.fallback else hints).append(hint)
    if source is not None:
        rule = KERNEL_READ_OF_USER
        line = _first_source_line(source, rule.source_line or "")
        if line is not None:
            hints.append(_hint(rule, None, _place(source, line, None)))
    return _dedupe(hints or fallbacks)


def _dedupe(hints: list[Hint]) -> list[Hint]:
    """One hint per cause: the first (most specific) rule wins its family."""
    overruled = {
        "kprobes-missing": {"kprobe-not-traceable", "attach-failed"},
        "fentry-unsupported": {"not-root"},
        "map-null-check": {"verifier-invalid-mem"},
        "tracepoint-field": {"clang-error"},
        "ringbuf-unsupported": {"helper-unknown"},
        "tracefs-missing": {"tracepoint-missing", "kprobes-missing", "kprobe-not-traceable"},
    }
    present = {h.id for h in hints}
    dropped = set().union(*(overruled.get(i, set()) for i in present))
    return [h for h in hints if h.id not in dropped]


def format_hints(hints: list[Hint], filename: str = "your probe") -> str:
    """Plain text for the CLI: one block per hint."""
    blocks = []
    for hint in hints:
        where = hint.location(filename)
        head = f"{hint.title}" + (f" ({where})" if where else "")
        blocks.append(f"{head}\n  why: {hint.cause}\n  fix: {hint.fix}")
    return "\n\n".join(blocks)
