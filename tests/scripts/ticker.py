"""ticker.py [SECONDS]: one line every SECONDS (default 0.05), forever."""

import sys
import time

every = float(sys.argv[1]) if len(sys.argv) > 1 else 0.05
i = 0
while True:
    print(f"tick {i}", flush=True)
    i += 1
    time.sleep(every)
