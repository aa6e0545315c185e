"""Check kinds for the environment report (lesson 00): every line of the
learner's report must state the truth of this machine.

The truth is `Recording.host`, the runner's own capability facts
(runner.live.host.detect): features there were decided by really loading and
attaching a program, so a report that guesses from version numbers, or
prints "yes" everywhere, disagrees with it somewhere.

The report's lines, as the lesson text asks for them:

    Kernel: <release> (<arch>)
    BTF: yes|no ...
    Privileges: root|CAP_BPF|none ...
    BPF program: loaded|failed ...
    kprobes: available|unavailable ...
    Ready: yes|no ...
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from checks.api import CheckError, cite, generic_kind, lines_of
from checks.context import Context
from runner.model import Verdict

YES = {"yes", "available", "loaded", "root", "cap_bpf", "ok", "true"}
NO = {"no", "unavailable", "missing", "failed", "none", "false"}


def said(word: str) -> bool | None:
    """What a report word claims: True, False, or None when it says neither."""
    word = word.strip().lower()
    if word in YES:
        return True
    if word in NO:
        return False
    return None


def feature_ok(host: dict[str, Any], name: str) -> bool:
    features = host.get("features")
    if not isinstance(features, dict) or not isinstance(features.get(name), dict):
        raise CheckError(
            f"The host facts hold no result for the {name!r} feature (a VM run skips the "
            "feature trials), so the report cannot be compared with it; check this lesson "
            "without --vm."
        )
    return bool(features[name].get("ok"))


def feature_reason(host: dict[str, Any], name: str) -> str:
    return str(host.get("features", {}).get(name, {}).get("reason", "")).strip()


def privileged(host: dict[str, Any]) -> bool:
    """The runner starts the probe as root or through `sudo -n`; either way it
    has the privileges, and a program that loaded proves it."""
    return (
        bool(host.get("root"))
        or host.get("sudo") in ("root", "nopasswd")
        or feature_ok(host, "bpf")
    )


@dataclass(frozen=True)
class Fact:
    label: str  # the line starts with "<label>:"
    truth: Callable[[dict[str, Any]], bool]  # what the host says
    yes: str  # how the lesson asks the report to say it
    no: str
    why_wrong: str  # what the learner should fix when the line disagrees


FACTS: dict[str, Fact] = {
    "btf": Fact(
        "BTF",
        lambda host: bool(host.get("btf")),
        "yes",
        "no",
        "test whether /sys/kernel/btf/vmlinux exists, do not guess from the kernel version",
    ),
    "privileges": Fact(
        "Privileges",
        privileged,
        "root or CAP_BPF",
        "none",
        "read the effective uid and the CAP_BPF bit (39) of CapEff in /proc/self/status",
    ),
    "bpf": Fact(
        "BPF program",
        lambda host: feature_ok(host, "bpf"),
        "loaded",
        "failed",
        "really load a small program with BPF(text=...) and report whether that worked",
    ),
    "kprobes": Fact(
        "kprobes",
        lambda host: feature_ok(host, "kprobes"),
        "available",
        "unavailable",
        "try attach_kprobe and report whether it worked; kernels can be built without kprobes",
    ),
    "ready": Fact(
        "Ready",
        lambda host: feature_ok(host, "bpf"),
        "yes",
        "no",
        "say Ready: yes only after a program really loaded",
    ),
}

LINE = r"^\s*{label}\s*:\s*(?P<value>\S+)"
KERNEL_LINE = re.compile(r"^\s*Kernel\s*:\s*(?P<release>\S+)(?:\s+\((?P<arch>[^)]*)\))?")


def find_line(rx: re.Pattern, lines: list[str]) -> re.Match | None:
    return next((m for m in (rx.search(line) for line in lines) if m), None)


def missing_line(label: str, example: str, lines: list[str]) -> Verdict:
    return Verdict(
        "fail",
        f"The report has no '{label}:' line; print one such as '{example}'.",
        expected=example,
        observed=cite(lines[-3:]),
    )


def judge_kernel(host: dict[str, Any], lines: list[str]) -> Verdict:
    release, arch = host.get("kernel_release"), host.get("arch")
    if not release:
        raise CheckError("The host facts hold no kernel release, so the report cannot be judged.")
    example = f"Kernel: {release} ({arch})" if arch else f"Kernel: {release}"
    m = find_line(KERNEL_LINE, lines)
    if m is None:
        return missing_line("Kernel", example, lines)
    if m.group("release") != release:
        return Verdict(
            "fail",
            f"The report says the kernel is {m.group('release')!r} but this machine runs "
            f"{release!r}; print platform.release() (uname -r).",
            expected=example,
            observed=m.group(0).strip(),
        )
    if arch and m.group("arch") != arch:
        return Verdict(
            "fail",
            f"The report gives the architecture as {m.group('arch')!r} but this machine is "
            f"{arch!r}; print platform.machine() (uname -m) in parentheses.",
            expected=example,
            observed=m.group(0).strip(),
        )
    return Verdict(
        "pass", f"The kernel line names {release} ({arch}).", example, m.group(0).strip()
    )


def judge_fact(name: str, host: dict[str, Any], lines: list[str]) -> Verdict:
    fact = FACTS[name]
    truth = fact.truth(host)
    want = fact.yes if truth else fact.no
    example = f"{fact.label}: {want.split()[0]}"
    m = find_line(re.compile(LINE.format(label=re.escape(fact.label)), re.IGNORECASE), lines)
    if m is None:
        return missing_line(fact.label, example, lines)
    claim = said(m.group("value"))
    observed = m.group(0).strip()
    if claim is None:
        return Verdict(
            "fail",
            f"The '{fact.label}:' line says {m.group('value')!r}, which is neither "
            f"{fact.yes!r} nor {fact.no!r}; state one of them.",
            expected=f"{fact.label}: {want}",
            observed=observed,
        )
    if claim != truth:
        reason = feature_reason(host, name) if name in ("bpf", "kprobes") else ""
        because = f" ({reason})" if reason and not truth else ""
        return Verdict(
            "fail",
            f"The report says '{observed}' but on this machine the truth is "
            f"'{fact.label}: {want}'{because}; {fact.why_wrong}.",
            expected=f"{fact.label}: {want}",
            observed=observed,
        )
    return Verdict(
        "pass",
        f"The '{fact.label}:' line states the truth of this machine ({want}).",
        expected=f"{fact.label}: {want}",
        observed=observed,
    )


@generic_kind(
    "environment.fact",
    {
        "properties": {"fact": {"enum": ["kernel", *FACTS]}},
        "required": ["fact"],
    },
)
def fact(params: dict[str, Any], ctx: Context) -> Verdict:
    """One line of the environment report agrees with the runner's host facts."""
    host = ctx.recording.host
    if not host:
        raise CheckError("This recording holds no host facts, so the report cannot be judged.")
    lines = lines_of(ctx.run, "out")
    if params["fact"] == "kernel":
        return judge_kernel(host, lines)
    return judge_fact(params["fact"], host, lines)
