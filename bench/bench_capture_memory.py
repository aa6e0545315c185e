"""Peak memory of capturing a probe's output flood (runner.live.capture).

Each case pipes 1 GiB from a child process, written as fast as it can, into
one Capture with the default caps, in a fresh Python process, and reports
that process's peak RSS (the child writer is not counted). No asserts:
tests/unit/test_capture.py decides pass or fail; this gives the figures for
bench/README.md.

    .venv/bin/python bench/bench_capture_memory.py            # two cases, about a minute
    .venv/bin/python bench/bench_capture_memory.py --all      # and the 4-bytes-a-character one
    .venv/bin/python bench/bench_capture_memory.py --mib 256  # a smaller flood
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Each line is one short of 64 KiB plus its newline: the longest kept whole.
CASES = {
    "long-ascii": "b'x' * 65535 + b'\\n'",
    "invalid-utf8": "b'\\xff' * 65535 + b'\\n'",
    "emoji-in-ascii": "'\\U0001f41d'.encode() + b'y' * 65531 + b'\\n'",  # --all
}
DEFAULT_CASES = ["long-ascii", "invalid-utf8"]
WRITER = """
import sys
line = {line}
block = line * 16  # 1 MiB per write
out = sys.stdout.buffer
for _ in range({mib}):
    out.write(block)
out.write(b"Detached after all events.\\n")
out.flush()
"""


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def one_case(name: str, mib: int) -> dict[str, object]:
    from runner.live.capture import DEFAULT_BYTE_CAP, DEFAULT_LINE_CAP, Capture

    before = rss_mib()
    code = WRITER.format(line=CASES[name], mib=mib)
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    capture = Capture(proc, t0, DEFAULT_LINE_CAP, None, None)
    proc.wait()
    capture.join(600)
    elapsed = time.monotonic() - t0
    kept = capture.lines()
    return {
        "case": name,
        "flood_mib": mib,
        "seconds": round(elapsed, 1),
        "mib_per_s": round(mib / elapsed),
        "lines_counted": capture.total,
        "lines_kept": len(kept),
        "last_line_kept": kept[-1].text if kept else None,
        "kept_mib": round(capture.kept_bytes / 2**20, 2),
        "byte_cap_mib": DEFAULT_BYTE_CAP / 2**20,
        "rss_before_mib": round(before, 1),
        "peak_rss_mib": round(rss_mib(), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="flood size per case (MiB)")
    parser.add_argument("--case", choices=sorted(CASES), help="run one case in this process")
    parser.add_argument("--all", action="store_true", help="every case, not only the two")
    args = parser.parse_args()
    if args.case:
        print(json.dumps(one_case(args.case, args.mib)))
        return
    results = []
    for name in (
        CASES if args.all else DEFAULT_CASES
    ):  # a fresh process each, so one peak does not hide another
        done = subprocess.run(
            [sys.executable, __file__, "--case", name, "--mib", str(args.mib)],
            capture_output=True,
            text=True,
            check=True,
        )
        results.append(json.loads(done.stdout))
        r = results[-1]
        print(
            f"{name:>15}: {r['flood_mib']} MiB in {r['seconds']} s, peak RSS "
            f"{r['peak_rss_mib']} MiB (at start {r['rss_before_mib']}), kept "
            f"{r['lines_kept']} of {r['lines_counted']} lines = {r['kept_mib']} MiB",
            flush=True,
        )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
