"""Kernel evidence: the BPF objects a probe's processes hold, from the kernel's
own view, as plain JSON-ready dicts (the shape is docs/evidence.md's).

Read through /proc/PID/fdinfo (prog_id, map_id, link_id, run_cnt), bpftool's
JSON (`prog show`, `map show`, `map dump`, `perf show`, `link show`) and, for
sampling perf events bpftool does not report, BPF_TASK_FD_QUERY itself; the
perf buffer rings a probe mapped come from /proc/PID/maps. Run counts come
from BPF_ENABLE_STATS, held as an fd for the run (the kernel turns the
statistics off by itself once the fd is closed, even if we die).

The top half is pure parsers (unit-tested on recorded output); the bottom
half collects. The root guard (privilege.py, run as a script by sudo)
imports this file from its own folder, so it imports only the stdlib.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import shutil
import signal
import stat
import struct
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

CAP_ENTRIES = 1024  # map entries kept per map in the stop snapshot
CAP_BYTES = 128 * 1024  # and about this many bytes of keys and values per map
BPFTOOL_TIMEOUT = 5.0
GUARD_ANSWER_TIMEOUT = 5.0  # how long the runner waits for the guard's snapshot
GUARD_LISTENING = "guard-listening"  # the guard's word that its handlers are in place
DISABLE_ENV = "EBPF_COURSE_EVIDENCE"  # "off": take no snapshots (benchmarks)

# Map types whose contents are data (others hold fds, or cannot be dumped).
DUMPABLE = {
    "hash",
    "array",
    "percpu_hash",
    "percpu_array",
    "lru_hash",
    "lru_percpu_hash",
    "stack_trace",
    "lpm_trie",
    "hash_of_maps",
    "array_of_maps",
    "queue",
    "stack",
}

# The same by number, as /proc/PID/fdinfo gives it (enum bpf_map_type).
DUMPABLE_TYPES = {1, 2, 5, 6, 7, 9, 10, 11, 12, 13, 22, 23}

# BPF_TASK_FD_QUERY's fd_type (include/uapi/linux/bpf.h: enum bpf_task_fd_type)
# and bpftool's JSON spelling of them.
FD_TYPES = {
    "raw_tracepoint": "raw_tracepoint",
    "tracepoint": "tracepoint",
    "kprobe": "kprobe",
    "kretprobe": "kretprobe",
    "uprobe": "uprobe",
    "uretprobe": "uretprobe",
}

_TRACEFS_EVENTS = ("/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events")
_BPF_SYSCALL = {"x86_64": 321, "aarch64": 280, "riscv64": 280, "armv7l": 386, "ppc64le": 361}
_BPF_TASK_FD_QUERY = 20
_BPF_ENABLE_STATS = 32
_BPF_STATS_RUN_TIME = 0


class EvidenceError(Exception):
    """The evidence could not be read; the message is one sentence."""


# ================================================================ parsers


def fd_kind(link_target: str) -> str | None:
    """What an fd is, from its /proc/PID/fd symlink: prog, map, link, perf or None."""
    return {
        "anon_inode:bpf-prog": "prog",
        "anon_inode:bpf-map": "map",
        "anon_inode:bpf_link": "link",
        "anon_inode:[perf_event]": "perf",
    }.get(link_target)


def parse_fdinfo(text: str) -> dict[str, str]:
    """`key:\tvalue` lines of /proc/PID/fdinfo/FD."""
    fields = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


PERF_MMAP_PATH = "anon_inode:[perf_event]"  # a perf event's ring in /proc/PID/maps


def parse_perf_mmaps(maps_text: str) -> list[int]:
    """The sizes in bytes of the perf event rings in /proc/PID/maps text: the
    mappings whose path is `anon_inode:[perf_event]` (bcc maps one per CPU
    for a perf buffer, (page_cnt + 1) pages: a header page and the data)."""
    sizes = []
    for line in maps_text.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) < 6 or fields[5].strip() != PERF_MMAP_PATH:
            continue
        start, sep, end = fields[0].partition("-")
        try:
            sizes.append(int(end, 16) - int(start, 16))
        except ValueError:
            continue
    return sizes


def hexbytes(values: list[str] | str) -> str:
    """bpftool's ["0x2a", "0x00", ...] (or already a hex string) as "2a00"."""
    if isinstance(values, str):
        return values
    return "".join(f"{int(v, 16):02x}" for v in values)


