"""flood.py N [WIDTH]: prints N numbered lines as fast as it can."""

import sys

n = int(sys.argv[1])
width = int(sys.argv[2]) if len(sys.argv) > 2 else 0
pad = " " + "x" * width if width else ""
out = sys.stdout
step = 10_000
for start in range(0, n, step):
    out.write("".join(f"line {i} INFO{pad}\n" for i in range(start, min(n, start + step))))
out.flush()
