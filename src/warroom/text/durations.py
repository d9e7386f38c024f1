"""Every way the project writes a duration, in one place.

- `config_form`: as warroom.toml spells it (`500ms`, `90s`, `15m`, `1h`, `3d`), for
  messages about configured cadences;
- `human`: how long something has lasted (`25m`, `1h 05m`, `2d 3h`), on screen and in exports;
- `measured`: a measured time (`800ms`, `1.2s`, `42s`): latencies and timeouts;
- `plain_seconds`: a delay as seconds (`0.5s`, `30s`): a restart's backoff;
- `clock`: a stopwatch reading (`04:59`, `1:02:03`, `-00:30` when past);
- `countdown`: time left to a deadline, in words (`in 14m 54s`, `overdue 3m 05s`): a reading
  like `14:54` beside a time of day looks like one.
"""

from __future__ import annotations


def config_form(seconds: float) -> str:
    if 0 < seconds < 1:
        return f"{seconds * 1000:g}ms"
    seconds = int(round(seconds))
    if seconds % 86400 == 0 and seconds >= 86400:
        return f"{seconds // 86400}d"
    if seconds % 3600 == 0 and seconds >= 3600:
        return f"{seconds // 3600}h"
    if seconds % 60 == 0 and seconds >= 60:
        return f"{seconds // 60}m"
    return f"{seconds}s"


def human(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = int(max(0, seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m"
    return f"{secs}s"


def measured(seconds: float) -> str:
    """0.8 -> '800ms', 3.0 -> '3s', 1.23 -> '1.2s', 42.4 -> '42s'."""
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 10:
        return f"{seconds:.1f}".rstrip("0").rstrip(".") + "s"
    return f"{seconds:.0f}s"


def plain_seconds(seconds: float) -> str:
    return f"{seconds:g}s"


def clock(remaining: float) -> str:
    sign = "-" if remaining < 0 else ""
    seconds = int(abs(remaining))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours}:{minutes:02d}:{secs:02d}" if hours else f"{sign}{minutes:02d}:{secs:02d}"


def span(seconds: float) -> str:
    """A short span to the second: `42s`, `14m 54s`, `1h 02m`, `2d 3h`."""
    seconds = int(abs(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        minutes, secs = divmod(seconds, 60)
        return f"{minutes}m {secs:02d}s"
    return human(seconds)


def countdown(remaining: float) -> str:
    """`in 14m 54s` while there is time left, `overdue 3m 05s` once the deadline has passed."""
    return f"in {span(remaining)}" if remaining >= 0 else f"overdue {span(remaining)}"
