"""Sync's words: the commit message that says what changed ("3 entries, status identified
on INC-7f3a") and the counts a sync report gives."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

_NOUNS = {
    "entry.logged": ("entry", "entries"),
    "entry.edited": ("edit", "edits"),
    "entry.deleted": ("deletion", "deletions"),
    "entry.restored": ("restore", "restores"),
    "incident.field": ("field", "fields"),
    "role.assigned": ("role change", "role changes"),
    "update.posted": ("status update", "status updates"),
    "update.snoozed": ("snooze", "snoozes"),
    "action.added": ("action item", "action items"),
    "action.done": ("action done", "actions done"),
    "check.flipped": ("check flip", "check flips"),
    "command.ran": ("command", "commands"),
}


def _word(text: object) -> str:
    return re.sub(r"[^A-Za-z0-9 ._-]", "", str(text))[:24]


def describe(events: list[tuple[Any, ...]], names: dict[str, str]) -> tuple[str, str]:
    """A commit subject and body for new (kind, incident, body) rows:
    'warroom: 3 entries, status identified on INC-7f3a'."""
    per: dict[str, list[tuple[Any, ...]]] = {}
    for kind, incident, body in events:
        per.setdefault(str(incident), []).append((kind, body))
    parts = []
    for incident, items in sorted(per.items(), key=lambda kv: names.get(kv[0], kv[0])):
        counts = Counter(kind for kind, _ in items)
        last: dict[str, dict[str, Any]] = {}
        for kind, body in items:
            try:
                parsed = json.loads(body) if isinstance(body, str) else {}
            except (ValueError, RecursionError):
                parsed = {}
            last[kind] = parsed if isinstance(parsed, dict) else {}
        words = []
        if "incident.declared" in counts:
            words.append(f"declared {_word(last['incident.declared'].get('severity', ''))}".strip())
        for kind, (one, many) in _NOUNS.items():
            if kind in counts:
                words.append(f"{counts[kind]} {one if counts[kind] == 1 else many}")
        if "incident.acknowledged" in counts:
            words.append("acknowledged")
        if "incident.severity" in counts:
            words.append(f"severity {_word(last['incident.severity'].get('severity', ''))}")
        if "incident.status" in counts:
            words.append(f"status {_word(last['incident.status'].get('status', ''))}")
        for kind in sorted(
            set(counts)
            - set(_NOUNS)
            - {"incident.declared", "incident.acknowledged", "incident.severity", "incident.status"}
        ):
            words.append(f"{counts[kind]} {_word(kind)}")
        parts.append(", ".join(words) + f" on {names.get(incident, 'INC-' + _word(incident)[:8])}")
    subject = "warroom: " + "; ".join(parts)
    if len(subject) > 100:
        subject = subject[:99] + "…"
    body = "\n".join(f"{n} {kind}" for kind, n in sorted(Counter(k for k, _, _ in events).items()))
    return subject, body


def counts(counter: Counter[str]) -> str:
    total = sum(counter.values())
    if not total:
        return ""
    detail = ", ".join(f"{n} {kind}" for kind, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{total} event{'s' if total != 1 else ''} ({detail})"
