"""The demo's war room: a copy of data/demo and a record with an incident in progress
(and one resolved before it), written as its responders would have."""

from __future__ import annotations

import os
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warroom.demo.streams import restart_lines
from warroom.paths import DATA_DIR  # stdlib only: the log streams still start at once

if TYPE_CHECKING:
    from warroom.record.clock import Clock
    from warroom.record.room import Room

DEMO_DIR = DATA_DIR / "demo"
TEMPLATES_DIR = DATA_DIR / "templates"

# --- the demo war room ------------------------------------------------------------------------

_PLACEHOLDER_URL = "http://127.0.0.1:9"  # only to read the config before the service runs


class _Story:
    """Writes the record as several people would have, each event at its own wall time.

    A frozen clock is moved to each event's time, so both `at` and the HLC stamp are
    backdated and the fold sees the story in the order it happened.
    """

    def __init__(self, config: Any, now: datetime) -> None:
        from warroom.record.clock import FrozenClock

        self.config = config
        self.now = now
        self.clock = FrozenClock(now)
        self.rooms: dict[str, Room] = {}

    def at(self, minutes: float) -> _Story:
        when = self.now + timedelta(minutes=minutes)
        if when > self.now:
            raise ValueError("the demo story cannot write in the future")
        self.clock.set(when)
        return self

    def by(self, author: str) -> Room:
        from warroom.record.room import Room
        from warroom.record.store import Store

        room = self.rooms.get(author)
        if room is None:
            store = Store(self.config.record_path, clock=self.clock, author=author, create_missing=True)
            room = self.rooms[author] = Room(self.config, store, self.clock)
        room.reload()  # see what the others wrote
        return room

    def time(self, minutes: float) -> datetime:
        return self.now + timedelta(minutes=minutes)

    def close(self) -> None:
        for room in self.rooms.values():
            try:
                room.store.checkpoint()
            except Exception:  # noqa: BLE001 - closing: a checkpoint that fails costs nothing
                pass
            room.close()


def _hhmm(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%H:%M UTC")


def build_demo(folder: Path, clock: Clock) -> Path:
    """Create the demo war room in `folder` with its record written; return warroom.toml's path.

    The open incident is ~25 minutes old at `clock.now()`; an older resolved one is a
    day earlier. Nothing is written after `clock.now()`.
    """
    from warroom import config as config_mod
    from warroom.errors import UsageError
    from warroom.paths import GITIGNORE_LINES, record_path
    from warroom.record.dbfile import create_record
    from warroom.share import exchange
    from warroom.share.setup import GITATTRIBUTES

    folder = Path(folder)
    config_path = folder / config_mod.CONFIG_NAME
    if config_path.exists() or (folder / "warroom.db").exists():
        raise UsageError(f"{folder}: already a war room; the demo needs an empty folder")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copytree(
        DEMO_DIR, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "warroom.db*")
    )
    shutil.copytree(TEMPLATES_DIR, folder / "templates", dirs_exist_ok=True)
    (folder / ".gitattributes").write_text(GITATTRIBUTES)
    (folder / ".gitignore").write_text("\n".join(GITIGNORE_LINES) + "\n")
    create_record(record_path(folder))
    config = config_mod.load(config_path, environ={"DEMO_URL": _PLACEHOLDER_URL, **os.environ})
    story = _Story(config, clock.now())
    try:
        _write_resolved_incident(story)
        _write_open_incident(story)
    finally:
        story.close()
    exchange.write(record_path(folder), folder / "warroom.db")  # the shared copy, as a sync leaves it
    return config_path