def parse_programs(prog_show: list[dict[str, Any]], ids: set[int]) -> dict[int, dict[str, Any]]:
    """`bpftool -j prog show` → {id: {id, type, name}} for the ids we hold."""
    found = {}
    for item in prog_show:
        if item.get("id") in ids:
            found[item["id"]] = {
                "id": item["id"],
                "type": item.get("type", "unknown"),
                "name": item.get("name", ""),
            }
    return found


def parse_maps(map_show: list[dict[str, Any]], ids: set[int]) -> dict[int, dict[str, Any]]:
    """`bpftool -j map show` → {id: {id, type, name, key_size, value_size, max_entries}}."""
    found = {}
    for item in map_show:
        if item.get("id") in ids:
            found[item["id"]] = {
                "id": item["id"],
                "type": item.get("type", "unknown"),
                "name": item.get("name", ""),
                "key_size": item.get("bytes_key"),
                "value_size": item.get("bytes_value"),
                "max_entries": item.get("max_entries"),
            }
    return found


def parse_perf_show(perf_show: list[dict[str, Any]], pids: set[int]) -> list[dict[str, Any]]:
    """`bpftool -j perf show` (BPF_TASK_FD_QUERY for every fd of every process)
    → [{pid, fd, prog_id, attach}] for our processes."""
    found = []
    for item in perf_show:
        if item.get("pid") not in pids:
            continue
        kind = FD_TYPES.get(item.get("fd_type", ""))
        if kind is None:
            continue
        attach: dict[str, Any] = {"kind": kind}
        if kind in ("tracepoint", "raw_tracepoint"):
            attach["target"] = item.get("tracepoint")
        elif kind in ("kprobe", "kretprobe"):
            attach["target"] = item.get("func") or (
                f"0x{item['addr']:x}" if isinstance(item.get("addr"), int) else None
            )
            if item.get("offset"):
                attach["offset"] = item["offset"]
        else:
            attach["target"] = item.get("filename")
            attach["offset"] = item.get("offset")
            attach["symbol"] = None
        found.append(
            {"pid": item["pid"], "fd": item.get("fd"), "prog_id": item.get("prog_id"), **attach}
        )
    return found


def parse_links(link_show: list[dict[str, Any]], ids: set[int]) -> list[dict[str, Any]]:
    """`bpftool -j link show` → [{link_id, prog_id, kind, target}] for the links we hold
    (raw tracepoints, and the kinds bpftool names)."""
    found = []
    for item in link_show:
        if item.get("id") not in ids:
            continue
        kind = item.get("type", "unknown")
        target = item.get("tp_name") or item.get("func_name") or item.get("attach_type")
        found.append(
            {"link_id": item["id"], "prog_id": item.get("prog_id"), "kind": kind, "target": target}
        )
    return found


def parse_map_dump(
    dump: list[dict[str, Any]], cap: int = CAP_ENTRIES, max_bytes: int = CAP_BYTES
) -> tuple[list, bool]:
    """`bpftool -j map dump` → ([{key, value} or {key, values}], truncated): at
    most `cap` entries and about `max_bytes` of keys and values (stack traces
    are 1 KiB a value)."""
    entries: list[dict[str, Any]] = []
    size = 0
    for item in dump:
        if "key" not in item:
            continue
        if len(entries) >= cap or size >= max_bytes:
            return entries, True
        entry: dict[str, Any] = {"key": hexbytes(item["key"])}
        if "values" in item:  # per-CPU
            per_cpu = sorted(item["values"], key=lambda v: v.get("cpu", 0))
            entry["values"] = [hexbytes(v["value"]) for v in per_cpu]
            size += sum(len(v) for v in entry["values"]) // 2
        else:
            entry["value"] = hexbytes(item.get("value", []))
            size += len(entry["value"]) // 2
        size += len(entry["key"]) // 2
        entries.append(entry)
    return entries, False


def le_int(hexstr: str) -> int:
    """A little-endian unsigned integer from hex bytes."""
    return int.from_bytes(bytes.fromhex(hexstr), "little")


def tracepoint_target(name: str | None, categories: list[str]) -> str | None:
    """`category:name` when exactly one tracefs category has that event, else the name."""
    if name and len(categories) == 1:
        return f"{categories[0]}:{name}"
    return name


