"""Prints 200,000 lines on stdout and a summary, then exits."""

import sys

N = 200_000
print("Attached: flooding", flush=True)
out = sys.stdout
for i in range(N):
    out.write(f"line {i}\n")
out.write(f"printed {N} lines\n")
