"""Check kinds for tracepoint probes (lesson 06): fields whose true value
depends on the machine, such as a syscall's number, which differs between
architectures (openat is 257 on x86_64 and 56 on arm64)."""

from __future__ import annotations

from typing import Any

from checks.api import COUNT, REGEX, SAME, WHERE, CheckError, generic_kind
from checks.context import Context
from checks.events import events_match
from runner.model import Verdict

# Syscall numbers per `uname -m`, from each architecture's syscall table
# (arm64 and riscv64 share the generic table in include/uapi/asm-generic/unistd.h).
SYSCALL_NUMBERS: dict[str, dict[str, int]] = {
    "x86_64": {"read": 0, "write": 1, "openat": 257, "getpid": 39, "nanosleep": 35},
    "aarch64": {"read": 63, "write": 64, "openat": 56, "getpid": 172, "nanosleep": 101},
    "riscv64": {"read": 63, "write": 64, "openat": 56, "getpid": 172, "nanosleep": 101},
}


def syscall_number(arch: str, name: str) -> int:
    """The number of syscall `name` on `arch`; CheckError when unknown."""
    table = SYSCALL_NUMBERS.get(arch)
    if table is None:
        known = ", ".join(sorted(SYSCALL_NUMBERS))
        raise CheckError(
            f"The syscall numbers of the {arch!r} architecture are not known to the course "
            f"(only {known}), so syscall_nr cannot be judged here."
        )
    if name not in table:
        raise CheckError(f"The number of the {name!r} syscall on {arch} is not known.")
    return table[name]


@generic_kind(
    "tracepoints.syscall_nr",
    {
        "properties": {
            "pattern": REGEX,  # needs (?P<nr>...) plus the groups named in where
            "syscall": {"type": "string", "minLength": 1},
            "where": WHERE,
            "same": SAME,
            "min": COUNT,
        },
        "required": ["pattern", "syscall"],
    },
)
def syscall_nr(params: dict[str, Any], ctx: Context) -> Verdict:
    """Lines for the workload show the syscall number this machine's
    architecture really uses (group `nr`), e.g. openat 257 on x86_64."""
    arch = ctx.recording.host.get("arch")
    if not arch:
        raise CheckError("The host facts hold no architecture, so syscall_nr cannot be judged.")
    number = syscall_number(arch, params["syscall"])
    if "(?P<nr>" not in params["pattern"]:
        raise CheckError(f"The pattern {params['pattern']!r} needs the named group (?P<nr>...).")
    matched = {
        "pattern": params["pattern"],
        "where": {**params.get("where", {}), "nr": number},
        "min": params.get("min", 1),
    }
    if "same" in params:
        matched["same"] = params["same"]
    verdict = events_match(matched, ctx)
    if verdict.status == "fail":
        verdict.message = (
            f"{params['syscall']} is syscall {number} on {arch}: read the tracepoint's "
            f"__syscall_nr field. {verdict.message}"
        )
    return verdict
