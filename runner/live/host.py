"""What this machine can do for the course: kernel, privileges, bcc, headers,
tracefs, BTF, lockdown, KVM, and which BPF features really load and attach.

Features are decided by TRYING: a privileged subprocess
(`python -m runner.live.feature_probe`, as root or through `sudo -n` and the
root guard) loads and attaches one tiny program per feature and reports
JSON. The results are cached per boot, because they only change with the
kernel or the mounts.

This module is the front door (`detect`, `ensure_tracefs`, `format_doctor`,
the parsers); the parts live in runner.live.host_facts (unprivileged facts
and pure parsers), runner.live.feature_probe (the privileged trials) and
runner.present.doctor (the doctor text).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from runner.live.host_facts import (
    BOOT_ID_FILE,
    BTF_FILE,
    DEBUGFS_DIR,
    FEATURES,
    LOCKDOWN_FILE,
    MODULES_DIR,
    MOUNT_COMMAND,
    TRACEFS_DIR,
    bcc_version,
    btf_present,
    cache_key,
    classify_headers,
    first_line,
    headers_state,
    kprobes_missing_reason,
    mounted,
    online_cpus,
    parse_cpu_list,
    parse_kvm,
    parse_lockdown,
    parse_mounts,
    parse_sudo,
    parse_uts_release,
    read_config,
    read_text,
    static_facts,
    sudo_state,
)
from runner.live.privilege import privileged_argv
from runner.paths import CODE_ROOT
from runner.present.doctor import Row, doctor_lines, format_doctor

__all__ = [
    "BOOT_ID_FILE",
    "BTF_FILE",
    "DEBUGFS_DIR",
    "FEATURES",
    "LOCKDOWN_FILE",
    "MODULES_DIR",
    "MOUNT_COMMAND",
    "PROBE_TIMEOUT",
    "REASONS_VERSION",
    "TRACEFS_DIR",
    "Row",
    "bcc_version",
    "btf_present",
    "cache_key",
    "classify_headers",
    "default_cache_dir",
    "detect",
    "doctor_lines",
    "ensure_tracefs",
    "first_line",
    "format_doctor",
    "headers_state",
    "kprobes_missing_reason",
    "mounted",
    "online_cpus",
    "parse_cpu_list",
    "parse_kvm",
    "parse_lockdown",
    "parse_mounts",
    "parse_sudo",
    "parse_uts_release",
    "read_config",
    "read_text",
    "static_facts",
    "sudo_state",
]

PROBE_TIMEOUT = 90.0  # seconds; compiling eight tiny programs takes ~3 s here
REASONS_VERSION = 2  # 2: reasons carry no VM advice (the front end adds it once)


# ---------------------------------------------------------------- detect


def _privileged_argv(facts: dict[str, Any]) -> list[str] | None:
    me = [sys.executable, "-m", "runner.live.feature_probe"]
    if facts["root"]:
        return me
    if facts["sudo"] == "nopasswd":
        return privileged_argv(me, sys.executable)
    return None


def _run_probe(
    argv: list[str], wanted: list[str] | tuple[str, ...] = FEATURES
) -> dict[str, dict[str, Any]]:
    try:
        done = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            cwd=CODE_ROOT,
            # the VM guest, compiling under emulation, gives the trials longer
            timeout=float(os.environ.get("EBPF_COURSE_FEATURE_TIMEOUT") or PROBE_TIMEOUT),
        )
        data = json.loads(done.stdout)
        return {name: data[name] for name in wanted}
    except subprocess.TimeoutExpired:
        reason = f"the capability probe took longer than {PROBE_TIMEOUT:.0f} s"
    except (ValueError, KeyError, TypeError):
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        reason = f"the capability probe failed (exit {done.returncode}: {tail})"
    return {name: {"ok": False, "reason": reason} for name in wanted}


def _no_privileges(sudo: str) -> dict[str, dict[str, Any]]:
    if sudo == "password":
        reason = "loading BPF needs root: run `sudo -v` once, then try again"
    else:
        reason = "loading BPF needs root and sudo is not available: run the course as root"
    return {name: {"ok": False, "reason": reason} for name in FEATURES}


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ebpf-course"


def _cache_file(facts: dict[str, Any], cache_dir: Path) -> Path:
    boot_id = (read_text(BOOT_ID_FILE) or "unknown").strip()
    extra = {k: facts[k] for k in ("tracefs", "debugfs", "headers", "headers_path", "bcc_version")}
    extra["reasons"] = REASONS_VERSION  # a cache of older wording is not reused
    return cache_dir / f"host-{cache_key(boot_id, facts['kernel_release'], extra)}.json"


def _load_cache(path: Path) -> dict[str, dict[str, Any]] | None:
    try:
        data = json.loads(path.read_text())
        return {name: data[name] for name in FEATURES}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save_cache(path: Path, features: dict[str, dict[str, Any]]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(features, indent=1))
        tmp.replace(path)  # atomic: a reader never sees half a file
    except OSError:
        pass  # a cache we cannot write only costs time


def detect(
    *, try_attach: bool = True, cache_dir: Path | None = None, only: list[str] | None = None
) -> dict[str, Any]:
    """Host facts per docs/contracts.md. With try_attach=False no program is
    loaded: features come from the cache, or are `{}` when never tried.
    `only` tries just those features (each a compile: under emulation, in
    the VM, tens of seconds) and caches nothing."""
    facts = static_facts()
    cache = _cache_file(facts, cache_dir or default_cache_dir())
    features = _load_cache(cache)
    if features is None and try_attach:
        argv = _privileged_argv(facts)
        wanted = [name for name in FEATURES if only is None or name in only]
        if argv is None:
            features = {n: v for n, v in _no_privileges(facts["sudo"]).items() if n in wanted}
        else:
            features = _run_probe([*argv, *(only or [])], wanted)
            if only is None and features["bpf"]["ok"]:  # cache a run that could load programs
                _save_cache(cache, features)
    facts["features"] = features or {}
    return facts


# ---------------------------------------------------------------- mounts


def ensure_tracefs() -> str | None:
    """Mount tracefs/debugfs if missing (root only). None when both are there
    afterwards; otherwise one sentence saying what to run."""
    kinds = mounted()
    missing = [
        (kind, path)
        for kind, path in (("tracefs", TRACEFS_DIR), ("debugfs", DEBUGFS_DIR))
        if kind not in kinds
    ]
    if not missing:
        return None
    if os.geteuid() != 0:
        names = " and ".join(kind for kind, _ in missing)
        return f"{names} is not mounted, so bcc cannot find tracepoints: run `sudo {MOUNT_COMMAND}`"
    for kind, path in missing:
        done = subprocess.run(
            ["mount", "-t", kind, kind, str(path)], capture_output=True, text=True
        )
        if done.returncode != 0:
            why = first_line(done.stderr or f"exit {done.returncode}")
            return f"mounting {kind} on {path} failed ({why}); mount it by hand: {MOUNT_COMMAND}"
    return None


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m runner.live.host",
        description="Show what this machine can do for the course.",
    )
    parser.add_argument(
        "--probe-json",
        action="store_true",
        help="try every BPF feature in this process (needs root) and print JSON",
    )
    parser.add_argument("--json", action="store_true", help="print all host facts as JSON")
    args = parser.parse_args(argv)
    if args.probe_json:
        from runner.live.feature_probe import main as probe_main

        return probe_main([])  # every feature: not this parser's own arguments
    facts = detect()
    print(json.dumps(facts, indent=2) if args.json else format_doctor(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
