"""environment.fact: each line of lesson 00's report must agree with the
runner's own host facts (decided by really loading programs)."""

from __future__ import annotations

from typing import Any

import pytest
from recordings import judge, make_ctx, make_run

from checks.context import Context

# What runner.live.host.detect() recorded on the development kernel (no kprobes).
HOST: dict[str, Any] = {
    "kernel_release": "6.18.44-fc-v669",
    "arch": "x86_64",
    "root": True,
    "sudo": "root",
    "btf": True,
    "features": {
        "bpf": {"ok": True, "reason": ""},
        "kprobes": {
            "ok": False,
            "reason": "this kernel was built without CONFIG_KPROBES (attach_kprobe: not "
            "traceable); run the lesson in a VM with --vm",
        },
        "tracepoints": {"ok": True, "reason": ""},
    },
}

# What the reference solution printed on that kernel.
REPORT = [
    "eBPF environment report",
    "Kernel: 6.18.44-fc-v669 (x86_64)",
    "BTF: yes (/sys/kernel/btf/vmlinux)",
    "Privileges: root",
    "BPF program: loaded",
    "kprobes: unavailable (Failed to attach BPF program b'trivial' to kprobe "
    "b'__x64_sys_getpid', it's not traceable)",
    "Ready: yes",
]

FACTS = ["kernel", "btf", "privileges", "bpf", "kprobes", "ready"]


def ctx_for(lines: list[str], host: dict[str, Any] | None = None) -> Context:
    ctx = make_ctx(make_run(lines))
    ctx.recording.host = HOST if host is None else host
    return ctx


def replaced(prefix: str, new: str) -> list[str]:
    return [new if line.startswith(prefix) else line for line in REPORT]


def with_feature(name: str, ok: bool, reason: str = "") -> dict[str, Any]:
    host = {**HOST, "features": {**HOST["features"], name: {"ok": ok, "reason": reason}}}
    return host


@pytest.mark.parametrize("fact", FACTS)
def test_the_true_report_passes_every_fact(fact: str) -> None:
    v = judge("environment.fact", {"fact": fact}, ctx_for(REPORT))
    assert v.status == "pass", v.message


def test_kprobes_guessed_from_the_version_fails_and_says_why() -> None:
    lines = replaced("kprobes:", "kprobes: available")
    v = judge("environment.fact", {"fact": "kprobes"}, ctx_for(lines))
    assert v.status == "fail"
    assert v.expected == "kprobes: unavailable"
    assert "CONFIG_KPROBES" in v.message


def test_kprobes_unavailable_on_a_kernel_that_has_them_fails() -> None:
    host = with_feature("kprobes", True)
    v = judge("environment.fact", {"fact": "kprobes"}, ctx_for(REPORT, host))
    assert v.status == "fail"
    assert v.expected == "kprobes: available"


def test_kernel_build_string_instead_of_release_fails() -> None:
    lines = replaced("Kernel:", "Kernel: #1 SMP PREEMPT_DYNAMIC @0 (x86_64)")
    v = judge("environment.fact", {"fact": "kernel"}, ctx_for(lines))
    assert v.status == "fail"
    assert "6.18.44-fc-v669" in v.message


def test_wrong_architecture_fails() -> None:
    lines = replaced("Kernel:", "Kernel: 6.18.44-fc-v669 (aarch64)")
    v = judge("environment.fact", {"fact": "kernel"}, ctx_for(lines))
    assert v.status == "fail"
    assert "x86_64" in v.message


def test_missing_architecture_fails() -> None:
    lines = replaced("Kernel:", "Kernel: 6.18.44-fc-v669")
    v = judge("environment.fact", {"fact": "kernel"}, ctx_for(lines))
    assert v.status == "fail"


def test_btf_claimed_on_a_kernel_without_it_fails() -> None:
    host = {**HOST, "btf": False}
    v = judge("environment.fact", {"fact": "btf"}, ctx_for(REPORT, host))
    assert v.status == "fail"
    assert v.expected == "BTF: no"


def test_ready_without_a_loadable_program_fails() -> None:
    host = with_feature("bpf", False, "bpf did not load or attach: Operation not permitted")
    v = judge("environment.fact", {"fact": "ready"}, ctx_for(REPORT, host))
    assert v.status == "fail"
    assert v.expected == "Ready: no"


def test_loaded_claim_when_the_kernel_refuses_programs_fails_with_the_reason() -> None:
    host = with_feature("bpf", False, "bpf did not load or attach: Operation not permitted")
    v = judge("environment.fact", {"fact": "bpf"}, ctx_for(REPORT, host))
    assert v.status == "fail"
    assert "Operation not permitted" in v.message


def test_no_privileges_claimed_by_a_privileged_probe_fails() -> None:
    lines = replaced("Privileges:", "Privileges: none")
    v = judge("environment.fact", {"fact": "privileges"}, ctx_for(lines))
    assert v.status == "fail"


def test_a_word_that_is_neither_yes_nor_no_fails() -> None:
    lines = replaced("BTF:", "BTF: probably")
    v = judge("environment.fact", {"fact": "btf"}, ctx_for(lines))
    assert v.status == "fail"
    assert "'probably'" in v.message


@pytest.mark.parametrize("label", ["Kernel:", "BTF:", "kprobes:", "Ready:"])
def test_a_missing_line_fails(label: str) -> None:
    lines = [line for line in REPORT if not line.startswith(label)]
    fact = {"Kernel:": "kernel", "BTF:": "btf", "kprobes:": "kprobes", "Ready:": "ready"}[label]
    v = judge("environment.fact", {"fact": fact}, ctx_for(lines))
    assert v.status == "fail"
    assert "no '" in v.message


def test_fake_all_yes_report_fails_somewhere() -> None:
    fake = [
        "Kernel: 6.1.0 (x86_64)",
        "BTF: yes",
        "Privileges: root",
        "BPF program: loaded",
        "kprobes: available",
        "Ready: yes",
    ]
    statuses = {f: judge("environment.fact", {"fact": f}, ctx_for(fake)).status for f in FACTS}
    assert statuses["kernel"] == "fail"
    assert statuses["kprobes"] == "fail"


def test_without_host_facts_it_cannot_judge() -> None:
    v = judge("environment.fact", {"fact": "btf"}, ctx_for(REPORT, {}))
    assert v.status == "error"


def test_without_feature_results_it_cannot_judge() -> None:
    host = {k: v for k, v in HOST.items() if k != "features"}
    v = judge("environment.fact", {"fact": "kprobes"}, ctx_for(REPORT, host))
    assert v.status == "error"
    assert "without --vm" in v.message


def test_an_unknown_fact_is_a_params_error() -> None:
    v = judge("environment.fact", {"fact": "gpu"}, ctx_for(REPORT))
    assert v.status == "error"