# ---------------------------------------------------------------- ELF symbols


def _elf_functions(data: bytes) -> list[tuple[int, int, str, int]]:
    """(file offset, size, name, binding) of the defined functions in an ELF64 LE file."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return []
    phoff, shoff = struct.unpack_from("<QQ", data, 0x20)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 0x36)
    loads = []
    for i in range(phnum):
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from(
            "<IIQQQQ", data, phoff + i * phentsize
        )
        if p_type == 1:  # PT_LOAD
            loads.append((p_vaddr, p_offset, p_filesz))
    sections = [
        struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * shentsize) for i in range(shnum)
    ]
    found = []
    for sh in sections:
        sh_type, sh_offset, sh_size, sh_link, sh_entsize = sh[1], sh[4], sh[5], sh[6], sh[9]
        if sh_type not in (2, 11) or not sh_entsize:  # SHT_SYMTAB, SHT_DYNSYM
            continue
        strtab_off = sections[sh_link][4]
        for st_name, st_info, _other, st_shndx, st_value, st_size in struct.iter_unpack(
            "<IBBHQQ", data[sh_offset : sh_offset + sh_size]
        ):
            if st_info & 0xF not in (2, 10) or not st_value or not st_shndx:  # FUNC, IFUNC
                continue
            for vaddr, offset, filesz in loads:
                if vaddr <= st_value < vaddr + filesz:
                    end = data.index(b"\0", strtab_off + st_name)
                    name = data[strtab_off + st_name : end].decode(errors="replace")
                    found.append((st_value - vaddr + offset, st_size, name, st_info >> 4))
                    break
    return found


def symbol_at(functions: list[tuple[int, int, str, int]], offset: int) -> str | None:
    """The function at file `offset` (`name`, or `name+0x10` inside it); public
    global names first when several share the address."""
    exact = [f for f in functions if f[0] == offset]
    if exact:
        exact.sort(key=lambda f: (f[2].startswith("_"), f[3] != 1, len(f[2]), f[2]))
        return exact[0][2]
    inside = [f for f in functions if f[0] < offset < f[0] + f[1]]
    if inside:
        start, _size, name, _bind = min(inside, key=lambda f: (f[2].startswith("_"), f[2]))
        return f"{name}+0x{offset - start:x}"
    return None


_SYMBOLS: dict[tuple[str, int, int], list[tuple[int, int, str, int]]] = {}


def resolve_symbol(path: str, offset: int) -> str | None:
    """The function of ELF file `path` at file `offset`, or None (cached per file)."""
    try:
        stat = os.stat(path)
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in _SYMBOLS:
            _SYMBOLS[key] = _elf_functions(Path(path).read_bytes())
        return symbol_at(_SYMBOLS[key], offset)
    except (OSError, struct.error, ValueError, IndexError):
        return None


def tracepoint_categories(name: str) -> list[str]:
    """The tracefs categories that have an event called `name`."""
    for root in _TRACEFS_EVENTS:
        try:
            cats = [d.name for d in os.scandir(root) if os.path.isdir(os.path.join(d.path, name))]
        except OSError:
            continue
        return sorted(cats)
    return []


# ================================================================ the collector


def _bpf_syscall_number() -> int | None:
    return _BPF_SYSCALL.get(platform.machine())


def _bpf(cmd: int, attr: bytes) -> tuple[int, int, bytes]:
    """bpf(cmd, attr): (result, errno, the attr as the kernel left it)."""
    number = _bpf_syscall_number()
    if number is None:
        return -1, errno.ENOSYS, attr
    libc = ctypes.CDLL(None, use_errno=True)
    buf = ctypes.create_string_buffer(attr, len(attr))
    result = libc.syscall(number, cmd, buf, len(attr))
    return result, ctypes.get_errno() if result < 0 else 0, buf.raw


def enable_stats() -> int | None:
    """BPF_ENABLE_STATS(BPF_STATS_RUN_TIME): an fd that keeps run statistics on
    while it is open; None when the kernel refuses (then `stats` is false)."""
    result, _err, _ = _bpf(_BPF_ENABLE_STATS, struct.pack("<I", _BPF_STATS_RUN_TIME))
    return result if result >= 0 else None


def stats_enabled_by_sysctl() -> bool:
    try:
        return Path("/proc/sys/kernel/bpf_stats_enabled").read_text().strip() == "1"
    except OSError:
        return False


def perf_fd_carries_prog(pid: int, fd: int) -> bool:
    """Whether perf event `fd` of `pid` carries a BPF program that bpftool
    cannot show: BPF_TASK_FD_QUERY answers EOPNOTSUPP for a perf_event-type
    program (sampling) and ENOENT for an event without one."""
    name = ctypes.create_string_buffer(64)
    attr = struct.pack("<IIIIQIIQQ", pid, fd, 0, 64, ctypes.addressof(name), 0, 0, 0, 0)
    result, err, _ = _bpf(_BPF_TASK_FD_QUERY, attr)
    return result < 0 and err == errno.EOPNOTSUPP


def process_tree(root: int) -> list[int]:
    """`root` and its live descendants (none when `root` itself has ended)."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[0] not in (b"Z", b"X"):
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    live = {pid for pids in children.values() for pid in pids}
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        if pid not in found and pid in live:
            found.append(pid)
            todo.extend(children.get(pid, []))
    return sorted(found)


