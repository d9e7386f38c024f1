"""Wall clocks (injectable, so tests freeze time) and the hybrid logical clock.

An HLC stamp is a fixed-width string "PPPPPPPPPPPPP.CCCCC": physical milliseconds
since the epoch and a counter. Fixed width makes string order equal causal order,
so SQLite can sort stamps as text.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

UTC = UTC


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FrozenClock:
    """A clock that only moves when told to; for tests and benchmarks."""

    def __init__(self, at: datetime | str) -> None:
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
        self._at = at.astimezone(UTC)

    def now(self) -> datetime:
        return self._at

    def advance(self, seconds: float = 0, **kwargs: float) -> None:
        self._at += timedelta(seconds=seconds, **kwargs)

    def set(self, at: datetime) -> None:
        self._at = at.astimezone(UTC)


class OffsetClock:
    """The system clock shifted by a fixed amount: a machine whose clock is off."""

    def __init__(self, offset: timedelta, base: Clock | None = None) -> None:
        self.offset = offset
        self.base = base or SystemClock()

    def now(self) -> datetime:
        return self.base.now() + self.offset


_COUNTER_LIMIT = 99999
# The largest physical part a stamp can hold (13 digits: the year 2286). A stamp is never
# made past it, so the encoding cannot overflow into a 14-digit stamp the fold would refuse.
_PHYSICAL_LIMIT = 10**13 - 1
# How far ahead of this machine's wall clock a stamp may be and still be believed. A pulled
# event stamped further ahead is quarantined, and never pulls the local clock forward: one
# poisoned stamp would otherwise push every later local stamp past it for ever.
MAX_DRIFT_SECONDS = 24 * 3600


def format_hlc(physical_ms: int, counter: int) -> str:
    return f"{physical_ms:013d}.{counter:05d}"


def parse_hlc(stamp: str) -> tuple[int, int]:
    """Split a stamp; raises ValueError on anything that is not one."""
    physical, sep, counter = stamp.partition(".")
    if not sep or len(physical) != 13 or len(counter) != 5:
        raise ValueError(f"not an HLC stamp: {stamp!r}")
    if not (physical.isdigit() and counter.isdigit()):
        raise ValueError(f"not an HLC stamp: {stamp!r}")
    return int(physical), int(counter)


def to_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


class HybridLogicalClock:
    """Issues stamps that never go backwards and that exceed every stamp observed.

    A machine whose wall clock is hours behind still stamps a reply after the
    event it answers, because `observe` pulls the logical time forward.
    """

    def __init__(self, clock: Clock | None = None, max_drift: float = MAX_DRIFT_SECONDS) -> None:
        self.clock = clock or SystemClock()
        self.max_drift = max_drift
        self._physical = 0
        self._counter = 0
        self._lock = threading.Lock()

    def bound(self) -> str:
        """The newest stamp this clock believes: its wall time plus the allowed drift."""
        limit = min(_PHYSICAL_LIMIT, to_ms(self.clock.now()) + int(self.max_drift * 1000))
        return format_hlc(limit, _COUNTER_LIMIT)

    def believable(self, stamp: str) -> bool:
        """False for a stamp further ahead of the wall clock than the allowed drift."""
        return stamp <= self.bound()

    def observe(self, stamp: str) -> bool:
        """Move past `stamp`; False (and nothing moves) when it is too far ahead to believe."""
        physical, counter = parse_hlc(stamp)
        if not self.believable(stamp):
            return False
        with self._lock:
            if (physical, counter) > (self._physical, self._counter):
                self._physical, self._counter = physical, counter
        return True

    def tick(self) -> str:
        wall = to_ms(self.clock.now())
        with self._lock:
            if wall > self._physical:
                self._physical, self._counter = wall, 0
            else:
                self._counter += 1
                if self._counter > _COUNTER_LIMIT:
                    if self._physical >= _PHYSICAL_LIMIT:  # only a clock past 2286 gets here
                        self._counter = _COUNTER_LIMIT
                    else:
                        self._physical, self._counter = self._physical + 1, 0
            return format_hlc(min(self._physical, _PHYSICAL_LIMIT), self._counter)
