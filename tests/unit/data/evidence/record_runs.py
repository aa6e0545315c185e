"""Regenerates the recorded runs the kernel-check unit tests read (as root,
on a kernel that can load BPF): `.venv/bin/python tests/unit/data/evidence/record_runs.py`.

Each is a real run of a probe under tests/live/probes/ with a real workload.
To keep the files small, map entries of unrelated processes are cut to a
few (the workload's own entries are all kept) and lines to the first 20."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[4]
sys.path.insert(0, str(REPO))

from runner.live import evidence, execute  # noqa: E402
from runner.live.host import online_cpus  # noqa: E402
from runner.model import Lesson, RunSpec, WorkloadSpec  # noqa: E402

HERE = Path(__file__).parent
PROBES = REPO / "tests" / "live" / "probes"
OTHERS_KEPT = 3


def record(name: str, probe: str, workload: WorkloadSpec | None, args: list[str], **kw) -> None:
    step = RunSpec(
        id="main",
        args=args,
        ready="^Attached",
        stop="after-workload",
        settle=0.3,
        timeout=40,
        workload=workload,
        **kw,
    )
    path = PROBES / probe
    lesson = Lesson(
        id="99-evidence",
        number=99,
        slug="evidence",
        title="evidence",
        dir=PROBES,
        text=path,
        starter=path,
        solution=None,
        tests_dir=None,
        runs=[step],
    )
    run = execute.run_one(lesson, step, path, python=sys.executable, host={"features": {}})
    data = dataclasses.asdict(run)
    mine = {run.workload.pid, run.workload.tid} if run.workload else set()
    for snap in data["evidence"]:
        for item in snap["maps"]:
            if "entries" not in item:
                continue
            keep, others = [], 0
            for entry in item["entries"]:
                key = int.from_bytes(bytes.fromhex(entry["key"])[:4], "little")
                if key in mine or item["max_entries"] <= 8:
                    keep.append(entry)
                elif others < OTHERS_KEPT:
                    keep.append(entry)
                    others += 1
            item["entries"] = keep
    data["lines"] = data["lines"][:20]
    out = {"host": {"cpus": online_cpus(), "arch": "x86_64"}, "run": data}
    (HERE / f"{name}.json").write_text(json.dumps(out, indent=1) + "\n")
    print(name, run.stop_reason, run.error, [s.get("error") for s in run.evidence])


record("run_all_opens", "evidence_all.py", WorkloadSpec("opens", {"count": 6}), [])
record("run_all_getenv", "evidence_all.py", WorkloadSpec("getenv-marker", {"count": 5}), [])
record("run_all_by_tid", "evidence_all.py", WorkloadSpec("open-thread", {"count": 4}), ["--by-tid"])
record(
    "run_fake_lines", "fake_lines.py", WorkloadSpec("opens", {"count": 6}), ["{workload.pid}", "6"]
)
record("run_exits_early", "exits_early.py", WorkloadSpec("sleeper", {"count": 1}), [])
evidence.find_bpftool = lambda: None  # as on a machine without bpftool
record("run_no_bpftool", "count_opens.py", WorkloadSpec("opens", {"count": 6}), [])
