"""The post-mortem as a document (issue 17 item 8, issue 18 items 2 and 6), from a flapping incident.

A real war room and a frozen clock: an incident whose checkout check went down three times,
people's entries from two responders, severity, status and role changes, a command run and a
pinned log line with its neighbours. The post-mortem is compared with tests/golden/
postmortem-flapping.md; to regenerate it after an intended change:

    WARROOM_UPDATE_GOLDEN=1 python -m pytest tests/test_postmortem.py

then read the file as a reader would before keeping it.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import assert_user_error
from console_support import open_room
from test_export import MD, structure

from warroom.playbook import export
from warroom.playbook.postmortem_timeline import reader_zone
from warroom.record.clock import FrozenClock
from warroom.record.room import Room

GOLDEN = Path(__file__).parent / "golden" / "postmortem-flapping.md"
UPDATE = os.environ.get("WARROOM_UPDATE_GOLDEN") == "1"
START = datetime(2026, 11, 24, 14, 0, tzinfo=UTC)
EXPORTED = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return START + timedelta(minutes=minutes)


def flapping(room_dir: Path, clock: FrozenClock) -> tuple[Room, str]:
    """The flapping incident, written by alice (IC) and carol (scribe) on one record."""
    alice = open_room(room_dir, clock, author="alice", seed=1)
    carol = open_room(room_dir, clock, author="carol", seed=2)

    def when(minutes: float) -> None:
        clock.set(at(minutes))

    when(0)
    declared = alice.declare("Checkout returns 500 for some shoppers", "P2", "Some EU shoppers cannot pay",
                             detected_at=at(-2))
    incident = alice.head(declared.id)
    alice.set_field(incident, "impact_started_at", "2026-11-24T13:52:00.000Z")
    when(1)
    alice.assign(incident, "scribe", "carol")
    alice.assign(incident, "tl", "bob")
    when(2)
    alice.acknowledge(incident)
    flips = [(3, "checkout-api", "up", "down", "HTTP 500"), (7, "checkout-api", "down", "up", ""),
             (9, "checkout-api", "up", "down", "timeout after 3000ms"), (10, "database", "up", "degraded",
                                                                          "latency 828ms over 800ms"),
             (12, "database", "degraded", "up", ""), (16, "checkout-api", "down", "up", ""),
             (20, "checkout-api", "up", "down", "HTTP 502"), (24, "checkout-api", "down", "up", "")]
    events = {minute: flip for minute, *flip in flips}
    script = [
        (4, lambda: carol.log(incident, "Error rate at 30% on /checkout since deploy 4812", "finding")),
        (5, lambda: alice.set_severity(incident, "P1")),
        (11, lambda: carol.log(
            incident, "payment provider timeout after 3000ms order=8812", "finding", source="log:checkout",
            lines_before=[f"GET /checkout 200 {n}ms" for n in range(40, 45)],
            lines_after=["retrying payment provider (1/3)", "retrying payment provider (2/3)",
                         "giving up on order=8812", "GET /health 200 2ms", "pool: 10 of 10 connections busy"])),
        (13, lambda: carol.log(incident, "Roll back deploy 4812", "decision")),
        (14, lambda: alice.set_status(incident, "identified")),
        (15, lambda: alice.post_update(incident, "We found the cause of failed payments and are rolling back.",
                                       template="statuspage-identified")),
        (18, lambda: alice.record_command(incident, "kubectl rollout undo deploy/checkout", 0,
                                          "deployment.apps/checkout rolled back\nwaiting for rollout")),
        (25, lambda: alice.set_status(incident, "monitoring")),
        (26, lambda: alice.assign(incident, "ic", "bob")),
        (30, lambda: carol.log(incident, "Error rate back under 0.1% for five minutes", "note")),
        (40, lambda: alice.set_status(incident, "resolved")),
        (41, lambda: alice.set_field(incident, "root_cause", "Deploy 4812 cut the payment client's timeout")),
        (42, lambda: alice.add_action(incident, "Alert on payment pool saturation", owner="bob",
                                      due="2026-12-05", priority="high")),
    ]
    steps = sorted([(m, None) for m in events] + [(m, step) for m, step in script], key=lambda pair: pair[0])
    for minute, step in steps:
        when(minute)
        if step is None:
            check, previous, current, reason = events[minute]
            alice.record_flip(incident, check, previous, current, reason)
        else:
            step()
    carol.close()
    clock.set(EXPORTED)
    return alice, declared.id


@pytest.fixture
def document(room_dir: Path, clock: FrozenClock):
    room, incident_id = flapping(room_dir, clock)
    try:
        incident = room.full(incident_id)
        yield incident, room, export.postmortem(incident, room.config, EXPORTED, zone=reader_zone("Europe/Berlin"))
    finally:
        room.close()


def test_golden_postmortem_for_a_flapping_incident(document):
    _incident, _room, doc = document
    if UPDATE:
        GOLDEN.write_text(doc, encoding="utf-8")
    assert doc == GOLDEN.read_text(encoding="utf-8")


def _section(doc: str, heading: str) -> str:
    return doc.split(f"\n## {heading}\n", 1)[1].split("\n## ", 1)[0]


def test_the_story_keeps_people_and_changes_and_sums_the_flips(document):
    incident, _room, doc = document
    story = _section(doc, "Timeline")
    rows = [line for line in story.splitlines() if line.startswith("| ") and not line.startswith("| UTC")]
    # 3 + 2 + 1 spans: down 4m, 7m and 4m; degraded 2m; the flips themselves are left to the appendix
    assert "checkout-api down 3 times, 15m in all, from 14:03 to 14:24 UTC (each flip in the appendix)" in story
    assert "database degraded once, 2m in all, from 14:10 to 14:12 UTC" in story
    assert "Check flipped" not in story and "Check checkout-api: up" not in story
    for kept in ("Error rate at 30%", "Roll back deploy 4812", "| Severity changed | P2 → P1 |", "| Status changed | Investigating → Identified |",
                 "Incident Commander: bob (handed over from alice)", "Scribe: carol", "Acknowledged by alice",
                 "Error rate back under 0.1%", "Ran \\`kubectl rollout undo deploy/checkout\\`: exit 0 (+2 lines in the appendix)"):
        assert kept in story, kept
    assert "Root cause:" not in story  # a field has its own section
    # Labels are words, never "note (status)"
    assert not re.search(r"\| (note|finding|action|decision) \(", doc)
    whats = {row.split(" | ")[3] for row in rows}
    assert whats <= {"Declared", "Role assigned", "Acknowledged", "Finding", "Severity changed", "Check summary",
                     "Log line pinned", "Decision", "Status changed", "Update posted", "Command run", "Note",
                     "Action item"}, whats
    # Times in UTC and the reader's zone (Berlin is an hour ahead in November)
    assert rows[0].startswith("| 14:00 | 15:00 | alice | Declared |")


def test_key_times_are_complete_and_human(document):
    _incident, _room, doc = document
    keys = _section(doc, "Key times")
    assert "| Milestone | UTC | Europe/Berlin | After detection |" in keys
    expected = [("Impact started", "13:52"), ("Detected", "13:58"), ("Declared", "14:00"), ("Acknowledged", "14:02"),
                ("Mitigated", "14:25"), ("Resolved", "14:40")]
    for name, hhmm in expected:
        hour, minute = hhmm.split(":")
        berlin = f"{int(hour) + 1}:{minute}"
        assert re.search(rf"\| {name} \| Tue 24 Nov 2026 {hhmm} \| Tue 24 Nov 2026 {berlin} CET \|", keys), name
    assert "| Resolved | Tue 24 Nov 2026 14:40 | Tue 24 Nov 2026 15:40 CET | +42m |" in keys
    assert "T13:52:00" not in doc.split("## Appendix: every event")[0]  # no raw ISO time before the appendix


def test_every_event_is_in_the_appendix(document):
    incident, _room, doc = document
    appendix = _section(doc, "Appendix: every event")
    rows = [line for line in appendix.splitlines() if line.startswith("| 2026-")]
    assert len(rows) == len(incident.timeline)
    assert sum("| Check flipped |" in row for row in rows) == 8
    assert "| Field set | Impact started at: Tue 24 Nov 2026 13:52 UTC (14:52 CET) |" in appendix


def test_pinned_excerpt_keeps_five_lines_each_side(document):
    _incident, _room, doc = document
    excerpt = _section(doc, "Appendix: pinned log excerpts")
    block = excerpt.split("```text\n", 1)[1].split("\n```", 1)[0].splitlines()
    assert len(block) == 11
    assert block[5] == "▶ payment provider timeout after 3000ms order=8812"
    assert block[0] == "  GET /checkout 200 40ms" and block[-1] == "  pool: 10 of 10 connections busy"
    assert "log:checkout, pinned by carol" in excerpt


def test_utc_reader_gets_one_time_column(document):
    incident, room, _doc = document
    doc = export.postmortem(incident, room.config, EXPORTED)
    assert "| Milestone | UTC | After detection |" in doc
    assert "| UTC | Who | What | Entry |" in doc
    assert "CET" not in doc


def test_no_diagrams_leaves_the_gantt_out_and_nothing_else(document):
    incident, room, doc = document
    plain = export.postmortem(incident, room.config, EXPORTED, zone=reader_zone("Europe/Berlin"), diagrams=False)
    assert "```mermaid" in doc and "mermaid" not in plain
    with_diagram, without = structure(doc), structure(plain)
    assert with_diagram["headings"] == without["headings"] and with_diagram["tables"] == without["tables"]
    assert with_diagram["blocks"]["fence"] == without["blocks"]["fence"] + 1
    assert "\n\n\n" not in plain


def test_a_hostile_excerpt_cannot_close_its_code_block(room: Room):
    incident = room.head(room.declare("x", "P1").id)
    nasty = ["```", "  ````", "~~~", "</pre><script>alert(1)</script>", "# heading", "| a | b |"]
    room.log(incident, "````` pinned", "finding", source="log:x", lines_before=nasty, lines_after=nasty)
    doc = export.postmortem(room.full(incident.id), room.config, EXPORTED, diagrams=False)
    tokens = MD.parse(doc.split("## Appendix: pinned log excerpts", 1)[1])
    fences = [t for t in tokens if t.type == "fence"]
    assert len(fences) == 1 and fences[0].content.count("\n") == 13
    assert not [t for t in tokens if t.type in ("heading_open", "table_open", "html_block")]


def test_cli_export_takes_a_zone_and_refuses_an_unknown_one(cli):
    cli("declare", "Checkout returns 500", "--severity", "P1").ok()
    out = cli("export", "--out", "-", "--tz", "America/New_York").ok().out
    assert "| Milestone | UTC | America/New\\_York |" in out and "```mermaid" in out
    assert "```mermaid" not in cli("export", "--out", "-", "--no-diagrams").ok().out
    assert_user_error(cli("export", "--tz", "Mars/Olympus_Mons"), "--tz", "Mars/Olympus_Mons", "IANA")
