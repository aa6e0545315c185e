"""What kernel evidence costs: `course check LESSON` (default 06, the reference
solution) with evidence on and off, measured in the same run, interleaved
so machine load hits both alike, reported as a ratio (no asserts: numbers
for humans, see bench/README.md). Also the snapshots' own cost, from the
`took` field the recorded snapshots carry.

    .venv/bin/python bench/bench_evidence.py             # 5 checks each way
    .venv/bin/python bench/bench_evidence.py --quick     # 2 each way
    .venv/bin/python bench/bench_evidence.py --lesson 08 --repeat 3

Needs what `course check` needs (root or the sudoers rule, bcc, bpftool).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from runner.live.evidence import DISABLE_ENV  # noqa: E402

RESULTS = REPO / "bench" / "results" / "evidence.json"


def solution_for(lesson: str) -> Path:
    found = sorted((REPO / "solutions").glob(f"{int(lesson):02d}-*/probe.py"))
    if not found:
        raise SystemExit(f"no reference solution for lesson {lesson} under solutions/.")
    return found[0]


def one_check(lesson: str, probe: Path, *, evidence: bool, work: Path) -> dict[str, Any]:
    """Wall time of one `course check`, and the recording it made."""
    record = work / f"rec-{time.monotonic_ns()}.json"
    env = dict(os.environ)
    env.pop(DISABLE_ENV, None)
    if not evidence:
        env[DISABLE_ENV] = "off"
    argv = [sys.executable, "-m", "runner.cli", "--workspace", str(work / "ws"), "check", lesson]
    argv += ["--file", str(probe), "--json", "--record", str(record)]
    began = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, env=env, check=False)
    took = time.perf_counter() - began
    report = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
    recording = json.loads(record.read_text()) if record.exists() else {}
    return {"seconds": took, "status": report.get("status", "?"), "recording": recording}


def snapshot_costs(recordings: list[dict[str, Any]]) -> dict[str, Any]:
    """The snapshots' own cost (`took`), by kind, over every run of every check."""
    took: dict[str, list[float]] = {"ready": [], "stop": []}
    runs = 0
    for recording in recordings:
        for run in recording.get("runs", {}).values():
            runs += 1
            for snap in run.get("evidence", []):
                if "took" in snap:
                    took.setdefault(snap["at"], []).append(snap["took"])
    return {
        "runs": runs,
        **{
            f"{at}_ms": {
                "n": len(values),
                "median": round(statistics.median(values) * 1000, 1) if values else None,
                "max": round(max(values) * 1000, 1) if values else None,
            }
            for at, values in took.items()
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="06")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="2 checks each way")
    args = parser.parse_args()
    repeat = 2 if args.quick else args.repeat
    probe = solution_for(args.lesson)
    with_ev: list[dict[str, Any]] = []
    without: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="ebpfc-bench-") as tmp:
        work = Path(tmp)
        one_check(args.lesson, probe, evidence=True, work=work)  # warm caches (bcc, headers)
        for i in range(repeat):
            # alternate which goes first, so drifting load is shared
            order = (True, False) if i % 2 == 0 else (False, True)
            for evidence in order:
                result = one_check(args.lesson, probe, evidence=evidence, work=work)
                (with_ev if evidence else without).append(result)
    on = statistics.median(r["seconds"] for r in with_ev)
    off = statistics.median(r["seconds"] for r in without)
    results = {
        "lesson": args.lesson,
        "repeat": repeat,
        "check_with_evidence_s": round(on, 3),
        "check_without_evidence_s": round(off, 3),
        "ratio": round(on / off, 3),
        "statuses": sorted({r["status"] for r in with_ev + without}),
        "snapshots": snapshot_costs([r["recording"] for r in with_ev]),
        "load_average": os.getloadavg(),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
