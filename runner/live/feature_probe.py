"""The privileged half of host detection: load and attach one tiny program per
BPF feature and report JSON. Version numbers lie (distro backports, cloud
kernels built without kprobes); an attach does not.

runner.live.host.detect runs this file as root (`python -m
runner.live.feature_probe`, directly or through sudo and the root guard,
runner.live.privilege) and caches what it prints.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from runner.live.host_facts import (
    BTF_FILE,
    FEATURES,
    MOUNT_COMMAND,
    TRACEFS_DIR,
    btf_present,
    first_line,
    kprobes_missing_reason,
    read_config,
    static_facts,
)

_TINY = "int probe(void *ctx) { return 0; }"
_RINGBUF = """
BPF_RINGBUF_OUTPUT(events, 8);
RAW_TRACEPOINT_PROBE(sys_enter) {
    if ((bpf_get_current_pid_tgid() >> 32) != TGID) return 0;
    u32 one = 1;
    events.ringbuf_output(&one, sizeof(one), 0);
    return 0;
}
"""


def _try_bpf(BPF: Any) -> None:
    BPF(text=_TINY).load_func("probe", BPF.SOCKET_FILTER)


def _try_kprobes(BPF: Any) -> None:
    b = BPF(text=_TINY)
    b.attach_kprobe(event=b.get_syscall_fnname("getpid"), fn_name="probe")
    b.cleanup()


def _try_uprobes(BPF: Any) -> None:
    b = BPF(text=_TINY)
    b.attach_uprobe(name="c", sym="getpid", fn_name="probe")
    b.cleanup()


def _try_tracepoints(BPF: Any) -> None:
    b = BPF(text="TRACEPOINT_PROBE(syscalls, sys_enter_getpid) { return 0; }")
    b.cleanup()


def _try_raw_tracepoints(BPF: Any) -> None:
    b = BPF(text="RAW_TRACEPOINT_PROBE(sys_enter) { return 0; }")
    b.cleanup()


def _try_perf_event(BPF: Any) -> None:
    from bcc import PerfSWConfig, PerfType

    b = BPF(text=_TINY)
    b.attach_perf_event(
        ev_type=PerfType.SOFTWARE,
        ev_config=PerfSWConfig.CPU_CLOCK,
        fn_name="probe",
        sample_freq=99,
    )
    b.cleanup()


def _try_ringbuf(BPF: Any) -> None:
    """Not just load: an event must come back through the ring buffer."""
    b = BPF(text=_RINGBUF.replace("TGID", str(os.getpid())))
    seen: list[int] = []
    b["events"].open_ring_buffer(lambda ctx, data, size: seen.append(size))
    deadline = time.monotonic() + 2.0
    while not seen and time.monotonic() < deadline:
        os.getpid()  # any syscall of ours fires sys_enter
        b.ring_buffer_poll(timeout=100)
    b.cleanup()
    if not seen:
        raise RuntimeError("the ring buffer delivered no event within 2 s")


def _try_btf(BPF: Any) -> None:
    if not btf_present():
        raise RuntimeError(
            f"{BTF_FILE} is missing: the kernel was built without CONFIG_DEBUG_INFO_BTF"
        )


_TRIALS: dict[str, Callable[[Any], None]] = {
    "bpf": _try_bpf,
    "kprobes": _try_kprobes,
    "uprobes": _try_uprobes,
    "tracepoints": _try_tracepoints,
    "raw_tracepoints": _try_raw_tracepoints,
    "perf_event": _try_perf_event,
    "ringbuf": _try_ringbuf,
    "btf": _try_btf,
}


def _reason(feature: str, error: BaseException, facts: dict[str, Any]) -> str:
    """Turn a failed trial into one sentence; the way out (a VM) is added by
    the front end that shows it (runner.session keeps reasons advice-free)."""
    text = first_line(error)
    if feature == "kprobes":
        config = read_config()
        missing = kprobes_missing_reason(config, (TRACEFS_DIR / "kprobe_events").exists())
        if missing:
            return missing
        return f"attach_kprobe failed ({text})"
    if feature == "tracepoints" and not (facts["tracefs"] and facts["debugfs"]):
        return f"tracefs/debugfs is not mounted ({text}); run `sudo {MOUNT_COMMAND}`"
    if feature == "btf":
        return text
    if facts.get("lockdown") in ("integrity", "confidentiality"):
        return f"{text} (kernel lockdown is {facts['lockdown']})"
    return f"{feature} did not load or attach: {text}"


def probe_features(only: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Try every feature (or those of `only` that exist) in this
    (privileged) process; never raises."""
    names = [name for name in FEATURES if only is None or name in only]
    facts = static_facts()
    try:
        from bcc import BPF
    except Exception as error:
        reason = f"bcc cannot be imported ({first_line(error)}); run ./setup.sh"
        return {name: {"ok": False, "reason": reason} for name in names}
    results = {}
    for name in names:
        try:
            _TRIALS[name](BPF)
            results[name] = {"ok": True, "reason": ""}
        except BaseException as error:  # bcc raises bare Exception; keep trying the rest
            if isinstance(error, KeyboardInterrupt):
                raise
            results[name] = {"ok": False, "reason": _reason(name, error, facts)}
    return results


def main(argv: list[str] | None = None) -> int:
    names = sys.argv[1:] if argv is None else argv
    print(json.dumps(probe_features(names or None)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