def _write_resolved_incident(s: _Story) -> None:
    """Yesterday's P3: order confirmation emails delayed, resolved, root cause known."""
    from warroom.record.events import format_time

    day = -26 * 60  # minutes: a day and two hours before now
    declared = (
        s.at(day)
        .by("erin")
        .declare(
            "Order confirmation emails delayed",
            "P3",
            impact="Confirmation emails arrive 20 to 40 minutes late for about 15% of orders",
            detected_at=s.time(day - 6),
        )
    )
    inc = s.by("erin").head(declared.id)
    s.at(day + 2).by("erin").acknowledge(inc)
    s.at(day + 3).by("erin").assign(inc, "Tech Lead", "frank")
    s.at(day + 3.5).by("erin").assign(inc, "Scribe", "carol")
    s.at(day + 5).by("carol").log(inc, "Support forwarded three customers asking where their confirmation is")
    s.at(day + 10).by("frank").log(
        inc, "Email queue at 4,800 jobs and climbing; the mail provider answers 429 Too Many Requests", "finding"
    )
    s.at(day + 12).by("frank").log(
        inc, "A marketing campaign started at the same time on the same sending account", "finding"
    )
    s.at(day + 14).by("erin").log(
        inc,
        "Lower the email workers' send concurrency from 20 to 5 and let the provider's rate limit recover",
        "decision",
    )
    s.at(day + 15).by("erin").set_status(inc, "identified")
    s.at(day + 16).by("erin").post_update(
        inc,
        "Identified: Order confirmation emails delayed\n\nSome confirmation emails are arriving late. "
        "We have found the cause and are slowing our sending so the backlog clears.",
        template="statuspage-identified",
        channel="status page",
    )
    s.at(day + 18).by("frank").log(inc, "Send concurrency set to 5 on all email workers", "action")
    s.at(day + 40).by("erin").set_status(inc, "monitoring")
    s.at(day + 70).by("frank").log(inc, "Queue drained; confirmation emails go out within a minute again", "finding")
    s.at(day + 85).by("erin").set_status(inc, "resolved")
    s.at(day + 86).by("erin").set_field(
        inc,
        "root_cause",
        "A marketing campaign used the transactional "
        "email account and exhausted its send quota; order confirmations "
        "queued behind it",
    )
    s.at(day + 86.2).by("carol").set_field(inc, "impact_started_at", format_time(s.time(day - 21)))
    s.at(day + 86.5).by("erin").set_field(
        inc, "resolution", "Reduced send concurrency until the backlog cleared; campaign sends paused"
    )
    s.at(day + 87).by("erin").post_update(
        inc,
        "Resolved: Order confirmation emails delayed\n\nConfirmation emails are being delivered "
        "normally again. Thank you for your patience.",
        template="statuspage-resolved",
        channel="status page",
    )
    due = (s.now + timedelta(days=6)).strftime("%Y-%m-%d")
    s.at(day + 90).by("frank").add_action(
        inc, "Move marketing campaigns to their own sending account", owner="frank", due=due, priority="high"
    )
    alert = (
        s.at(day + 91)
        .by("erin")
        .add_action(inc, "Alert when the email queue's oldest job is over 10 minutes", owner="erin", priority="medium")
    )
    s.at(day + 300).by("erin").action_done(alert.id)


