"""bigline.py MB: 'start', one line of MB mebibytes (no newline inside), 'end'."""

import sys

size = int(sys.argv[1]) << 20
out = sys.stdout.buffer
out.write(b"start\n")
chunk = b"A" * 65536
for _ in range(size // len(chunk)):
    out.write(chunk)
out.write(b"\nend\n")
out.flush()
