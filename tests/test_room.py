"""The war room's rules, shared by CLI and console: which incident, what --at means, edits."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from warroom.errors import RefusedFile, UsageError
from warroom.record.clock import FrozenClock
from warroom.record.room import Room, parse_at, parse_typed_line
from warroom.record.store import Store
from warroom.share.setup import init

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


def test_at_hhmm_before_the_incident_began_names_both_readings():
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    with pytest.raises(UsageError) as caught:
        parse_at("14:05", now, not_before="2026-11-24T14:30:00.000Z", incident="INC-abcd")
    message = str(caught.value)
    assert "2026-11-24 14:05" in message and "INC-abcd" in message and "14:30" in message
    assert "--at 2026-11-24T14:05" in message  # how to give a date
    # Today's 16:00 is still ahead, so it reads as yesterday's, before the incident: both readings.
    with pytest.raises(UsageError) as caught:
        parse_at("16:00", now, not_before="2026-11-24T14:30:00.000Z")
    assert "2026-11-23 16:00" in str(caught.value) and "still ahead" in str(caught.value)
    assert parse_at("14:45", now, not_before="2026-11-24T14:30:00.000Z") == datetime(2026, 11, 24, 14, 45,
                                                                                    tzinfo=UTC)


def test_at_hhmm_more_than_a_day_back_is_refused(new_york):
    now = datetime(2026, 11, 24, 20, 0, tzinfo=UTC)  # 15:00 in New York
    assert parse_at("15:00", now) == now
    assert parse_at("15:02", now) == datetime(2026, 11, 23, 20, 2, tzinfo=UTC)  # 23h58 back
    # The day the clocks went back has 25 hours: yesterday's 12:30 is 24h30 before 12:00 EST.
    with pytest.raises(UsageError) as caught:
        parse_at("12:30", datetime(2026, 11, 1, 17, 0, tzinfo=UTC))
    assert "2026-10-31 12:30" in str(caught.value) and "24 hours" in str(caught.value)


@pytest.mark.parametrize("text", ["1969-12-31T23:59:59Z", "9999-12-31T23:59:59", "0001-01-01T00:00:00",
                                  "2200-01-01T00:00:00Z"])
def test_at_out_of_range_or_in_the_future_is_refused(text: str):
    with pytest.raises(UsageError) as caught:
        parse_at(text, datetime(2026, 11, 24, 20, 0, tzinfo=UTC))
    assert text in str(caught.value)
    assert "1970" in str(caught.value) or "future" in str(caught.value)


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
    assert incident.entries == []  # a head: the timeline is read from the record's rows
    clock.advance(60)
    logged = room.log(incident, "on-call acknowledged", at=parse_at("14:05", clock.now()))
    assert logged.at == "2026-11-24T14:05:00.000Z"
    assert logged.hlc > event.hlc  # causal order is kept even though the wall time is earlier
    timeline = room.timeline(incident.id)
    assert timeline[0].text == "on-call acknowledged"  # ordered by the time it describes
    assert [e.id for e in timeline] == [e.id for e in room.full(incident.id).timeline]


def test_unknown_severity_lists_the_profile(room: Room):
    with pytest.raises(UsageError) as caught:
        room.declare("t", "P9")
    assert "'P9'" in str(caught.value) and "P1, P2, P3, P4" in str(caught.value)
    assert room.store.count() == 0


def test_which_incident(room: Room, clock: FrozenClock):
    with pytest.raises(UsageError, match="no incidents in this war room yet"):
        room.incident()
    first = room.declare("first", "P1")
    clock.advance(1)
    second = room.declare("second", "P2")
    # The one rule: the newest incident that is not closed, unless one is named.
    assert room.incident().id == second.id
    assert [s.id for s in room.others_open(second.id)] == [first.id]
    short = room.state.incidents[second.id].short_id
    assert room.incident(short).id == second.id
    assert room.incident(second.id).id == second.id
    assert room.incident(first.id[:6]).id == first.id
    with pytest.raises(UsageError, match="no incident 'INC-zzzz'"):
        room.incident("INC-zzzz")
    room.set_status(room.incident(short), "resolved")
    assert room.incident().id == second.id  # resolved still counts
    room.set_status(room.incident(short), "closed")
    assert room.incident().id == first.id
    room.set_status(room.incident(first.id), "closed")
    with pytest.raises(UsageError, match="every incident here is closed"):
        room.incident()
    assert room.incident(or_closed=True).id == second.id  # show and export: the newest closed one
    assert [s.id for s in room.summaries()] == [first.id, second.id]
    assert [s.open for s in room.summaries()] == [False, False]


def test_edit_delete_restore_keep_history(room: Room, clock: FrozenClock):
    room.declare("t", "P1")
    incident_id = room.incident().id
    entry_id = room.log(room.incident(), "rolled back 4812", "action").id
    clock.advance(5)
    room.edit(entry_id[:8], "rolled back deploy 4812")
    entry = room.entry(entry_id)
    assert entry.text == "rolled back deploy 4812"
    assert [r.text for r in entry.history] == ["rolled back 4812", "rolled back deploy 4812"]
    row = next(e for e in room.timeline(incident_id) if e.id == entry_id)
    assert row.text == "rolled back deploy 4812" and row.edited  # the row knows it has a history
    room.delete(entry_id[:8])
    assert entry_id not in [e.id for e in room.timeline(incident_id)]
    assert entry_id not in [e.id for e in room.full(incident_id).timeline]
    room.delete(entry_id[:8], restore=True)
    assert entry_id in [e.id for e in room.timeline(incident_id)]
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
    with pytest.raises(UsageError, match="impact_started_at 99:99"):
        room.set_field(inc, "impact_started_at", "99:99")
    room.assign(inc, "scribe", "carol")
    assert room.incident().holder("Scribe") == "carol"
    with pytest.raises(UsageError, match="unknown role 'janitor'"):
        room.assign(inc, "janitor", "x")


def test_reload_sees_another_writer(room: Room, room_dir: Path):
    room.declare("t", "P1")
    room.reload()
    incident_id = room.incident().id
    with Store(room.config.record_path, author="carol") as other:
        logged = other.append("entry.logged", incident_id, {"text": "from the second console", "type": "note"})
    changes = room.reload()
    assert changes and logged.id in changes.entries and incident_id in changes.incidents
    assert "from the second console" in [e.text for e in room.timeline(incident_id)]
    assert not room.reload()


def test_the_record_lives_out_of_gits_reach(room: Room, room_dir: Path):
    """The console and CLI write .warroom/record.db (git-ignored); warroom.db is an exchange copy."""
    assert room.store.path == room_dir / ".warroom" / "record.db"
    assert (room_dir / ".warroom" / ".gitignore").read_text().splitlines()[-1] == "*"
    assert room.store.meta("app") == "warroom-record" and room.store.meta("schema_version") == "2"
    assert len(room.store.copy_id) == 36
    assert ".warroom/" in (room_dir / ".gitignore").read_text().splitlines()
    with pytest.raises(RefusedFile, match="exchange copy"):
        Store(room_dir / "warroom.db")


def test_appended_text_is_inert_and_has_its_secrets_taken_out(room: Room):
    room.declare("Checkout \x1b]0;PWNED\x07 down", "P1")
    incident = room.incident()
    key = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\nabcdefghij\n-----END RSA PRIVATE KEY-----"
    logged = room.log(incident, f"tried AKIAABCDEFGHIJKLMNOP and\n{key}\x07 \u202eevil")
    stored = room.store.events("where id = ?", (logged.id,))[0].body["text"]
    for raw in ("\x1b", "\x07", "\u202e", "AKIAABCDEFGHIJKLMNOP", "MIIEowIBAAKCAQEA7", "abcdefghij"):
        assert raw not in stored, raw
    assert "\n" in stored  # line breaks stay
    title = room.incident().title
    assert "\x1b" not in title and "\x07" not in title and "Checkout" in title


def test_summaries_find_and_short_ids_come_from_the_summary_table(room: Room, clock: FrozenClock):
    ids = []
    for n in range(5):
        clock.advance(1)
        ids.append(room.declare(f"incident {n}", "P2").id)
    summaries = room.summaries()
    assert [s.id for s in summaries] == ids  # oldest first
    assert [s.title for s in summaries] == [f"incident {n}" for n in range(5)]
    shorts = [s.short_id for s in summaries]
    assert len(set(shorts)) == 5
    for summary in summaries:
        assert room.find(summary.short_id) == [summary]
        assert summary.id.replace("-", "").startswith(summary.short_id[4:])
    assert room.heads().incidents.keys() == set(ids)
    assert all(i.entries == [] or all(e.auto for e in i.entries) for i in room.heads().incidents.values())


def test_timeline_pages_from_the_newest(room: Room, clock: FrozenClock):
    incident = room.incident(room.declare("long", "P2").id)
    for n in range(30):
        clock.advance(1)
        room.log(incident, f"entry {n}")
    newest = room.timeline(incident.id, limit=10)
    assert [e.text for e in newest] == [f"entry {n}" for n in range(20, 30)]
    older = room.timeline(incident.id, before=(newest[0].at, newest[0].hlc, newest[0].id), limit=10)
    assert [e.text for e in older] == [f"entry {n}" for n in range(10, 20)]
    rest = room.timeline(incident.id, before=(older[0].at, older[0].hlc, older[0].id), limit=100)
    assert len(rest) == 11 and rest[0].auto == "declared"  # 10 entries and the declaration
    recent = room.recent(incident.id, limit=5)
    assert [e.text for e in recent.entries][-5:] == [f"entry {n}" for n in range(25, 30)]


def test_open_outside_a_war_room(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="no warroom.toml"):
        Room.open()


# --- what git brings: warroom.db taken in when it changed --------------------------------------


def test_a_changed_warroom_db_is_taken_in_and_can_only_add(room_dir: Path, clock: FrozenClock):
    import json
    import sqlite3

    from warroom.record.events import new_id
    from warroom.share import exchange

    with Room.open(room_dir / "warroom.toml", clock=clock, author="alice") as room:
        incident = room.incident(room.declare("t", "P1").id)
        mine = room.log(incident, "mine")
        exchange.write(room.store.path, room_dir / "warroom.db")
    # By hand (or by git): one of alice's rows goes, another comes.
    conn = sqlite3.connect(room_dir / "warroom.db")
    conn.execute("delete from events where id = ?", (mine.id,))
    theirs = new_id()
    conn.execute("insert into events values (?,?,?,?,?,?,?)",
                 (theirs, incident.id, "1795532400001.00000", "bob", "entry.logged", "2026-11-24T15:00:01.000Z",
                  json.dumps({"text": "theirs", "type": "note"})))
    conn.commit()
    conn.close()
    with Room.open(room_dir / "warroom.toml", clock=clock, author="alice") as room:
        texts = [e.text for e in room.timeline(incident.id)]
        assert "mine" in texts and "theirs" in texts
        assert room.take_in() is None  # unchanged since: not read again


def test_an_unreadable_warroom_db_is_a_note_and_the_record_goes_on(room_dir: Path, clock: FrozenClock):
    with Room.open(room_dir / "warroom.toml", clock=clock, author="alice") as room:
        room.declare("t", "P1")
    (room_dir / "warroom.db").write_text("<<<<<<< HEAD\nnot a database\n")
    with Room.open(room_dir / "warroom.toml", clock=clock, author="alice") as room:
        assert len(room.notes) == 1 and "warroom.db" in room.notes[0] and "intact" in room.notes[0]
        assert "warroom sync" in room.notes[0]
        room.log(room.incident(), "still logging")
        assert "still logging" in [e.text for e in room.timeline(room.incident().id)]