def _write_open_incident(s: _Story) -> None:
    """The incident in progress: checkout payments failing, P2 raised to P1, cause identified."""
    from warroom.record.events import format_time

    declared = (
        s.at(-25)
        .by("alice")
        .declare(
            "Checkout payments failing intermittently",
            "P2",
            impact="About 1 in 20 card payments at checkout fails or times out; some customers are "
            "charged and shown an error",
            ic="alice",
            detected_at=s.time(-29),
        )
    )
    inc = s.by("alice").head(declared.id)
    s.at(-24.5).by("alice").acknowledge(inc)
    s.at(-24).by("alice").assign(inc, "Tech Lead", "bob")
    s.at(-23.8).by("alice").assign(inc, "Scribe", "carol")
    s.at(-23.5).by("alice").assign(inc, "Communications Lead", "dan")
    s.at(-23).by("carol").log(inc, "Paged by the error-rate alert; checkout error ratio at 2.8% and climbing")
    s.at(-22.5).by("carol").record_flip(
        inc, "error-rate", "degraded", "down", 'http_requests_error_ratio{service="checkout"} 0.061 above 0.05'
    )
    s.at(-22).by("bob").log(
        inc,
        "Payment provider authorisation calls: p99 at 9.4 s (normally 400 ms); our client timeout is 10 s",
        "finding",
    )
    s.at(-21).by("carol").log(
        inc,
        '{"level":50,"msg":"payment authorisation timed out after 10000ms",'
        '"req_id":"req-7f3a9c21","url":"/api/checkout","status":500}',
        "finding",
        source="log:checkout",
        # what the pin keeps around the line: the same log's five lines before and after
        lines_before=[_pino(30, "request completed", f"req-7f3a9{n}", "/api/cart", 200) for n in range(0, 3)]
        + [_pino(40, "retrying payment authorisation", f"req-7f3a9c2{n}", "/api/checkout", 0) for n in (0, 1)],
        lines_after=[_pino(40, "retrying payment authorisation", "req-7f3a9c22", "/api/checkout", 0)]
        + [_pino(30, "request completed", f"req-7f3aa{n}", "/api/products/SKU-1492", 200) for n in range(4)],
    )
    tickets = (
        s.at(-20).by("dan").log(inc, "Support reports customers charged but shown an error page; 14 tickets so far")
    )
    s.at(-19.5).by("alice").log(
        inc, "Raise to P1: payments are failing and customers are being charged without an order", "decision"
    )
    s.at(-19.4).by("alice").set_severity(inc, "P1")
    s.at(-18).by("alice").record_flip(
        inc, "database", "up", "down", "HTTP 503: timed out acquiring a connection (50/50 in use)"
    )
    s.at(-17).by("bob").log(
        inc,
        "Checkout retries each payment call 3 times with a 10 s timeout and holds "
        "a database connection throughout; the pool is at 50/50",
        "finding",
    )
    s.at(-16.5).by("bob").log(
        inc, "Restarting the order worker (stuck-worker runbook) to release the connections it holds", "action"
    )
    s.at(-16).by("bob").record_command(
        inc,
        "python3 -m warroom.demo restart-worker",
        0,
        "\n".join(restart_lines(random.Random(7))),
        runbook="stuck-worker",
    )
    s.at(-15).by("alice").record_flip(inc, "database", "down", "up", "HTTP 200 in 12 ms")
    s.at(-14.5).by("alice").log(
        inc,
        "Switch payment retries off with the checkout.payment_retries flag: fail fast and let customers retry",
        "decision",
    )
    s.at(-14).by("alice").set_status(inc, "identified")
    s.at(-13.5).by("alice").set_field(inc, "eta", f"by {_hhmm(s.time(+20))} (flag rollout, then the pool drains)")
    s.at(-13.2).by("carol").set_field(inc, "impact_started_at", format_time(s.time(-33)))
    s.at(-12).by("dan").post_update(
        inc,
        "Identified: Checkout payments failing intermittently\n\n"
        "Some card payments at checkout are failing or timing out, and a few customers were charged "
        "without receiving an order confirmation. We have found the cause and are rolling out a fix.\n\n"
        f"Expected recovery: by {_hhmm(s.time(+20))}.\nNext update by {_hhmm(s.time(+3))}.",
        template="statuspage-identified",
        channel="status page",
    )
    s.at(-11).by("bob").log(inc, "checkout.payment_retries set to off in production", "action")
    due = (s.now + timedelta(days=7)).strftime("%Y-%m-%d")
    s.at(-10.5).by("alice").add_action(
        inc, "Put a circuit breaker around payment provider calls", owner="bob", due=due, priority="high"
    )
    confirm = (
        s.at(-10)
        .by("alice")
        .add_action(inc, "Ask the payments owner to confirm there are no double charges", owner="dan", priority="high")
    )
    s.at(-9).by("bob").log(
        inc, "Error ratio falling since the flag change: 6.1% to 3.4%; pool down to 31/50", "finding"
    )
    s.at(-8).by("carol").log(
        inc, "Payment provider's status page now shows degraded card authorisations in the EU region"
    )
    s.at(-7).by("dan").log(
        inc, "Payments owner confirms no double charges; 23 orders stuck in pending, to reconcile once mitigated"
    )
    s.at(-6.5).by("dan").action_done(confirm.id)
    s.at(-5).by("alice").log(
        inc,
        "Stay in Identified until the error ratio holds under 1% for 15 minutes, then move to Monitoring",
        "decision",
    )
    s.at(-4).by("bob").log(
        inc, "Two checkout pods never picked up the flag change; their error ratio is still 7%", "finding"
    )
    s.at(-3).by("bob").log(inc, "Rolling restart of the two stale checkout pods", "action")
    s.at(-2).by("carol").log(
        inc, "Customer liaison is still unassigned; support asks who answers customers about pending orders"
    )
    s.at(-1.5).by("dan").edit(
        tickets.id, "Support reports customers charged but shown an error page; 17 tickets so far"
    )


def _pino(level: int, msg: str, req_id: str, url: str, status: int) -> str:
    """One line of the checkout log as the demo's stream writes it (pino-style JSON)."""
    fields = f'"level":{level},"msg":"{msg}","req_id":"{req_id}","url":"{url}"'
    return "{" + fields + (f',"status":{status}' if status else "") + "}"
