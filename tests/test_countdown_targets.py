"""The countdown pane with a team's profile, on a frozen clock: every escalation rung due is
flagged until its call is recorded, the resolution target counts down beside the update
cadence, a level without a cadence shows none, and an optional role raises no warning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from console_support import open_room, wait_until

from warroom.ui.factory import make_app
from warroom.ui.panes.countdown import CountdownPane
from warroom.ui.panes.header import IncidentHeader

pytestmark = pytest.mark.anyio

CONFIG = """\
severity_profile = "SEV1-SEV4"

[severity.sev4]
update_every = "none"

[[role]]
name = "On-call"
[[role]]
name = "Backup"
optional = true

[[escalation]]
after = "0m"
to = "Engineering manager"
severities = ["sev1"]
[[escalation]]
after = "30m"
to = "Senior engineer"
[[escalation]]
after = "2h"
to = "Head of engineering"
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def pane_text(app) -> str:
    pane = app.query_one(CountdownPane)
    pane.tick()
    return str(pane.render())


async def test_due_rungs_resolution_target_and_optional_roles(room_dir, clock):
    (room_dir / "warroom.toml").write_text(CONFIG)
    room = open_room(room_dir, clock)
    incident = room.head(room.declare("Application down", "SEV1", "every page 502").id)
    app = make_app(room, clock, start_sources=False, watch=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: app.incident is not None)
            text = pane_text(app)
            assert "ESCALATE NOW: Engineering manager" in text and "Senior engineer at 15:30" in text
            assert "Head of engineering" not in text  # only the next rung to come
            assert "resolve by 16:00 UTC, in 1h 00m" in text and "ack AT ONCE (waiting 0s)" in text  # immediate
            assert "Engineering manager (due 15:00 UTC)" in text
            clock.advance(minutes=40)
            text = pane_text(app)
            # Both rungs due, flagged, not only the next one.
            assert "ESCALATE NOW: Engineering manager" in text and "ESCALATE NOW: Senior engineer" in text
            assert "Head of engineering at 17:00" in text
            room.escalate(incident, "Engineering manager")
            await wait_until(pilot, lambda: "Engineering manager" not in pane_text(app))
            assert "ESCALATE NOW: Senior engineer" in pane_text(app)
            clock.advance(minutes=30)
            assert "resolve target MISSED 16:00 UTC, overdue 10m 00s" in pane_text(app)
            roster = str(app.query_one("#roster").get_row("Backup")[1])
            assert roster == "(optional)" and "unassigned" not in roster
            assert app.query_one("#roster").get_row("On-call")[1].plain == "alice"
            # SEV4 (changed here) asks for no updates, and no acknowledgement: no countdown, no alarm.
            room.set_severity(incident, "SEV4")
            await wait_until(pilot, lambda: app.incident.severity == "SEV4")
            text = pane_text(app)
            assert "no update countdown" in text and "ack" not in text and "ESCALATE" not in text
            assert not app.query_one(CountdownPane).has_class("overdue")
            app.query_one(IncidentHeader).refresh_times()
            assert "no update countdown" in str(app.query_one("#hdr-next").render())
    finally:
        room.close()


async def test_x_records_the_call_of_the_rung_due(room_dir, clock):
    (room_dir / "warroom.toml").write_text(CONFIG)
    room = open_room(room_dir, clock)
    room.declare("Application down", "SEV1", "")
    app = make_app(room, clock, start_sources=False, watch=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_until(pilot, lambda: app.incident is not None)
            assert "X records who was called in" in pane_text(app)
            await pilot.press("X")
            await wait_until(pilot, lambda: bool(app.screen.query("Input")))
            field = app.screen.query_one("Input")
            assert field.value == "Engineering manager"  # the rung due, offered
            field.value = "\x1b[31mEngineering manager"  # a pasted escape is dropped
            await pilot.press("enter")
            await wait_until(pilot, lambda: app.incident.escalated != [])
            assert app.incident.escalated[0][1] == "Engineering manager"
            await wait_until(pilot, lambda: "ESCALATE NOW" not in pane_text(app))
    finally:
        room.close()


async def test_declaring_in_the_console_says_who_to_notify(room_dir, clock):
    (room_dir / "warroom.toml").write_text('[severity.p1]\nnotify = ["pager", "status page"]\n')
    room = open_room(room_dir, clock)
    app = make_app(room, clock, start_sources=False, watch=False)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("D", *"Search is down", "enter", "1", "enter", *"Nobody can search", "enter")
            await wait_until(pilot, lambda: any("notify for P1: pager, status page" in str(n.message)
                                                for n in app._notifications))
    finally:
        room.close()


async def test_a_target_on_another_day_names_the_day(room_dir, clock):
    """A 24-hour target read "resolve by 14:00 UTC, in 23h 59m", a time of day already past."""
    room = open_room(room_dir, clock)
    room.declare("Uploads slow", "P2", "some uploads fail")
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.incident is not None)
        due = clock.now() + timedelta(hours=24)
        assert f"resolve by {due:%a %H:%M} UTC, in 1d 0h" in pane_text(app), pane_text(app)
        assert f"due {clock.now() + timedelta(minutes=30):%H:%M} UTC" in pane_text(app)  # today: no day


async def test_a_resolved_incident_shows_what_is_due_after_it(room_dir, clock):
    """P1-P4's P1 asks for a summary in 24 h, a meeting in 7 d and the action items in 14 d,
    counted from the resolution: the console lists them once the incident is resolved, and
    the one whose time has passed as was due."""
    room = open_room(room_dir, clock)
    incident = room.head(room.declare("Checkout returns 500", "P1", "EU shoppers cannot pay").id)
    clock.advance(minutes=30)
    room.set_status(incident, "resolved")
    resolved = clock.now()
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, lambda: app.incident is not None and app.incident.status == "resolved")
        text = pane_text(app)
        assert text.startswith("Resolved: no updates due.")
        summary = resolved + timedelta(hours=24)
        assert f"Incident summary written\n  by {summary:%a %H:%M} UTC, in 1d 0h" in text, text
        meeting, actions = resolved + timedelta(days=7), resolved + timedelta(days=14)
        assert f"Post-mortem meeting held\n  by {meeting:%d %b %H:%M} UTC, in 7d 0h" in text, text  # a week off: its date
        assert f"Action items done\n  by {actions:%d %b %H:%M} UTC" in text
        clock.advance(hours=25)
        assert f"Incident summary written\n  was due {summary:%H:%M} UTC" in pane_text(app)  # today, since midnight
