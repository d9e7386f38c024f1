"""Leaves a background child holding stdout open, then exits 0 at once."""

import subprocess
import sys

subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print("parent done", flush=True)
