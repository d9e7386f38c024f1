"""killer_driver.py LOG %O %A %B: git's merge driver, killed while it writes.

Runs the real driver (`python -P -m warroom merge %O %A %B`) and SIGKILLs it as soon as
it has started writing the merged copy (its temp file beside %A exists and is growing),
then exits 137 as a killed driver would, so git records a conflict. Appends one line to
LOG: "killed intact" when %A (OURS) is byte for byte what it was before the driver ran,
"killed changed" when it is not, "finished" when the driver ended before it could be
killed.
"""

from __future__ import annotations

import glob
import hashlib
import os
import signal
import subprocess
import sys
import time


def digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def main() -> int:
    log, base, ours, theirs = sys.argv[1:5]
    before = digest(ours)
    proc = subprocess.Popen([sys.executable, "-P", "-m", "warroom", "merge", base, ours, theirs])
    pattern = glob.escape(ours) + f".{proc.pid}.warroom-tmp"
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        temps = glob.glob(pattern)
        if temps and os.path.getsize(temps[0]) > 0:
            time.sleep(0.01)  # well inside the write
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            with open(log, "a") as out:
                out.write("killed intact\n" if digest(ours) == before else "killed changed\n")
            return 137
        time.sleep(0.001)
    code = proc.wait()
    with open(log, "a") as out:
        out.write("finished\n")
    return code


if __name__ == "__main__":
    sys.exit(main())