def _held_fds(pids: list[int]) -> list[tuple[int, int, str, dict[str, str]]]:
    """(pid, fd, kind, fdinfo) of every BPF/perf fd our processes hold."""
    held = []
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except FileNotFoundError:
            continue  # it ended meanwhile
        except PermissionError:
            raise EvidenceError(
                f"the file descriptors of process {pid} cannot be read "
                f"(running as uid {os.geteuid()}), so its BPF objects are unknown."
            ) from None
        for fd in fds:
            try:
                kind = fd_kind(os.readlink(f"/proc/{pid}/fd/{fd}"))
                if kind is None:
                    continue
                info = parse_fdinfo(Path(f"/proc/{pid}/fdinfo/{fd}").read_text())
            except OSError:
                continue  # closed meanwhile
            held.append((pid, int(fd), kind, info))
    return held


def _read_maps(pid: int) -> str | None:
    """/proc/PID/maps, or None when the process has ended (ESRCH as it exits)."""
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except PermissionError:
        raise EvidenceError(
            f"the memory mappings of process {pid} cannot be read "
            f"(running as uid {os.geteuid()}), so its perf buffer rings are unknown."
        ) from None
    except OSError as exc:
        raise EvidenceError(
            f"the memory mappings of process {pid} cannot be read ({exc.strerror or exc})."
        ) from None


def perf_rings(pids: list[int]) -> list[dict[str, int]]:
    """[{pid, bytes}] of every perf event ring our processes have mapped."""
    return [
        {"pid": pid, "bytes": size}
        for pid in pids
        if (text := _read_maps(pid)) is not None
        for size in parse_perf_mmaps(text)
    ]


def page_size() -> int:
    return os.sysconf("SC_PAGE_SIZE")


