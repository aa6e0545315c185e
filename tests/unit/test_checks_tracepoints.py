"""tracepoints.syscall_nr: the workload's lines must carry the syscall number
of this machine's architecture (openat: 257 on x86_64, 56 on arm64)."""

from __future__ import annotations

from recordings import PID, judge, make_ctx, make_run, truth

from checks.context import Context

PATTERN = r"^\[(?P<pid>\d+)\] \S+: syscall_nr=(?P<nr>-?\d+), dfd=-?\d+, filename=(?P<filename>.*)$"
MARKER = "/tmp/ebpfc-work/ebpfc-marker-1234"


def lines(nr: int) -> list[str]:
    return ["Attached to tracepoint syscalls:sys_enter_openat"] + [
        f"[{PID}] ebpfc-marker: syscall_nr={nr}, dfd=-100, filename={MARKER}"
    ] * 3


def ctx_for(out: list[str], arch: str = "x86_64") -> Context:
    ctx = make_ctx(make_run(out, workload=truth(comm="ebpfc-marker", path=MARKER)))
    ctx.recording.host = {"arch": arch}
    return ctx


def params(**extra: object) -> dict:
    where = {"pid": "{workload.pid}", "filename": "{workload.facts.path}"}
    return {"pattern": PATTERN, "syscall": "openat", "where": where, "min": 3, **extra}


def test_x86_64_openat_is_257() -> None:
    v = judge("tracepoints.syscall_nr", params(), ctx_for(lines(257)))
    assert v.status == "pass", v.message


def test_the_arm64_number_on_x86_64_fails_and_names_the_field() -> None:
    v = judge("tracepoints.syscall_nr", params(), ctx_for(lines(56)))
    assert v.status == "fail"
    assert "openat is syscall 257 on x86_64" in v.message
    assert "__syscall_nr" in v.message


def test_arm64_openat_is_56() -> None:
    assert judge("tracepoints.syscall_nr", params(), ctx_for(lines(56), "aarch64")).status == "pass"
    assert judge("tracepoints.syscall_nr", params(), ctx_for(lines(257), "aarch64")).status == (
        "fail"
    )


def test_other_pids_do_not_count() -> None:
    out = [line.replace(f"[{PID}]", "[999]") for line in lines(257)]
    v = judge("tracepoints.syscall_nr", params(), ctx_for(out))
    assert v.status == "fail"


def test_dfd_printed_where_the_number_belongs_fails() -> None:
    v = judge("tracepoints.syscall_nr", params(), ctx_for(lines(-100)))
    assert v.status == "fail"


def test_an_unknown_architecture_cannot_be_judged() -> None:
    v = judge("tracepoints.syscall_nr", params(), ctx_for(lines(257), "sparc64"))
    assert v.status == "error"
    assert "sparc64" in v.message


def test_an_unknown_syscall_cannot_be_judged() -> None:
    v = judge("tracepoints.syscall_nr", params(syscall="frobnicate"), ctx_for(lines(257)))
    assert v.status == "error"


def test_the_pattern_needs_an_nr_group() -> None:
    bad = params(pattern=r"^\[(?P<pid>\d+)\] .*filename=(?P<filename>.*)$")
    v = judge("tracepoints.syscall_nr", bad, ctx_for(lines(257)))
    assert v.status == "error"
    assert "(?P<nr>" in v.message
