"""The war room's rules, shared by CLI and console: which incident, what --at means, edits."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from warroom.clock import FrozenClock
from warroom.room import Room, UsageError, init, parse_at, parse_typed_line
from warroom.store import Store

UTC = timezone.utc


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()


# --- --at ---------------------------------------------------------------------------


def test_at_hhmm_is_today_in_local_time_stored_in_utc(new_york):
    now = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 15:00 in New York
    at = parse_at("14:05", now)
    assert at.tzinfo is not None and at.utcoffset().total_seconds() == 0
    assert at == datetime(2026, 11, 24, 19, 5, tzinfo=UTC)


def test_at_in_the_future_means_yesterday(new_york):
    now = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 15:00 in New York
    assert parse_at("16:30", now) == datetime(2026, 11, 23, 21, 30, tzinfo=UTC)
    # Local "today" differs from the UTC date: 02:00 UTC on the 25th is 21:00 on the 24th.
    late = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert parse_at("20:45", late) == datetime(2026, 11, 25, 1, 45, tzinfo=UTC)
    assert parse_at("23:00", late) == datetime(2026, 11, 24, 4, 0, tzinfo=UTC)


def test_at_across_a_daylight_saving_change(new_york):
    """Clocks went back at 02:00 on 2026-11-01: the day before is four hours behind UTC, not five."""
    now = datetime(2026, 11, 1, 17, 0, tzinfo=UTC)  # 12:00 EST
    assert parse_at("11:00", now) == datetime(2026, 11, 1, 16, 0, tzinfo=UTC)   # EST today
    assert parse_at("00:30", now) == datetime(2026, 11, 1, 4, 30, tzinfo=UTC)   # still EDT today
    assert parse_at("23:30", now) == datetime(2026, 11, 1, 3, 30, tzinfo=UTC)   # EDT yesterday


def test_at_with_an_explicit_zone():
    now = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
    assert parse_at("13:15", now, ZoneInfo("Europe/Paris")) == datetime(2026, 7, 1, 11, 15, tzinfo=UTC)
    assert parse_at("15:00", now, ZoneInfo("Europe/Paris")) == datetime(2026, 6, 30, 13, 0, tzinfo=UTC)


def test_at_iso_times(new_york):
    now = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)
    assert parse_at("2026-11-24T14:05Z", now) == datetime(2026, 11, 24, 14, 5, tzinfo=UTC)
    assert parse_at("2026-11-24T14:05+01:00", now) == datetime(2026, 11, 24, 13, 5, tzinfo=UTC)
    assert parse_at("2026-11-24T14:05", now) == datetime(2026, 11, 24, 19, 5, tzinfo=UTC)  # local
    assert parse_at("2026-07-04T12:00", now) == datetime(2026, 7, 4, 16, 0, tzinfo=UTC)  # local, EDT


@pytest.mark.parametrize("text", ["25:99", "24:00", "12:60", "soon", "14h05", "2026-13-01T00:00"])
def test_bad_at_is_a_usage_error_naming_the_value(text: str):
    with pytest.raises(UsageError) as caught:
        parse_at(text, datetime(2026, 11, 24, 20, 0, tzinfo=UTC))
    assert text in str(caught.value) and "HH:MM" in str(caught.value)


def test_typed_line_grammar():
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    line = parse_typed_line("14:05 ! roll back now", now)
    assert (line.text, line.type, line.at) == ("roll back now", "decision", datetime(2026, 11, 24, 14, 5, tzinfo=UTC))
    assert parse_typed_line("> restarted worker", now).type == "action"
    assert parse_typed_line("? cache hit ratio 3%", now).type == "finding"
    typo = parse_typed_line("25:99 rebooted", now)
    assert (typo.text, typo.type, typo.at) == ("25:99 rebooted", "note", None)


# --- operations ----------------------------------------------------------------------


def test_init_writes_a_war_room_and_refuses_to_overwrite(tmp_path: Path):
    folder = tmp_path / "room"
    written = init(folder)
    names = {p.name for p in written}
    assert {"warroom.toml", ".gitattributes", ".gitignore", "runbooks", "templates", "warroom.db"} <= names
    assert "merge=warroom" in (folder / ".gitattributes").read_text()
    assert list((folder / "templates").glob("*.md")) and list((folder / "runbooks").glob("*.md"))
    config_before = (folder / "warroom.toml").read_bytes()
    with pytest.raises(UsageError, match="already a war room"):
        init(folder)
    assert (folder / "warroom.toml").read_bytes() == config_before


def test_declare_log_and_backdate(room: Room, clock: FrozenClock):
    event = room.declare("Checkout returns 500", "p1", impact="EU shoppers cannot pay")
    incident = room.incident()
    assert incident.id == event.id and incident.severity == "P1"
    assert incident.holder("Incident Commander") == "alice"
    clock.advance(60)
    logged = room.log(incident, "on-call acknowledged", at=parse_at("14:05", clock.now()))
    assert logged.at == "2026-11-24T14:05:00.000Z"
    assert logged.hlc > event.hlc  # causal order is kept even though the wall time is earlier
    timeline = room.incident().timeline
    assert timeline[0].text == "on-call acknowledged"  # ordered by the time it describes


def test_unknown_severity_lists_the_profile(room: Room):
    with pytest.raises(UsageError) as caught:
        room.declare("t", "P9")
    assert "'P9'" in str(caught.value) and "P1, P2, P3, P4" in str(caught.value)
    assert room.store.count() == 0


def test_which_incident(room: Room, clock: FrozenClock):
    with pytest.raises(UsageError, match="no open incident"):
        room.incident()
    first = room.declare("first", "P1")
    clock.advance(1)
    second = room.declare("second", "P2")
    with pytest.raises(UsageError) as caught:
        room.incident()
    message = str(caught.value)
    assert "--incident" in message and "first" in message and "second" in message
    short = room.state.incidents[second.id].short_id
    assert short in message
    assert room.incident(short).id == second.id
    assert room.incident(second.id).id == second.id
    assert room.incident(first.id[:6]).id == first.id
    with pytest.raises(UsageError, match="no incident 'INC-zzzz'"):
        room.incident("INC-zzzz")
    room.set_status(room.incident(short), "resolved")
    assert room.incident().id == first.id


def test_edit_delete_restore_keep_history(room: Room, clock: FrozenClock):
    room.declare("t", "P1")
    entry_id = room.log(room.incident(), "rolled back 4812", "action").id
    clock.advance(5)
    room.edit(entry_id[:8], "rolled back deploy 4812")
    entry = next(e for e in room.incident().entries if e.id == entry_id)
    assert entry.text == "rolled back deploy 4812"
    assert [r.text for r in entry.history] == ["rolled back 4812", "rolled back deploy 4812"]
    room.delete(entry_id[:8])
    assert entry_id not in [e.id for e in room.incident().timeline]
    room.delete(entry_id[:8], restore=True)
    assert entry_id in [e.id for e in room.incident().timeline]
    assert room.store.count() == 5  # nothing was changed in place
    with pytest.raises(UsageError, match="too short"):
        room.edit("ab", "x")
    with pytest.raises(UsageError, match="needs the new text"):
        room.edit(entry_id, "   ")


def test_actions(room: Room):
    room.declare("t", "P1")
    item = room.add_action(room.incident(), "Add a canary stage", owner="bob", due="2026-12-01")
    with pytest.raises(UsageError, match="--due"):
        room.add_action(room.incident(), "x", due="next week")
    room.action_done(item.id[:8])
    action = room.incident().actions[0]
    assert action.done and action.owner == "bob" and action.due == "2026-12-01"
    with pytest.raises(UsageError):
        room.action_done("zzzzzzzz")


def test_fields_and_roles(room: Room):
    room.declare("t", "P1")
    inc = room.incident()
    room.set_field(inc, "root_cause", "  a bad deploy ")
    room.set_field(inc, "detected_at", "14:30")
    inc = room.incident()
    assert inc.field("root_cause") == "a bad deploy"
    assert inc.detected_at == "2026-11-24T14:30:00.000Z"
    assert room.state.quarantined == []
    with pytest.raises(UsageError, match="unknown field 'colour'"):
        room.set_field(inc, "colour", "red")
    with pytest.raises(UsageError, match="--at 99:99"):
        room.set_field(inc, "impact_started_at", "99:99")
    room.assign(inc, "scribe", "carol")
    assert room.incident().holder("Scribe") == "carol"
    with pytest.raises(UsageError, match="unknown role 'janitor'"):
        room.assign(inc, "janitor", "x")


def test_reload_sees_another_writer(room: Room, room_dir: Path):
    room.declare("t", "P1")
    with Store(room_dir / "warroom.db", author="carol") as other:
        other.append("entry.logged", room.incident().id, {"text": "from the second console", "type": "note"})
    assert room.reload() is True
    assert "from the second console" in [e.text for e in room.incident().timeline]
    assert room.reload() is False


def test_open_outside_a_war_room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="no warroom.toml"):
        Room.open()
