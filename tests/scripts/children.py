"""children.py PIDFILE [--ignore-term]: starts a grandchild, writes both pids, then waits forever."""

import os
import signal
import subprocess
import sys
import time

if "--ignore-term" in sys.argv:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
                          "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"])
with open(sys.argv[1] + ".tmp", "w") as handle:
    handle.write(f"{os.getpid()} {child.pid}\n")
os.replace(sys.argv[1] + ".tmp", sys.argv[1])
print("children started", flush=True)
while True:
    time.sleep(1)
