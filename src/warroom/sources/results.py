"""A check's result, and the table `warroom check` prints of a round of them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from warroom.text.sanitize import Sanitizer

DETAIL_LIMIT = 200


@dataclass(frozen=True)
class CheckResult:
    name: str
    kind: str
    state: str  # 'up' | 'degraded' | 'down' | 'unknown'
    detail: str  # short, sanitized, secrets redacted
    status_code: int | None  # HTTP status; a command check's exit code
    latency: float | None  # seconds
    at: datetime  # when the check finished (from the injected clock)


def format_table(results: Sequence[CheckResult]) -> str:
    """A plain-text table: name, kind, state, code, latency (ms), detail."""
    header = ("NAME", "KIND", "STATE", "CODE", "LATENCY", "DETAIL")
    clean = Sanitizer((), limit=DETAIL_LIMIT)
    rows = [header]
    for r in results:
        rows.append(
            (
                clean(r.name),
                r.kind,
                r.state.upper(),
                "-" if r.status_code is None else str(r.status_code),
                "-" if r.latency is None else f"{r.latency * 1000:.0f} ms",
                clean(r.detail),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        cells = [cell.rjust(widths[i]) if i in (3, 4) else cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)
