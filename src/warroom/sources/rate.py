"""Errors per minute, per source: what the logs pane draws as a sparkline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from warroom.record.clock import Clock, SystemClock
from warroom.sources.parse import LogLine


class ErrorRate:
    """Errors per minute, per source, for a sparkline. Bounded: old minutes are dropped."""

    def __init__(self, clock: Clock | None = None, keep_minutes: int = 240) -> None:
        self.clock = clock or SystemClock()
        self.keep_minutes = keep_minutes
        self._buckets: dict[str, dict[int, int]] = {}

    @staticmethod
    def _minute(at: datetime) -> int:
        return int(at.timestamp() // 60)

    def add(self, line: LogLine, now: datetime | None = None) -> None:
        """Count `line` if it is an error, in the minute it arrived (`now`, else the clock)."""
        if line.level == "error":
            self.count(line.source, 1, now)

    def count(self, source: str, errors: int, now: datetime | None = None) -> None:
        """`errors` more errors from `source`, in the minute they arrived (a flood's batch:
        the caller counts them at C speed, this adds them in one step)."""
        if errors <= 0:
            return
        minute = self._minute(now or self.clock.now())
        buckets = self._buckets.setdefault(source, {})
        buckets[minute] = buckets.get(minute, 0) + errors
        if len(buckets) > self.keep_minutes + 16:
            cutoff = minute - self.keep_minutes
            for old in [m for m in buckets if m < cutoff]:
                del buckets[old]

    def add_lines(self, lines: Iterable[LogLine], now: datetime | None = None) -> None:
        now = now or self.clock.now()
        for line in lines:
            if line.level == "error":
                self.add(line, now)

    def per_minute(self, now: datetime | None = None, minutes: int = 30, source: str | None = None) -> list[int]:
        """Counts for the last `minutes` minutes, oldest first; the last is the current minute.
        `source=None` sums every source."""
        current = self._minute(now or self.clock.now())
        first = current - minutes + 1
        sources = [self._buckets.get(source, {})] if source is not None else list(self._buckets.values())
        return [sum(b.get(m, 0) for b in sources) for m in range(first, current + 1)]

    def sources(self) -> list[str]:
        return list(self._buckets)
