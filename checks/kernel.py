"""Check kinds over the kernel's own view of a run (docs/evidence.md): which
BPF programs the probe held and where they were attached, what its maps
held when it was stopped, how many perf events carried its program, how
large the perf buffer rings it mapped were; and which bpf() calls the
kernel accepted from the probe's processes (`Run.bpf_calls`, from ftrace),
for a probe that exits before any snapshot could see what it loaded.

A probe's printed lines are a claim; these read the evidence the runner
recorded (`Run.evidence`), so a probe that prints the expected lines without
loading anything fails here with a sentence naming what it held instead.
"""

from __future__ import annotations

import fnmatch
import os
from typing import Any

from checks.api import (
    COUNT,
    STREAM,
    TEMPLATE,
    CheckError,
    cap_note,
    cite,
    compile_regex,
    generic_kind,
    lines_of,
    plural,
    require_number,
    shorten,
)
from checks.context import Context
from runner.model import Run, Verdict

ATTACH_KINDS = (
    "tracepoint",
    "raw_tracepoint",
    "kprobe",
    "kretprobe",
    "uprobe",
    "uretprobe",
    "perf_event",
)
INTEGER = {"anyOf": [{"type": "integer"}, TEMPLATE]}
STRINGS = {
    "anyOf": [
        {"type": "string", "minLength": 1},
        {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
    ]
}
_SHOWN = 4  # keys / programs quoted in a message


# ---------------------------------------------------------------- the snapshots


def _judge_note(message: str) -> CheckError:
    return CheckError(f"This could not be judged: {message[0].lower()}{message[1:]}")


def _evidence(ctx: Context) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(ready, stop) snapshots; CheckError when there is no evidence to judge."""
    run = ctx.run
    if run is None:
        raise CheckError("This check needs a run, and none was recorded.")
    if run.error and not run.evidence:
        raise _judge_note(run.error)
    snaps = {snap.get("at"): snap for snap in run.evidence}
    if not snaps:
        if not run.ready:
            raise _judge_note(
                "the probe never reported ready, so the runner took no kernel evidence."
            )
        raise _judge_note(
            "this run recorded no kernel evidence (a recording from before evidence was "
            "taken, or evidence turned off); run the check again."
        )
    for snap in snaps.values():
        if snap.get("error"):
            raise _judge_note(snap["error"])
    return snaps.get("ready"), snaps.get("stop")


def _no_stop(run: Run, what: str) -> CheckError:
    if run.stop_reason == "exited":
        ended = (
            f"exit code {run.exit_code}" if run.exit_code is not None else f"signal {run.signal}"
        )
        return _judge_note(
            f"the probe exited by itself ({ended}) before the runner's stop snapshot, so "
            f"{what} were not read; keep the probe running until it is interrupted (Ctrl-C)."
        )
    return _judge_note(
        f"the runner took no stop snapshot (the run ended: {run.stop_reason or 'unknown'}), "
        f"so {what} were not read."
    )


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


# ---------------------------------------------------------------- attach patterns


def parse_attach(pattern: str) -> tuple[str, str | None, str | None]:
    """`KIND:TARGET` → (kind, target, symbol); `uprobe:FILE:SYMBOL` has a symbol."""
    kind, _, rest = pattern.partition(":")
    if kind not in ATTACH_KINDS:
        raise CheckError(
            f"The attach pattern {pattern!r} must start with one of {', '.join(ATTACH_KINDS)}, "
            "then a colon and the target."
        )
    if kind == "perf_event":
        return kind, None, None
    if not rest:
        raise CheckError(f"The attach pattern {pattern!r} names no target after {kind}:.")
    if kind in ("uprobe", "uretprobe"):
        file, _, symbol = rest.partition(":")
        return kind, file, symbol or None
    return kind, rest, None


def _file_matches(pattern: str, path: str) -> bool:
    """A path, a file name, or a library as bcc names it (`c`, `libc`)."""
    base = os.path.basename(path)
    want = os.path.basename(pattern)
    return (
        fnmatch.fnmatchcase(path, pattern)
        or fnmatch.fnmatchcase(base, want)
        or base.startswith(f"{want}.so")
        or base.startswith(f"lib{want}.so")
    )


def attach_matches(pattern: tuple[str, str | None, str | None], attach: dict[str, Any]) -> bool:
    kind, target, symbol = pattern
    if attach.get("kind") != kind:
        return False
    if kind == "perf_event":
        return True
    got = attach.get("target")
    if not isinstance(got, str) or target is None:
        return False
    if kind == "tracepoint" and (":" not in got or ":" not in target):
        # the kernel reports a tracepoint's name; its category may be unknown
        return fnmatch.fnmatchcase(got.split(":")[-1], target.split(":")[-1])
    if kind in ("uprobe", "uretprobe"):
        if not _file_matches(target, got):
            return False
        return symbol is None or fnmatch.fnmatchcase(attach.get("symbol") or "", symbol)
    return fnmatch.fnmatchcase(got, target)


def describe_attach(attach: dict[str, Any]) -> str:
    kind, target = attach.get("kind"), attach.get("target")
    if kind == "perf_event":
        events = attach.get("events")
        return f"a perf_event program on {plural(events, 'perf event')}" if events else kind
    if kind in ("uprobe", "uretprobe"):
        where = attach.get("symbol") or f"offset 0x{attach.get('offset') or 0:x}"
        return f"a {kind} on {target} ({where})"
    return f"a {kind} on {target}"


def _describe_pattern(pattern: tuple[str, str | None, str | None]) -> str:
    kind, target, symbol = pattern
    if kind == "perf_event":
        return "a perf_event program on sampling perf events"
    return f"a {kind} on {target}" + (f" ({symbol})" if symbol else "")


def _programs(snaps: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Programs of all snapshots by id, attach points merged."""
    found: dict[int, dict[str, Any]] = {}
    for snap in snaps:
        for program in snap.get("programs", []):
            known = found.setdefault(program["id"], {**program, "attach": []})
            for attach in program.get("attach", []):
                if attach not in known["attach"]:
                    known["attach"].append(attach)
    return found


def _held(programs: list[dict[str, Any]]) -> str:
    """What the probe held, for a failure message."""
    if not programs:
        return "no BPF program"
    parts = []
    for program in programs[:_SHOWN]:
        if program["attach"]:
            parts += [describe_attach(a) for a in program["attach"]]
        else:
            parts.append(f"a {program['type']} program ({program['name']}) attached nowhere")
    more = len(programs) - _SHOWN
    if more > 0:
        parts.append(plural(more, "more program"))
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _not_wanted(
    programs: list[dict[str, Any]], patterns: list[tuple[str, str | None, str | None]]
) -> str:
    """'not do_sys_openat2' when the kinds agree, else 'not a tracepoint on ...'."""
    kinds = {a.get("kind") for p in programs for a in p["attach"]}
    if len(patterns) == 1 and kinds == {patterns[0][0]} and patterns[0][1]:
        return f"not {patterns[0][1]}"
    return "not " + " or ".join(_describe_pattern(p) for p in patterns)


@generic_kind(
    "kernel.program",
    {
        "properties": {"attach": STRINGS, "min_runs": COUNT},
        "required": ["attach"],
    },
)
def program(params: dict[str, Any], ctx: Context) -> Verdict:
    """The probe held a BPF program attached at one of the given hooks (and,
    with min_runs, it ran at least that often while the workload ran)."""
    patterns = [parse_attach(p) for p in _as_list(params["attach"])]
    ready, stop = _evidence(ctx)
    snaps = [s for s in (ready, stop) if s]
    programs = list(_programs(snaps).values())
    hooked = [
        p for p in programs if any(attach_matches(pat, a) for pat in patterns for a in p["attach"])
    ]
    want = " or ".join(_as_list(params["attach"]))
    expected: dict[str, Any] = {"attach": _as_list(params["attach"])}
    observed: dict[str, Any] = {
        "programs": [
            {"type": p["type"], "name": p["name"], "attach": p["attach"]} for p in programs
        ]
    }
    if not hooked:
        held = _held(programs)
        if not programs:
            message = (
                f"The probe held no BPF program while it ran, so nothing was attached at "
                f"{want}; load your program and attach it there."
            )
        else:
            message = (
                f"The probe held {held}, {_not_wanted(programs, patterns)}; attach your "
                "program there."
            )
        return Verdict("fail", message, expected=expected, observed=observed)
    names = ", ".join(f"{p['type']} program {p['name']!r}" for p in hooked[:_SHOWN])
    where = ", ".join(describe_attach(a) for p in hooked for a in p["attach"][:1])
    if "min_runs" not in params:
        return Verdict(
            "pass",
            f"The probe's {names} is attached ({where}).",
            expected=expected,
            observed=observed,
        )
    need = int(require_number(params["min_runs"], "min_runs"))
    expected["min_runs"] = need
    run = ctx.run
    assert run is not None
    if stop is None:
        raise _no_stop(run, "the programs' run counts")
    if not (stop.get("stats") and (ready is None or ready.get("stats"))):
        return Verdict(
            "pass",
            f"The probe's {names} is attached ({where}); run counts were not recorded on "
            "this machine, so min_runs was not judged.",
            expected=expected,
            observed=observed,
        )
    before = {p["id"]: p.get("run_cnt") or 0 for p in (ready or {}).get("programs", [])}
    after = {p["id"]: p.get("run_cnt") or 0 for p in stop.get("programs", [])}
    runs = sum(max(0, after.get(p["id"], 0) - before.get(p["id"], 0)) for p in hooked)
    observed["runs"] = runs
    if runs >= need:
        return Verdict(
            "pass",
            f"The probe's {names} is attached ({where}) and ran {plural(runs, 'time')} while "
            f"the workload ran (at least {need}).",
            expected=expected,
            observed=observed,
        )
    return Verdict(
        "fail",
        f"The probe's program attached at {want} ran {plural(runs, 'time')} between the ready "
        f"line and the stop, fewer than the {need} the workload's actions trigger; keep it "
        "attached (and print the ready line only once it is) while the workload runs.",
        expected=expected,
        observed=observed,
    )


# ---------------------------------------------------------------- maps


def key_ints(hexkey: str) -> set[int]:
    """The integers a key may stand for: its whole width (≤ 8 bytes) and its
    first 4 and 8 bytes, little-endian (a struct key starting with a pid)."""
    raw = bytes.fromhex(hexkey)
    found = set()
    if len(raw) <= 8:
        found.add(int.from_bytes(raw, "little"))
    for width in (4, 8):
        if len(raw) >= width:
            found.add(int.from_bytes(raw[:width], "little"))
    return found


def _wanted_key(key: int) -> set[int]:
    """A negative key as two's complement of the widths keys come in."""
    return {key} if key >= 0 else {key, key & 0xFFFFFFFF, key & 0xFFFFFFFFFFFFFFFF}


def _values(entry: dict[str, Any]) -> list[bytes]:
    if "values" in entry:
        return [bytes.fromhex(v) for v in entry["values"]]
    return [bytes.fromhex(entry.get("value", ""))]


def value_int(entry: dict[str, Any]) -> int:
    """The value's first 8 bytes (or all, when shorter) as a LE integer; per-CPU summed."""
    return sum(int.from_bytes(v[:8], "little") for v in _values(entry))


def value_words(entry: dict[str, Any]) -> set[int]:
    """Every LE u32 and u64 at a 4-byte-aligned offset (per-CPU: summed per offset)."""
    values = _values(entry)
    size = max((len(v) for v in values), default=0)
    found = set()
    for off in range(0, size, 4):
        for width in (4, 8):
            if off + width <= size:
                found.add(sum(int.from_bytes(v[off : off + width], "little") for v in values))
    return found


def _nonzero(entry: dict[str, Any]) -> bool:
    return any(any(v) for v in _values(entry))


def _key_text(entry: dict[str, Any]) -> str:
    raw = bytes.fromhex(entry["key"])
    return str(int.from_bytes(raw[:8] if len(raw) <= 8 else raw[:4], "little"))


def key_string(hexkey: str) -> str | None:
    """A key that is text padded with NULs (a char[16] comm), else None."""
    raw = bytes.fromhex(hexkey)
    text, _, pad = raw.partition(b"\0")
    if not text or any(pad) or not all(32 <= b < 127 for b in text):
        return None
    return text.decode("ascii")


def _key_shown(entry: dict[str, Any]) -> str:
    """How a message names a key: its text when it is text, else its number."""
    text = key_string(entry["key"])
    return repr(text) if text is not None else _key_text(entry)


def _key_note(entries: list[dict[str, Any]], key: int, run: Run | None) -> str:
    """Name a classic keying mistake when the keys show it."""
    workload = run.workload if run else None
    if workload is None or key != workload.pid:
        return ""
    keys = set().union(*(key_ints(e["key"]) for e in entries)) if entries else set()
    if (workload.pid << 32 | workload.tid) in keys:
        return (
            "; it has the workload's whole pid_tgid as a key: keep only its upper 32 bits, "
            "bpf_get_current_pid_tgid() >> 32"
        )
    if workload.tid != workload.pid and workload.tid in keys:
        return (
            f"; it has the workload's thread id {workload.tid} as a key: key by the process "
            "id, bpf_get_current_pid_tgid() >> 32"
        )
    return ""


def _forbidden_entry(maps: list[dict[str, Any]], keys: Any) -> tuple[dict[str, Any], int] | None:
    """The first (map, key) among `maps` with a non-zero entry for one of `keys`."""
    items = keys if isinstance(keys, list | tuple | set) else [keys]
    flat = [k for item in items for k in (item if isinstance(item, list | tuple) else [item])]
    if not flat:
        raise CheckError("The without_keys param is empty after filling its templates.")
    # each key's accepted forms once, not per entry: a dump may hold thousands
    numbers = [int(require_number(k, "without_keys")) for k in flat]
    wanted = [(key, _wanted_key(key)) for key in numbers]
    for item in maps:
        for entry in item["entries"]:
            if not _nonzero(entry):
                continue
            held = key_ints(entry["key"])
            for key, forms in wanted:
                if held & forms:
                    return item, key
    return None


def _map_label(item: dict[str, Any]) -> str:
    return f"{item['type']} map {item.get('name')!r}"


def _judge_map(
    item: dict[str, Any], params: dict[str, Any], ctx: Context
) -> tuple[bool, float, str]:
    """(passes, how close it came 0..3, the sentence)."""
    label = _map_label(item)
    if "key" not in params and "key_text" not in params:
        # the map's existence is the claim (a perf buffer has no entries)
        return True, 3, f"The probe held a {label} when it was stopped."
    if "entries" not in item:
        why = item.get("error") or "its contents were not read"
        return False, 0, f"The {label} could not be read ({why})."
    entries = item["entries"]
    if "key_text" in params:  # a text key such as a comm: its bytes, then NULs
        key: int | str = repr(str(params["key_text"]))
        mine = [e for e in entries if key_string(e["key"]) == str(params["key_text"])]
    else:
        key = int(require_number(params["key"], "key"))
        mine = [e for e in entries if key_ints(e["key"]) & _wanted_key(key)]
    if not mine:
        shown = ", ".join(_key_shown(e) for e in entries[:_SHOWN]) or "none"
        more = f" and {len(entries) - _SHOWN} more" if len(entries) > _SHOWN else ""
        cut = " (the dump was cut at the entry cap)" if item.get("truncated") else ""
        note = _key_note(entries, key, ctx.run) if isinstance(key, int) else ""
        return (
            False,
            (1 if entries else 0) + (0.5 if note else 0),  # a named mistake is the most telling
            f"The {label} has no entry for key {key}{cut} (its keys are {shown}{more}){note}.",
        )
    if "value" in params:
        want = int(require_number(params["value"], "value"))
        got = [value_int(e) for e in mine]
        if want not in got:
            return (
                False,
                2,
                f"The {label}'s entry for key {key} holds {', '.join(map(str, got))}, not {want}.",
            )
        mine = [e for e, v in zip(mine, got, strict=True) if v == want]
    if "value_contains" in params:
        wanted = [int(require_number(v, "value_contains")) for v in params["value_contains"]]
        best = min(mine, key=lambda e: sum(w not in value_words(e) for w in wanted))
        missing = [w for w in wanted if w not in value_words(best)]
        if missing:
            value = best.get("value") or ",".join(best.get("values", []))
            return (
                False,
                2,
                f"The {label}'s entry for key {key} does not hold "
                f"{', '.join(map(str, missing))} (its value bytes are {value[:64]}).",
            )
    if "only_keys" in params:
        allowed: set[int] = set()
        for k in params["only_keys"]:
            allowed |= _wanted_key(int(require_number(k, "only_keys")))
        others = [e for e in entries if _nonzero(e) and not key_ints(e["key"]) & allowed]
        if others:
            shown = ", ".join(_key_shown(e) for e in others[:_SHOWN])
            more = f" and {len(others) - _SHOWN} more" if len(others) > _SHOWN else ""
            only = ", ".join(str(k) for k in params["only_keys"])
            return (
                False,
                2,
                f"The {label} also holds keys {shown}{more}, besides {only}: filter in the "
                "kernel before counting.",
            )
    what = f" holding {params['value']}" if "value" in params else ""
    return True, 3, f"The {label} has an entry for key {key}{what}."


# the params a kernel.map verdict repeats as what was expected
_MAP_PARAMS = (
    *("type", "key", "key_text", "value"),
    *("only_keys", "value_contains", "without_keys", "name"),
)


@generic_kind(
    "kernel.map",
    {
        "properties": {
            "type": STRINGS,
            "key": INTEGER,
            # a text key, e.g. "{workload.comm}" for a map keyed by char[16] comm
            "key_text": {"type": "string", "minLength": 1},
            "value": INTEGER,
            "only_keys": {"type": "array", "minItems": 1, "items": INTEGER},
            "value_contains": {"type": "array", "minItems": 1, "items": INTEGER},
            # keys no map of `type` may hold, e.g. "{run.probe_pids}": a list or a list template
            "without_keys": {
                "anyOf": [{"type": "array", "minItems": 1, "items": INTEGER}, TEMPLATE]
            },
            "name": {"type": "string", "minLength": 1},
        },
        "required": ["type"],
        # the entry checks read the entry for `key` (or `key_text`); only_keys are numbers
        "dependentRequired": {"only_keys": ["key"]},
        "not": {"required": ["key", "key_text"]},
        "dependentSchemas": {
            name: {"anyOf": [{"required": ["key"]}, {"required": ["key_text"]}]}
            for name in ("value", "value_contains")
        },
    },
)
def map_entry(params: dict[str, Any], ctx: Context) -> Verdict:
    """When the probe was stopped, it held a map of the given type; with
    `key` (or `key_text`, a NUL-padded text key such as a comm), one holding
    an entry for it (with `value`, `value_contains`;
    `only_keys`: no other key); with `without_keys`, none of those maps holds
    a non-zero entry for any of those keys (the probe's own pids: it must
    not count itself)."""
    types = _as_list(params["type"])
    _ready, stop = _evidence(ctx)
    run = ctx.run
    assert run is not None
    if stop is None:
        raise _no_stop(run, "its maps' contents")
    held = stop.get("maps", [])
    candidates = [
        m
        for m in held
        if m.get("type") in types
        and ("name" not in params or fnmatch.fnmatchcase(m.get("name") or "", params["name"]))
    ]
    expected = {k: params[k] for k in _MAP_PARAMS if k in params}
    if not candidates:
        kinds = " or ".join(types) + (f" named {params['name']!r}" if "name" in params else "")
        others = ", ".join(_map_label(m) for m in held[:_SHOWN])
        return Verdict(
            "fail",
            f"The probe held no {kinds} map when it was stopped"
            + (f"; it held {others}." if held else "; it held no BPF map at all."),
            expected=expected,
            observed={"maps": [_map_label(m) for m in held]},
        )
    if "without_keys" in params:
        unread = next((m for m in candidates if "entries" not in m), None)
        if unread is not None:  # no contents is no evidence that the keys are absent
            why = unread.get("error") or "its contents were not read"
            return Verdict(
                "fail",
                f"The {_map_label(unread)} could not be read ({why}).",
                expected=expected,
                observed={"map": _map_label(unread)},
            )
        found = _forbidden_entry(candidates, params["without_keys"])
        if found is not None:
            item, key = found
            return Verdict(
                "fail",
                f"The {_map_label(item)} holds an entry for key {key}, which must not be "
                "counted: filter it out in the kernel before counting.",
                expected=expected,
                observed={"map": _map_label(item), "key": key},
            )
        if "key" not in params and "key_text" not in params:
            kinds = " or ".join(types)
            return Verdict(
                "pass",
                f"No {kinds} map of the probe held an entry for the keys it must not count.",
                expected=expected,
                observed={"maps": [_map_label(m) for m in candidates]},
            )
    verdicts = [(_judge_map(m, params, ctx), m) for m in candidates]
    for (ok, _close, message), _m in verdicts:
        if ok:
            return Verdict("pass", message, expected=expected, observed=message)
    (_ok, _close, message), item = max(verdicts, key=lambda v: v[0][1])
    observed = {
        "map": _map_label(item),
        "entries": [
            {"key": _key_shown(e), "value": value_int(e)} for e in item.get("entries", [])[:8]
        ],
    }
    return Verdict("fail", message, expected=expected, observed=observed)


# ---------------------------------------------------------------- perf events


@generic_kind(
    "kernel.perf_events",
    {"properties": {"min": COUNT}, "required": ["min"]},
)
def perf_events(params: dict[str, Any], ctx: Context) -> Verdict:
    """At least `min` sampling perf events carried the probe's perf_event program."""
    need = int(require_number(params["min"], "min"))
    ready, stop = _evidence(ctx)
    snap = stop or ready
    assert snap is not None
    got = int(snap.get("perf_events") or 0)
    has_program = any(p.get("type") == "perf_event" for p in snap.get("programs", []))
    if got >= need:
        return Verdict(
            "pass",
            f"{plural(got, 'perf event')} carried the probe's perf_event program "
            f"(at least {need}).",
            expected=need,
            observed=got,
        )
    if not has_program:
        message = (
            f"The probe held no perf_event program, so no perf event carried one (at least "
            f"{need} expected): attach one with bcc's attach_perf_event, which opens a perf "
            "event on every online CPU with cpu=-1."
        )
    else:
        message = (
            f"Only {plural(got, 'perf event')} carried the probe's perf_event program, fewer "
            f"than {need}: open one per online CPU (bcc's attach_perf_event does, with cpu=-1)."
        )
    return Verdict(
        "fail",
        message,
        expected=need,
        observed=got,
    )


# ---------------------------------------------------------------- perf buffer rings

PAGES = {"anyOf": [{"type": "integer", "minimum": 1}, TEMPLATE]}


def _ring_size(size: int, page: int, each: bool = False) -> str:
    """'9 pages each (8 data pages + 1)' for a ring of `size` bytes, else its bytes."""
    each_word = " each" if each else ""
    if size % page or size < 2 * page:
        return f"{size} bytes{each_word}"
    pages = size // page
    return f"{pages} pages{each_word} ({plural(pages - 1, 'data page')} + 1)"


@generic_kind(
    "kernel.perf_rings",
    {
        "properties": {"pages": PAGES, "at": {"enum": ["ready", "stop"]}},
        "required": ["pages"],
    },
)
def perf_rings(params: dict[str, Any], ctx: Context) -> Verdict:
    """The probe's processes had perf buffer rings mapped (bcc's open_perf_buffer
    maps one per CPU), each `pages` data pages plus the header page; read in
    the stop snapshot (else ready), or the one `at` names."""
    pages = int(require_number(params["pages"], "pages"))
    if pages < 1:
        raise CheckError(f"The pages param must be at least 1, got {pages}.")
    ready, stop = _evidence(ctx)
    run = ctx.run
    assert run is not None
    at = params.get("at")
    if at == "stop" and stop is None:
        raise _no_stop(run, "its perf buffer rings")
    if at == "ready" and ready is None:
        raise _judge_note(
            "the runner took no ready snapshot (the run has no ready pattern), so the perf "
            "buffer rings were not read then."
        )
    snap = {"ready": ready, "stop": stop}[at] if at else stop or ready
    assert snap is not None
    if "perf_rings" not in snap or not snap.get("page_size"):
        raise _judge_note(
            "this run's kernel evidence was recorded before perf buffer rings were read "
            "(its snapshots have no perf_rings); run the check again."
        )
    page = int(snap["page_size"])
    sizes = [int(ring["bytes"]) for ring in snap["perf_rings"]]
    want = (pages + 1) * page
    expected = {"pages": pages, "bytes": want}
    observed = {"rings": len(sizes), "bytes": sorted(set(sizes))}
    asked = f"{plural(pages, 'data page')} asked for"
    if not sizes:
        when = "when it was stopped" if snap.get("at") == "stop" else "when it reported ready"
        return Verdict(
            "fail",
            f"The probe had no perf buffer ring mapped {when} ({asked}, plus the header "
            "page, per CPU): read the perf buffer with open_perf_buffer(..., page_cnt=...), "
            "which maps one ring per CPU.",
            expected=expected,
            observed=observed,
        )
    many = len(sizes) > 1
    wrong = [s for s in sizes if s != want]
    if not wrong:
        return Verdict(
            "pass",
            f"The probe's {plural(len(sizes), 'perf buffer ring')} {'are' if many else 'is'} "
            f"{_ring_size(want, page, many)}, as asked.",
            expected=expected,
            observed=observed,
        )
    fix = "give open_perf_buffer the page count asked for as page_cnt (bcc's default is 8)"
    if len(set(sizes)) == 1:
        message = (
            f"The probe's perf buffer {'rings are' if many else 'ring is'} "
            f"{_ring_size(sizes[0], page, many)}, not the {asked}: {fix}."
        )
    else:
        counts = {s: sizes.count(s) for s in sorted(set(wrong))}
        held = ", ".join(f"{plural(n, 'ring')} of {_ring_size(s, page)}" for s, n in counts.items())
        message = (
            f"{len(wrong)} of the probe's {len(sizes)} perf buffer rings "
            f"{'is' if len(wrong) == 1 else 'are'} not the {asked} "
            f"plus the header page ({held}): {fix}."
        )
    return Verdict("fail", message, expected=expected, observed=observed)


# ---------------------------------------------------------------- bpf() calls

YES_WORDS = ["yes", "loaded", "ok", "true", "accepted"]
NO_WORDS = ["no", "failed", "false", "refused", "none", "unavailable"]
WORDS = {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}


def _bpf_calls(ctx: Context) -> list[dict[str, Any]]:
    """The kernel's record of the probe's bpf() calls; a Verdict-worthy
    CheckError (or unsupported, raised as _Unsupported) when there is none."""
    run = ctx.run
    if run is None:
        raise CheckError("This check needs a run, and none was recorded.")
    if run.bpf_calls is None:
        if run.bpf_calls_missing:
            raise _Unsupported(run.bpf_calls_missing[0].upper() + run.bpf_calls_missing[1:])
        raise CheckError(
            "This run holds no record of the probe's bpf() calls (a recording from before "
            "they were recorded, or made without this check); run the check again."
        )
    return [c for c in run.bpf_calls if isinstance(c, dict)]


class _Unsupported(Exception):
    """This machine could not record what the check needs (one sentence)."""


def _tally(calls: list[dict[str, Any]], cmd: str) -> tuple[int, int]:
    """(accepted, refused) calls of `cmd`: ret >= 0, ret < 0 (never returned: neither)."""
    rets = [c.get("ret") for c in calls if c.get("cmd") == cmd]
    accepted = sum(1 for r in rets if isinstance(r, int) and r >= 0)
    refused = sum(1 for r in rets if isinstance(r, int) and r < 0)
    return accepted, refused


def _kernel_saw(calls: list[dict[str, Any]], cmd: str, accepted: int, refused: int) -> str:
    if not calls:
        return "the kernel saw no bpf() call at all from the probe's processes"
    return (
        f"the kernel accepted {accepted} and refused {refused} {cmd} "
        f"call{'' if accepted + refused == 1 else 's'} from the probe's processes "
        f"({plural(len(calls), 'bpf() call')} in all)"
    )


@generic_kind(
    "kernel.bpf_calls",
    {
        "properties": {
            "cmd": {"type": "string", "pattern": "^BPF_[A-Z_]+$", "default": "BPF_PROG_LOAD"},
            "min": COUNT,
            "claims": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "string", "minLength": 1, "format": "regex"},
            },
            "yes": WORDS,
            "no": WORDS,
            "stream": STREAM,
        },
    },
    records=("bpf_calls",),
)
def bpf_calls(params: dict[str, Any], ctx: Context) -> Verdict:
    """The kernel's own record of the probe's bpf() syscalls (ftrace, taken for
    the run): it accepted at least `min` (default 1) `cmd` calls (default
    BPF_PROG_LOAD); with `claims`, each line matching one (its `(?P<claim>...)`
    word) agrees with it: a yes word needs an accepted call, a no word none
    accepted or one refused."""
    cmd = params.get("cmd", "BPF_PROG_LOAD")
    need = int(require_number(params.get("min", 1), "min"))
    try:
        calls = _bpf_calls(ctx)
    except _Unsupported as exc:
        return Verdict("unsupported", str(exc), expected=f"a record of {cmd} calls")
    run = ctx.run
    assert run is not None
    lost = run.bpf_calls_lost
    accepted, refused = _tally(calls, cmd)
    saw = _kernel_saw(calls, cmd, accepted, refused)
    observed: dict[str, Any] = {
        "accepted": accepted,
        "refused": refused,
        "bpf_calls": len(calls),
        "lost": lost,
    }
    dropped = (
        f"the kernel's trace buffer dropped {plural(lost, 'event')} of the probe's bpf() calls, so"
    )
    if "claims" not in params:
        expected = {"cmd": cmd, "accepted_at_least": need}
        if accepted >= need:
            return Verdict("pass", f"{saw[0].upper()}{saw[1:]}.", expected, observed)
        if lost:
            raise CheckError(f"This could not be judged: {dropped} {cmd} calls may be missing.")
        return Verdict(
            "fail",
            f"{saw[0].upper()}{saw[1:]}, not at least {need} accepted; a program counts only "
            "when the kernel accepts it (load it, and check that the load worked).",
            expected,
            observed,
        )
    yes = {w.lower() for w in params.get("yes", YES_WORDS)}
    no = {w.lower() for w in params.get("no", NO_WORDS)}
    lines = lines_of(run, params.get("stream", "out"))
    said: list[str] = []
    expected = {"cmd": cmd, "claims": params["claims"], "accepted_at_least": need}
    for pattern in params["claims"]:
        rx = compile_regex(pattern, "claims", groups=("claim",))
        found = next(((ln, m) for ln in lines if (m := rx.search(ln))), None)
        if found is None:
            return Verdict(
                "fail",
                f"The probe printed no line matching /{pattern}/, so its claim cannot be "
                f"compared with the kernel's record of its {cmd} calls{cap_note(run)}.",
                expected,
                {**observed, "lines": cite(lines[-3:])},
            )
        text, m = found
        line = shorten(text.strip())
        word = (m.group("claim") or "").strip().lower()
        if word in yes:
            if accepted >= need:
                said.append(line)
                continue
            if lost:
                raise CheckError(f"This could not be judged: {dropped} {cmd} calls may be missing.")
            return Verdict(
                "fail",
                f"The probe printed {line!r} but {saw}; print it only after the kernel "
                "accepted your program.",
                expected,
                {**observed, "line": line},
            )
        if word in no:
            if accepted == 0 or refused:
                said.append(line)
                continue
            return Verdict(
                "fail",
                f"The probe printed {line!r} but {saw}; report what the kernel answered.",
                expected,
                {**observed, "line": line},
            )
        return Verdict(
            "fail",
            f"The line {line!r} says {m.group('claim')!r}, which is neither a yes word "
            f"({', '.join(sorted(yes))}) nor a no word ({', '.join(sorted(no))}).",
            expected,
            {**observed, "line": line},
        )
    quoted = " and ".join(repr(s) for s in said)
    return Verdict(
        "pass",
        f"The probe's {quoted} agree{'s' if len(said) == 1 else ''} with the kernel: {saw}.",
        expected,
        observed,
    )
