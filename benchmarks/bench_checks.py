"""Health checks at scale: 500 loopback endpoints in one round.

The endpoints live in a separate server process (a small asyncio HTTP server, so
the server is not the bottleneck and does not share our CPU time): endpoint k
answers after its own delay, spread evenly up to SLOWEST seconds and shuffled
(seeded) so the slowest is not conveniently first; one more endpoint never
answers. All 500 checks run in one `HealthMonitor.run_round()`.

- Round wall time against the slowest answering endpoint's latency, measured
  alone in the same run (one request to it, client already built). The hanging
  endpoint's check has a timeout equal to SLOWEST, so waiting for it costs no more
  than waiting for the slowest real answer: the comparison is fair, and a round
  can only be as long as its slowest check plus the overhead of starting 500 at
  once (mostly httpx's CPU cost per request, paid before the last request is
  out). SLOWEST is 2 s, a realistic slow answer for a check with a 3-5 s timeout;
  the overhead is also shown on its own, in milliseconds. Target: ratio <= 1.5.
- CPU time of this process per check (process CPU time over the round / 500):
  what a large check list costs the console. Target: under 2 ms per check.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

from common import Figure  # noqa: E402

ENDPOINTS = 500
SLOWEST = 2.0  # seconds
RUNS = 5


# --- the server (runs in its own process) -------------------------------------------------


class _Http(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            if path == "/hang":
                continue  # never answers
            delay = int(path.rsplit("/", 1)[1]) / 1000 if path.startswith("/d/") else 0
            asyncio.get_running_loop().call_later(delay, self.answer)

    def answer(self) -> None:
        if not self.transport.is_closing():
            body = b'{"status":"ok"}'
            self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 b"Content-Length: %d\r\n\r\n%s" % (len(body), body))


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Http, "127.0.0.1", 0, backlog=4096)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


# --- the client ---------------------------------------------------------------------------


def _checks(base: str) -> list:
    from warroom.config import CheckConfig

    delays = [round(SLOWEST * 1000 * (k + 1) / ENDPOINTS) for k in range(ENDPOINTS - 1)]
    random.Random(7).shuffle(delays)
    checks = [CheckConfig(name=f"ep{k}", kind="http", url=f"{base}/d/{ms}", timeout=SLOWEST + 5,
                          expect_json=(("status", "ok"),))
              for k, ms in enumerate(delays)]
    checks.insert(ENDPOINTS // 2, CheckConfig(name="hanging", kind="http", url=f"{base}/hang", timeout=SLOWEST))
    return checks


async def _round(checks: list) -> tuple[float, float, list]:
    from warroom.sources.health import HealthMonitor

    monitor = HealthMonitor(checks, trust_env=False)
    monitor._client_for(checks[0])  # a running console has its clients already
    cpu, wall = time.process_time(), time.perf_counter()
    results = await monitor.run_round()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    await monitor.aclose()
    return wall, cpu, results


async def _alone(base: str) -> float:
    from warroom.config import CheckConfig
    from warroom.sources.health import HealthMonitor

    check = CheckConfig(name="slowest", kind="http", url=f"{base}/d/{int(SLOWEST * 1000)}", timeout=SLOWEST + 5)
    monitor = HealthMonitor([check], trust_env=False)
    monitor._client_for(check)
    started = time.perf_counter()
    result = await monitor.check_once(check)
    elapsed = time.perf_counter() - started
    await monitor.aclose()
    assert result.state == "up", result
    return elapsed


def run() -> list[Figure]:
    server = subprocess.Popen([sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{server.stdout.readline().strip()}"
        checks = _checks(base)
        asyncio.run(_round(checks[:20]))  # warm up
        walls, cpus, alones = [], [], []
        for _ in range(RUNS):
            alones.append(asyncio.run(_alone(base)))
            wall, cpu, results = asyncio.run(_round(checks))
            states = {r.name: r.state for r in results}
            assert states.pop("hanging") == "down"
            assert set(states.values()) == {"up"}, [r for r in results if r.state != "up"][:3]
            walls.append(wall)
            cpus.append(cpu)
    finally:
        server.terminate()
        server.wait(timeout=10)
    wall, alone = statistics.median(walls), statistics.median(alones)
    per_check_ms = statistics.median(cpus) / ENDPOINTS * 1000
    overhead = (wall - alone) * 1000
    return [
        Figure(name=f"round of {ENDPOINTS} checks (1 hanging), wall", value=wall * 1000, unit="ms",
               against="slowest endpoint's latency alone", limit=alone * 1000, target="ratio <= 1.5",
               met=wall / alone <= 1.5),
        Figure(name="round overhead over the slowest check", value=overhead, unit="ms",
               against="budget", limit=1000.0, target="<= 1000 ms", met=overhead <= 1000),
        Figure(name="CPU time per check", value=per_check_ms, unit="ms", against="budget",
               limit=2.0, target="<= 2 ms", met=per_check_ms <= 2.0),
    ]


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve"]:
        asyncio.run(_serve())
    else:
        for figure in run():
            print(figure, f"ratio={figure.ratio:.2f}")
