"""Shared by every benchmark: repeat, take medians, report a figure against a limit.

Each benchmarks/bench_*.py exposes `run() -> list[Figure]`; benchmarks/run.py
runs them all and prints one table. Limits are measured in the same run, so the
ratio means something on a noisy 2-core machine.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable


@dataclass
class Figure:
    name: str            # what was measured
    value: float         # our figure
    unit: str            # "ms", "lines/s", "MB", ...
    against: str         # the limit or peer it is compared with
    limit: float         # that limit's figure, measured in the same run (or a fixed target)
    target: str          # the target, in words: "ratio <= 2", "ratio >= 0.5", "< 1000 ms"
    met: bool            # whether the target is met

    @property
    def ratio(self) -> float:
        return self.value / self.limit if self.limit else float("inf")


def median_of(runs: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(runs))


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start
