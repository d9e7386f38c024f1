"""Log sources under a flood.

1. Throughput: a subprocess writes N short log lines, one write() per line as a
   logging library does (a timestamp, a level, a request). The same command is read
   twice in the same run: raw (64 KiB reads of its stdout through asyncio, bytes
   counted, nothing parsed) and through LogSource (split, decode, sanitize, redact
   check, level and timestamp, LogLine objects, batches to a callback). The figure
   is LogSource's lines/s against the raw reader's lines/s: how much of the
   producer's pace the full pipeline keeps. Medians of several runs.

2. Memory: peak RSS of a fresh interpreter that runs one LogSource with the
   default buffer (10,000 lines) through 1,000,000 lines, against the same after
   10,000 lines. The buffer is bounded, so the difference must stay small.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from common import Figure  # noqa: E402

from warroom.config import LogConfig  # noqa: E402
from warroom.sources.process import spawn  # noqa: E402
from warroom.sources.supervisor import LogSource  # noqa: E402

LINES = 500_000
RUNS = 3

PRODUCER = r"""
import sys
n = int(sys.argv[1])
write = sys.stdout.write
for i in range(n):
    write(f"2026-11-24T05:{i // 60000 % 60:02d}:{i // 1000 % 60:02d}.{i % 1000:03d}Z INFO GET /api/orders/{i} 200 {i % 97}ms\n")
sys.stdout.flush()
"""


def producer(n: int) -> tuple[str, ...]:
    return (sys.executable, "-c", PRODUCER, str(n))


async def raw_read(n: int) -> float:
    started = time.perf_counter()
    spawned = await spawn(producer(n))
    newlines = 0
    while True:
        data = await spawned.stdout.read(65536)
        if not data:
            break
        newlines += data.count(b"\n")
    await spawned.exited
    spawned.close()
    elapsed = time.perf_counter() - started
    assert newlines == n, (newlines, n)
    return elapsed


async def through_source(n: int, buffer: int = 10_000) -> float:
    delivered = 0

    def on_lines(batch: list) -> None:
        nonlocal delivered
        delivered += len(batch)

    started = time.perf_counter()
    source = LogSource(LogConfig(name="bench", command=producer(n), buffer=buffer),
                       on_lines=on_lines, on_status=lambda text: None)
    await source.start()
    code = await source.wait()
    elapsed = time.perf_counter() - started
    assert code == 0 and delivered == n and source.total == n, (code, delivered, source.total)
    assert source.lines[-1].level == "info" and source.lines[-1].at is not None
    return elapsed


def peak_rss_mb(n: int) -> float:
    """Peak RSS (VmHWM) of a fresh interpreter that pushed n lines through one LogSource."""
    done = subprocess.run([sys.executable, __file__, "--memory", str(n)], capture_output=True, text=True,
                          timeout=300)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return float(done.stdout.strip())


def _memory_main(n: int) -> None:
    asyncio.run(through_source(n))
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            print(int(line.split()[1]) / 1024)
            return
    import resource

    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def run() -> list[Figure]:
    raw_times, source_times = [], []
    asyncio.run(through_source(10_000))  # warm up imports and caches
    for _ in range(RUNS):
        raw_times.append(asyncio.run(raw_read(LINES)))
        source_times.append(asyncio.run(through_source(LINES)))
    raw_rate = LINES / statistics.median(raw_times)
    source_rate = LINES / statistics.median(source_times)
    small = statistics.median(peak_rss_mb(10_000) for _ in range(3))
    large = statistics.median(peak_rss_mb(1_000_000) for _ in range(3))
    return [
        Figure(name=f"LogSource lines/s ({LINES // 1000}k lines)", value=source_rate, unit="l/s",
               against="raw read of the same subprocess", limit=raw_rate, target="ratio >= 0.5",
               met=source_rate / raw_rate >= 0.5),
        Figure(name="peak RSS after 1M lines (buffer 10k)", value=large, unit="MB",
               against="peak RSS after 10k lines", limit=small, target="<= +100 MB",
               met=large - small <= 100),
    ]


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--memory":
        _memory_main(int(sys.argv[2]))
    else:
        for figure in run():
            print(figure, f"ratio={figure.ratio:.2f}")
