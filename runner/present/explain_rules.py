"""The known failures runner.present.explain recognises, as data: for each, the
pattern in a probe's error output, a title, the cause and the fix in plain
words, and how to find the learner's line it is about.

Each rule was learned from a real broken probe (tests/live/broken_probes/).
Order matters: the first rules are the most specific; `fallback` rules are
shown only when no specific one matched, and OVERRULED drops a general hint
when a more specific one explains the same failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

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
    # locate="clang": find the place by this clang warning rather than by the error.
    clang_warning: str | None = None
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
        "versions (do_sys_open became do_sys_openat2 in 5.6, do_filp_open became do_file_open "
        "in 7.0), get inlined, or are marked "
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
        # Not bcc's own source line ("... symbol %s in %s"), which its traceback quotes first.
        r"could not determine address of symbol (?P<sym>[^\s%]+) in (?P<binary>[^\s%\"]+)",
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
        # Kernel drift, found by the kernel matrix on Debian's 7.2: headers from
        # 6.19 on use tagged anonymous members ("union { struct ns_tree; ... }"),
        # which clang drops without -fms-extensions; bcc's own tools hit it too.
        "headers-ms-extensions",
        "this kernel's headers need clang's -fms-extensions",
        r"include/\S+\.h:\d+:\d+: error: (?:no member named '\w+' in 'struct ns_common'|"
        r"static_assert(?:ion)? failed due to requirement 'sizeof\(struct filename\))",
        "The kernel headers of this kernel (6.19 and later) declare struct members in a way "
        "(a Microsoft C extension) that clang reads only with -fms-extensions, so a header "
        "your probe includes does not compile; your own C is not at fault.",
        'Pass it when compiling: BPF(text=..., cflags=["-fms-extensions", '
        '"-Wno-microsoft-anon-tag"]) (older kernels accept it too).',
    ),
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
        # The verifier quotes only "}"; clang's -Wreturn-type warning names the place.
        clang_warning=r"^\S+?:\d+:\d+: warning: non-void function does not return",
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
        # only a KeyError raised inside bcc's own table lookup (BPF.__getitem__ /
        # get_table): a KeyError of the learner's own dict is another bug
        r"/bcc/__init__\.py\", line \d+, in (?:get_table|__getitem__)\n"
        r"(?:[ \t].*\n)*?KeyError\b(?:: b?'(?P<name>\w+)')?|Cannot find table",
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


# One hint per cause: when the key's rule matched, the rules in its set are dropped.
OVERRULED: dict[str, set[str]] = {
    "kprobes-missing": {"kprobe-not-traceable", "attach-failed"},
    "fentry-unsupported": {"not-root"},
    "map-null-check": {"verifier-invalid-mem"},
    "tracepoint-field": {"clang-error"},
    "ringbuf-unsupported": {"helper-unknown"},
    "tracefs-missing": {"tracepoint-missing", "kprobes-missing", "kprobe-not-traceable"},
}
