"""Severity profiles as teams write them: targets that are `immediate` or `none`, a
resolution target, channels to notify, deadlines after resolution, single values changed
from warroom.toml, names in any case; the escalation path, the update cadence and snoozes
as the record and the clock make them; roles a team replaces or leaves optional."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from warroom import config
from warroom.config import load
from warroom.errors import ConfigError
from warroom.record.clock import FrozenClock
from warroom.record.fold import fold
from warroom.record.model import escalation_rungs, target_met, update_countdown
from warroom.record.room import Room

HOSTILE = "\x1b[31m[bold red]x[/]\x07"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "warroom.toml"
    path.write_text(text)
    return path


def error_for(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(path, environ={})
    assert str(path.resolve()) in str(caught.value) and "\n" not in str(caught.value)
    return caught.value


def test_one_value_of_a_bundled_level_is_changed_from_warroom_toml(tmp_path: Path):
    loaded = load(write(tmp_path, 'severity_profile = "p0-p3"\n[severity.p1]\npostmortem_within = "48h"\n'
                                  'update_every = "none"\nnotify = ["email"]\n'), environ={})
    p1 = loaded.severity.level("P1")
    assert loaded.severity.name == "P0-P3"  # the profile's name in any case
    assert p1.postmortem_within == 48 * 3600 and p1.update_every is None and p1.notify == ("email",)
    assert p1.acknowledge_within == 30 * 60 and p1.label == "High"  # the rest as bundled
    assert loaded.severity.level("P0").postmortem_within == 24 * 3600


@pytest.mark.parametrize("text, key, needles", [
    ('[severity.P9]\nupdate_every = "1h"\n', "severity.P9", ["unknown severity", "P1, P2, P3, P4"]),
    ('[severity.P2]\nupdate_every = "0m"\n', "severity.P2.update_every", ["'0m'", "immediate", "none"]),
    ('[severity.P2]\nupdate_evry = "1h"\n', "severity.P2", ["update_evry"]),
    ('[severity.P2]\nid = "P7"\n', "severity.P2", ["id"]),
    ('[severity.P2]\nresolve_within = "soon"\n', "severity.P2.resolve_within", ["'soon'", "none"]),
    ('[severity.P2]\nnotify = ["' + HOSTILE.replace("\x1b", "\\u001b").replace("\x07", "\\u0007") + '"]\n',
     "severity.P2.notify[0]", ["control characters"]),
    ('[severity.P2]\ndeadline = [{ name = "Summary" }]\n', "severity.P2.deadline[0].within", ["required"]),
    ('severity = "P1"\n', "severity", ["[severity.LEVEL]"]),
])
def test_bad_overrides_name_warroom_toml_the_key_and_the_value(tmp_path: Path, text, key, needles):
    error = error_for(write(tmp_path, text))
    assert error.key == key, error
    for needle in needles:
        assert needle in error.message, error.message


def test_targets_take_immediate_and_none(tmp_path: Path):
    (tmp_path / "ours.toml").write_text(
        '[[level]]\nid = "Red"\nlabel = "Red"\nacknowledge_within = "Immediate"\nupdate_every = "none"\n'
        'resolve_within = "1h"\nescalate_after = "none"\n'
        'deadline = [{ name = "Summary", within = "24h" }, { name = "Meeting", within = "7d" }]\n')
    red = load(write(tmp_path, 'severity_profile = "ours.toml"\n'), environ={}).severity.level("RED")
    assert red.acknowledge_within == 0 and red.update_every is None and red.resolve_within == 3600
    assert red.escalate_after is None and red.never_escalates
    assert [(d.name, d.within) for d in red.deadlines] == [("Summary", 86400), ("Meeting", 7 * 86400)]


def test_escalation_severities_in_any_case_are_the_profiles_levels(tmp_path: Path):
    loaded = load(write(tmp_path, '[[escalation]]\nafter = "0m"\nto = "Manager"\nseverities = ["p1"]\n'
                                  '[[escalation]]\nafter = "30m"\nto = "Senior engineer"\n'), environ={})
    assert loaded.escalation[0].severities == ("P1",)
    assert [r.to for r in loaded.escalation_for("P1")] == ["Manager", "Senior engineer"]
    assert [r.to for r in loaded.escalation_for("p2")] == ["Senior engineer"]
    # P4 says escalate_after = "none" in the bundled P1-P4: a rung naming no level skips it.
    assert loaded.escalation_for("P4") == ()
    error = error_for(write(tmp_path, '[[escalation]]\nafter = "1h"\nto = "x"\nseverities = ["P1", "sev9"]\n'))
    assert error.key == "escalation[1].severities[1]" or error.key == "escalation[0].severities[1]"
    assert "'sev9'" in error.message and "P1, P2, P3, P4" in error.message


def test_no_rung_without_escalation_or_escalate_after(tmp_path: Path):
    (tmp_path / "ours.toml").write_text('[[level]]\nid = "A"\nlabel = "A"\nacknowledge_within = "5m"\n'
                                        'update_every = "20m"\n')
    loaded = load(write(tmp_path, 'severity_profile = "ours.toml"\n'), environ={})
    assert loaded.severity.level("A").escalate_after is None  # no silent 1h default
    assert loaded.escalation_for("A") == ()


def test_roles_replace_the_built_in_set_and_may_be_optional(tmp_path: Path):
    loaded = load(write(tmp_path, '[[role]]\nname = "On-call"\n[[role]]\nname = "Backup"\noptional = true\n'),
                  environ={})
    assert loaded.roles == ("On-call", "Backup") and loaded.lead_role == "On-call"
    assert loaded.optional_roles == {"Backup"}
    assert loaded.role_name("ic") is None and loaded.role_name("backup") == "Backup"
    both = error_for(write(tmp_path, 'roles = ["x"]\n[[role]]\nname = "On-call"\n'))
    assert both.key == "roles" and "[[role]]" in both.message
    twice = error_for(write(tmp_path, '[[role]]\nname = "On-call"\n[[role]]\nname = "on-call"\n'))
    assert twice.key == "role[1].name"


def test_the_lead_role_is_held_by_whoever_declares(tmp_path: Path):
    write(tmp_path, '[[role]]\nname = "On-call"\n')
    with Room.open(tmp_path / "warroom.toml", clock=FrozenClock("2026-11-24T15:00:00+00:00"), author="sam") as room:
        incident = room.head(room.declare("Site down", "P1").id)
        assert {name: role.person for name, role in incident.roles.items()} == {"On-call": "sam"}


# --- the clock's views of the record ---------------------------------------


def test_update_cadence_counts_from_the_last_update_and_snoozes_from_the_later_time(room: Room, clock):
    declared = clock.now()
    incident = room.head(room.declare("t", "P2").id)  # P2: updates every 30m
    assert update_countdown(incident, None, clock.now()) is None  # none: no countdown
    immediate = update_countdown(incident, 0, clock.now())
    assert immediate.due_at == declared and immediate.phase == "soon"
    clock.advance(minutes=40)
    room.post_update(incident, "still on it")
    incident = room.head(incident.id)
    assert update_countdown(incident, 0, clock.now()) is None  # immediate: only the first
    due = update_countdown(incident, 1800, clock.now())
    assert due.due_at == declared + timedelta(minutes=70)  # one cadence after the last posted
    # Snoozed 15 minutes 13 minutes early: from the deadline, not from now.
    clock.advance(minutes=17)
    room.snooze(incident, 15, "waiting for the vendor")
    incident = room.head(incident.id)
    snoozed = update_countdown(incident, 1800, clock.now())
    assert snoozed.due_at == declared + timedelta(minutes=85) and snoozed.snoozed
    # Snoozed once overdue: from now.
    clock.advance(minutes=30)
    room.snooze(incident, 10, "still waiting")
    incident = room.head(incident.id)
    assert update_countdown(incident, 1800, clock.now()).due_at == clock.now() + timedelta(minutes=10)


def test_every_due_rung_stays_flagged_until_its_call_is_recorded(tmp_path: Path, clock):
    write(tmp_path, 'severity_profile = "SEV1-SEV4"\n'
                    '[[escalation]]\nafter = "0m"\nto = "Engineering manager"\nseverities = ["sev1"]\n'
                    '[[escalation]]\nafter = "30m"\nto = "Senior engineer"\n'
                    '[[escalation]]\nafter = "2h"\nto = "CTO"\n')
    with Room.open(tmp_path / "warroom.toml", clock=clock, author="ann") as room:
        incident = room.head(room.declare("App down", "SEV1").id)
        rungs = room.config.escalation_for("SEV1")
        clock.advance(minutes=45)
        states = [(r.to, r.state) for r in escalation_rungs(incident, rungs, clock.now())]
        assert states == [("Engineering manager", "due"), ("Senior engineer", "due"), ("CTO", "later")]
        room.escalate(incident, "senior ENGINEER")
        incident = room.head(incident.id)
        states = [(r.to, r.state) for r in escalation_rungs(incident, rungs, clock.now())]
        assert states == [("Engineering manager", "due"), ("Senior engineer", "escalated"), ("CTO", "later")]
        assert "ESCALATE NOW: Engineering manager" in escalation_rungs(incident, rungs, clock.now())[0].describe()
        room.set_status(incident, "resolved")
        incident = room.head(incident.id)
        assert all(r.state != "due" for r in escalation_rungs(incident, rungs, clock.now() + timedelta(hours=3)))
        # The call is on the timeline, and the fold is the same whole or in two parts.
        events = room.store.load().events
        assert any(e.text == "Escalated to senior ENGINEER" for e in room.full(incident.id).timeline)
        half = len(events) // 2
        from warroom.record.fold import Fold

        assert Fold(room.config.roles).apply(events[:half]) is not None
        parts = Fold(room.config.roles)
        parts.apply(events[:half])
        whole = fold(events, room.config.roles).incidents[incident.id]
        assert parts.apply(events[half:]).incidents[incident.id].escalated == whole.escalated


def test_resolution_target_met_or_missed(room: Room, clock):
    incident = room.head(room.declare("t", "P1").id)
    assert target_met(incident, 3600, "") is None and target_met(incident, None, "x") is None
    clock.advance(minutes=50)
    room.set_status(incident, "resolved")
    incident = room.head(incident.id)
    assert target_met(incident, 3600, incident.resolved_at) is True
    assert target_met(incident, 1800, incident.resolved_at) is False


def test_bundled_profiles_in_any_case_from_a_config(tmp_path: Path):
    for name in config.bundled_profiles():
        assert load(write(tmp_path, f'severity_profile = "{name.lower()}"\n'), environ={}).severity.name == name


def test_the_lead_role_is_the_records_word_so_every_view_folds_the_same(tmp_path: Path):
    write(tmp_path, '[[role]]\nname = "On-call"\n[[role]]\nname = "Backup"\noptional = true\n')
    with Room.open(tmp_path / "warroom.toml", clock=FrozenClock("2026-11-24T15:00:00+00:00"), author="sam") as room:
        event = room.declare("Site down", "P1")
        assert event.body["role"] == "On-call"
        room.assign(room.head(event.id), "on-call", "kim")
        derived = [e.text for e in room.timeline(event.id)]  # the store's rows, as the console reads them
        whole = [e.text for e in room.full(event.id).timeline]  # the fold, as the export reads it
        assert derived == whole
        assert whole[0].endswith("; On-call sam") and whole[1] == "On-call: kim (handed over from sam)"
