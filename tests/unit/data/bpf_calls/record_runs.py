"""Regenerates the recorded runs the kernel.bpf_calls unit tests read (as
root, on a kernel with syscall tracepoints):
`.venv/bin/python tests/unit/data/bpf_calls/record_runs.py`.

Each is a real run of lesson 00's `main` step through the runner, with the
kernel's record of the probe's bpf() calls (ftrace): the reference solution,
wrong/claims_loaded.py (a perfect report, no program), the starter (an
honest "failed" without any call), the reference run as nobody (the kernel
refuses its loads, and it says so) and the reference with its report
inverted (it says "failed" after the kernel accepted the load)."""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(REPO))

from runner.course.load import load_course  # noqa: E402
from runner.live import execute, host  # noqa: E402

HERE = Path(__file__).parent
SOLUTION = REPO / "solutions" / "00-setup" / "probe.py"

AS_NOBODY = f"""import os, runpy, sys
os.setgid(65534)
os.setgroups([])
os.setuid(65534)
sys.argv[0] = {str(SOLUTION)!r}
runpy.run_path({str(SOLUTION)!r}, run_name="__main__")
"""


def record(name: str, probe: Path) -> None:
    course = load_course(REPO)
    lesson = course.lesson("00")
    assert lesson is not None
    facts = host.detect()
    rec = execute.run_lesson(lesson, probe, python=sys.executable, host=facts, only=["main"])
    run = rec.runs["main"]
    keep = {k: facts.get(k) for k in ("kernel_release", "arch", "btf", "root", "sudo")}
    keep["features"] = {k: facts["features"][k] for k in ("bpf", "kprobes")}
    out = {"host": keep, "run": dataclasses.asdict(run)}
    (HERE / f"{name}.json").write_text(json.dumps(out, indent=1) + "\n")
    print(name, run.stop_reason, run.error, run.bpf_calls_missing, len(run.bpf_calls or []))


with tempfile.TemporaryDirectory(prefix="ebpfc-record-") as tmp:
    record("solution", SOLUTION)
    record("claims_loaded", REPO / "solutions" / "00-setup" / "wrong" / "claims_loaded.py")
    record("starter", REPO / "lessons" / "00-setup" / "probe.py")
    nobody = Path(tmp) / "as_nobody.py"
    nobody.write_text(AS_NOBODY)
    nobody.chmod(0o644)
    Path(tmp).chmod(0o755)
    record("refused", nobody)
    inverted = Path(tmp) / "inverted.py"
    inverted.write_text(
        SOLUTION.read_text().replace(
            "loaded = load_error is None", "loaded = load_error is not None"
        )
    )
    record("claims_failed", inverted)
