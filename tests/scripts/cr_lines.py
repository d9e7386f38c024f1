"""CR-only, CRLF and LF endings, split across writes (a CRLF cut in half included)."""

import sys
import time

out = sys.stdout.buffer
for piece in (b"one\rtwo\r", b"three\r", b"\nfour\r\n", b"five\n", b"six\r\n\r\n", b"seven"):
    out.write(piece)
    out.flush()
    time.sleep(0.02)