def find_bpftool() -> str | None:
    for candidate in (shutil.which("bpftool"), "/usr/sbin/bpftool", "/sbin/bpftool"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def empty_snapshot(at: str, t: float, error: str | None = None) -> dict[str, Any]:
    return {
        "at": at,
        "t": round(t, 6),
        "root": None,
        "pids": [],
        "stats": False,
        "programs": [],
        "maps": [],
        "perf_events": 0,
        "perf_rings": [],
        "page_size": page_size(),
        "error": error,
    }


def snapshot(
    root: int,
    at: str,
    *,
    t: float = 0.0,
    stats: bool = False,
    dump_maps: bool | None = None,
    bpftool: str | None = None,
) -> dict[str, Any]:
    """The BPF objects held by `root` and its descendants, never raising:
    a failure is the snapshot's `error` (one sentence)."""
    snap = empty_snapshot(at, t)
    began = time.perf_counter()
    try:
        _collect(
            snap,
            root,
            stats=stats,
            dump=at == "stop" if dump_maps is None else dump_maps,
            bpftool=bpftool,
        )
    except EvidenceError as exc:
        message = str(exc)
        snap.update(programs=[], maps=[], perf_events=0, perf_rings=[])
        snap["error"] = f"The kernel's view of the probe could not be read: {message}"
    except Exception as exc:  # evidence must never crash a run
        snap.update(programs=[], maps=[], perf_events=0, perf_rings=[])
        snap["error"] = (
            f"The kernel's view of the probe could not be read: {type(exc).__name__}: {exc}."
        )
    snap["took"] = round(time.perf_counter() - began, 6)  # what the snapshot cost
    return snap


def _collect(
    snap: dict[str, Any], root: int, *, stats: bool, dump: bool, bpftool: str | None
) -> None:
    pids = process_tree(root)
    snap["root"], snap["pids"] = root, pids
    if root not in pids:  # an empty view would read as "held nothing"
        raise EvidenceError(f"the probe (process {root}) had already ended.")
    snap["stats"] = stats
    held = _held_fds(pids)
    snap["perf_rings"] = perf_rings(pids)  # mapped even by a probe that holds no BPF fd
    if not held:
        return  # nothing BPF: no need for bpftool at all
    tool = bpftool or find_bpftool()
    if tool is None:
        raise EvidenceError("bpftool is not installed (apt-get install bpftool).")
    progs: dict[int, dict[str, str]] = {}  # prog id -> fdinfo
    prog_pids: dict[int, set[int]] = {}
    map_types: dict[int, int] = {}  # map id -> map_type number
    link_ids: set[int] = set()
    perf_fds: list[tuple[int, int]] = []
    for pid, fd, kind, info in held:
        if kind == "prog" and info.get("prog_id", "").isdigit():
            progs.setdefault(int(info["prog_id"]), info)
            prog_pids.setdefault(int(info["prog_id"]), set()).add(pid)
        elif kind == "map" and info.get("map_id", "").isdigit():
            map_types[int(info["map_id"])] = int(info.get("map_type", "0") or 0)
        elif kind == "link" and info.get("link_id", "").isdigit():
            link_ids.add(int(info["link_id"]))
            if info.get("prog_id", "").isdigit():
                prog_pids.setdefault(int(info["prog_id"]), set()).add(pid)
        elif kind == "perf":
            perf_fds.append((pid, fd))

    # One bpftool process for the whole snapshot: the ids are known from fdinfo.
    prog_ids = sorted(set(progs) | set(prog_pids))
    commands = [f"prog show id {i}" for i in prog_ids]
    commands += [f"link show id {i}" for i in sorted(link_ids)]
    commands += ["perf show"] if perf_fds or link_ids else []
    for map_id in sorted(map_types):
        commands.append(f"map show id {map_id}")
        if dump and map_types[map_id] in DUMPABLE_TYPES:
            commands.append(f"map dump id {map_id}")
    out = bpftool_batch(tool, commands)

    def shown(command: str) -> list[dict[str, Any]]:
        result = out.get(command)
        return [result] if isinstance(result, dict) and "error" not in result else []

    programs = {}
    for prog_id in prog_ids:
        found = parse_programs(shown(f"prog show id {prog_id}"), {prog_id})
        programs[prog_id] = found.get(
            prog_id, {"id": prog_id, "type": "unknown", "name": "", "error": _gone(out, prog_id)}
        )
    attach: dict[int, list[dict[str, Any]]] = {}

    def add(prog_id: Any, item: dict[str, Any]) -> None:
        if not isinstance(prog_id, int):
            return
        entry = {k: v for k, v in item.items() if k not in ("pid", "fd", "prog_id", "link_id")}
        if entry not in attach.setdefault(prog_id, []):
            attach[prog_id].append(entry)

    reported: set[tuple[int, int]] = set()
    if "perf show" in commands:
        perf = out.get("perf show")
        if not isinstance(perf, list):
            raise EvidenceError(f"`bpftool perf show` failed ({_error_of(perf)}).")
        for item in parse_perf_show(perf, set(pids)):
            reported.add((item["pid"], item["fd"]))
            if item["kind"] in ("uprobe", "uretprobe") and item.get("target"):
                item["symbol"] = resolve_symbol(item["target"], item.get("offset") or 0)
            if item["kind"] == "tracepoint":
                item["target"] = tracepoint_target(
                    item["target"], tracepoint_categories(item["target"] or "")
                )
            add(item["prog_id"], item)
    for link_id in sorted(link_ids):
        for item in parse_links(shown(f"link show id {link_id}"), {link_id}):
            add(item["prog_id"], item)
    sampling = sum(
        1 for pid, fd in perf_fds if (pid, fd) not in reported and perf_fd_carries_prog(pid, fd)
    )
    snap["perf_events"] = sampling
    perf_progs = [i for i, p in programs.items() if p["type"] == "perf_event"]
    if sampling and len(perf_progs) == 1:
        attach.setdefault(perf_progs[0], []).append(
            {"kind": "perf_event", "target": None, "events": sampling}
        )

    for prog_id in prog_ids:
        info = progs.get(prog_id, {})
        program = programs[prog_id]
        program["pids"] = sorted(prog_pids.get(prog_id, ()))
        program["run_cnt"] = _counter(info.get("run_cnt"), stats)
        program["run_time_ns"] = _counter(info.get("run_time_ns"), stats)
        program["attach"] = attach.get(prog_id, [])
        snap["programs"].append(program)

    for map_id in sorted(map_types):
        found = parse_maps(shown(f"map show id {map_id}"), {map_id})
        if map_id not in found:
            snap["maps"].append({"id": map_id, "type": "unknown", "name": "",
                                 "error": _gone(out, map_id, "map")})  # fmt: skip
            continue
        item = found[map_id]
        command = f"map dump id {map_id}"
        if command in commands:
            dumped = out.get(command)
            if isinstance(dumped, list):
                item["entries"], item["truncated"] = parse_map_dump(dumped)
            else:
                item["error"] = f"`bpftool {command}` failed ({_error_of(dumped)})."
        snap["maps"].append(item)


def _counter(value: str | None, stats: bool) -> int | None:
    """A run counter from fdinfo: null without statistics."""
    if not stats:
        return None
    return int(value) if value and value.isdigit() else 0


def _error_of(output: Any) -> str:
    if isinstance(output, dict) and output.get("error"):
        return str(output["error"])
    return "no answer" if output is None else "unexpected output"


def _gone(out: dict[str, Any], obj_id: int, what: str = "prog") -> str:
    command = f"{what} show id {obj_id}"
    return f"`bpftool {command}` failed ({_error_of(out.get(command))})."


def parse_batch(data: Any, commands: list[str]) -> dict[str, Any]:
    """`bpftool -j batch` output → {command: its JSON output}, in order; bpftool
    stops at the first command that fails, so later ones may be missing."""
    if not isinstance(data, list):
        return {}
    found = {}
    for command, item in zip(commands, data, strict=False):
        if isinstance(item, dict) and "output" in item:
            found[command] = item["output"]
    return found


def bpftool_batch(bpftool: str, commands: list[str]) -> dict[str, Any]:
    """Run `commands` in one bpftool process (`bpftool -j batch file -`); after
    a failing command (an object gone meanwhile), the rest run again."""
    results: dict[str, Any] = {}
    todo = list(commands)
    while todo:
        try:
            proc = subprocess.run(
                [bpftool, "-j", "batch", "file", "-"],
                input="\n".join(todo) + "\n",
                capture_output=True,
                text=True,
                timeout=BPFTOOL_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise EvidenceError(f"bpftool took longer than {BPFTOOL_TIMEOUT:g} s.") from None
        except OSError as exc:
            raise EvidenceError(f"bpftool could not be run ({exc.strerror or exc}).") from None
        try:
            data = json.loads(proc.stdout) if proc.stdout.strip() else None
        except json.JSONDecodeError:
            data = None
        done = parse_batch(data, todo)
        if not done:
            why = proc.stderr.strip().splitlines()
            detail = why[-1] if why else f"exit status {proc.returncode}"
            raise EvidenceError(f"`bpftool batch` failed ({detail}).")
        results.update(done)
        todo = todo[len(done) :]
    return results


def probe_pids(snapshots: list[dict[str, Any]]) -> list[int]:
    """The processes that held BPF objects in any snapshot, else the probe
    process itself (the `root` the snapshots were taken of)."""
    pids: set[int] = set()
    for snap in snapshots:
        for program in snap.get("programs", []):
            pids.update(program.get("pids", []))
    if not pids:
        pids.update(snap["root"] for snap in snapshots if snap.get("root"))
    return sorted(pids)


# ================================================================ one run's snapshots


def disabled() -> bool:
    return os.environ.get(DISABLE_ENV, "").lower() in ("off", "0", "no", "false")


class Recorder:
    """Takes one run's snapshots. As root it reads the probe itself; through
    sudo it asks the root guard (SIGUSR1 for ready, SIGUSR2 for stop, relayed
    by sudo) and reads the JSON the guard writes into a folder made here."""

    def __init__(self, *, via_guard: bool, enabled: bool | None = None) -> None:
        self.enabled = not disabled() if enabled is None else enabled
        self.via_guard = via_guard
        self.dir: str | None = None
        self._stats_fd: int | None = None
        if self.enabled and via_guard:
            self.dir = tempfile.mkdtemp(prefix="ebpfc-evidence-")

    def guard_args(self) -> list[str]:
        """What the guard's argv needs for it to take the snapshots."""
        return ["--evidence", self.dir] if self.dir else []

    def begin(self) -> None:
        """Turn run statistics on for the run (the guard does it under sudo)."""
        if self.enabled and not self.via_guard and self._stats_fd is None:
            self._stats_fd = enable_stats()

    @property
    def stats(self) -> bool:
        return self._stats_fd is not None or stats_enabled_by_sysctl()

    def take(self, at: str, pid: int, t: float) -> dict[str, Any] | None:
        """The `at` snapshot of the probe started as `pid` (None when disabled)."""
        if not self.enabled:
            return None
        if not self.via_guard:
            return snapshot(pid, at, t=t, stats=self.stats)
        return self._ask_guard(at, pid, t)

    def _ask_guard(self, at: str, pid: int, t: float) -> dict[str, Any]:
        assert self.dir is not None
        path = Path(self.dir) / f"{at}.json"
        deadline = time.monotonic() + GUARD_ANSWER_TIMEOUT
        # a signal before the guard handles it would end the guard: wait for its word
        while not (Path(self.dir) / GUARD_LISTENING).exists():
            if time.monotonic() >= deadline:
                return empty_snapshot(
                    at,
                    t,
                    f"The root guard was not ready to take the {at} snapshot within "
                    f"{GUARD_ANSWER_TIMEOUT:g} s.",
                )
            time.sleep(0.005)
        try:
            os.kill(pid, signal.SIGUSR1 if at == "ready" else signal.SIGUSR2)
        except OSError as exc:
            return empty_snapshot(
                at, t, f"The root guard could not be asked for the {at} snapshot ({exc.strerror})."
            )
        deadline = time.monotonic() + GUARD_ANSWER_TIMEOUT
        while not path.exists():
            if time.monotonic() >= deadline:
                return empty_snapshot(
                    at,
                    t,
                    f"The root guard did not write the {at} snapshot within "
                    f"{GUARD_ANSWER_TIMEOUT:g} s.",
                )
            time.sleep(0.005)
        try:
            snap = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            return empty_snapshot(at, t, f"The root guard's {at} snapshot is unreadable ({exc}).")
        snap["t"] = round(t, 6)
        return snap

    def close(self) -> None:
        if self._stats_fd is not None:
            os.close(self._stats_fd)
            self._stats_fd = None
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


# ================================================================ the guard's side


def guard_write(folder: str, at: str, root: int, stats: bool) -> None:
    """Write the `at` snapshot of `root` as `folder/<at>.json`."""
    _write_file(folder, f"{at}.json", json.dumps(snapshot(root, at, stats=stats)).encode())


def guard_listening(folder: str) -> None:
    """Tell the runner the guard now answers SIGUSR1 / SIGUSR2."""
    _write_file(folder, GUARD_LISTENING, b"")


def _write_file(folder: str, name: str, data: bytes) -> None:
    """Write `folder/name` atomically and without following links, owned by the
    folder's owner (the runner's user)."""
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        owner = os.fstat(dir_fd)
        tmp = f".{name}.{os.getpid()}.tmp"
        fd = os.open(
            tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=dir_fd
        )
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            os.fchown(out.fileno(), owner.st_uid, owner.st_gid)
        os.rename(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    finally:
        os.close(dir_fd)


def check_folder(folder: str, uid: int | None) -> str | None:
    """Why the guard must not write into `folder`, or None: it must be a real
    directory (no symlink) owned by the user sudo ran us for."""
    try:
        st = os.lstat(folder)
    except OSError as exc:
        return f"the evidence folder {folder} cannot be used ({exc.strerror})"
    if not stat.S_ISDIR(st.st_mode):
        return f"the evidence folder {folder} is not a directory"
    if uid is not None and st.st_uid != uid:
        return f"the evidence folder {folder} does not belong to the user who ran sudo"
    return None
