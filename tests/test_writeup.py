"""The post-mortem's written fields, contacts, unfilled placeholders and the on-call handoff,
through the real CLI (subprocesses on a real war room) and the core."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import assert_user_error, cli_env, run_cli
from markdown_it import MarkdownIt

from warroom import config as config_mod
from warroom.playbook import export, templates
from warroom.playbook.handoff import handoff
from warroom.record.clock import FrozenClock
from warroom.record.events import MAX_TEXT, Event
from warroom.record.fold import Fold, fold
from warroom.record.room import Room
from warroom.record.writeup import POSTMORTEM_FIELDS, WRITTEN_FIELDS

HOSTILE = "\x1b[31mred\x1b[0m [bold]x[/bold] <script>alert(1)</script> **b** # h | c\n- item\n```"
CONTACTS = '''
war_room_link = "https://meet.example/war-room"

[[contact]]
role = "Primary On-Call"
name = "Dana"
reach = "dana@example.test <b>now</b> | +1 555 0100 \\u001b[2J"

[[contact]]
role = "Engineering Manager"
name = "Lee"
reach = "lee@example.test"
'''


def with_contacts(room_dir: Path) -> None:
    path = room_dir / "warroom.toml"
    path.write_text(path.read_text() + CONTACTS)


def declared(room_dir: Path) -> None:
    run_cli("declare", "Checkout returns 500", "--severity", "P1", "--impact", "EU shoppers cannot pay",
            cwd=room_dir).ok()


def test_every_field_set_from_the_cli_reaches_show_templates_and_export(room_dir: Path):
    with_contacts(room_dir)
    declared(room_dir)
    for written in WRITTEN_FIELDS:
        value = f"{written.name} says {HOSTILE}"
        out = run_cli("set", written.name.replace("_", "-"), value, cwd=room_dir).ok().out
        assert written.name in out
    run_cli("set", "contributing_factors", "a second factor", cwd=room_dir).ok()

    shown = run_cli("show", cwd=room_dir).ok().out
    assert "\x1b" not in shown
    for written in WRITTEN_FIELDS:
        assert f"{written.name} says" in shown
    assert "- a second factor" in shown
    assert "not written yet" not in shown  # every post-mortem section is written
    assert "contact: Primary On-Call: Dana" in shown and "lee@example.test" in shown

    own = room_dir / "templates" / "everything.md"
    own.write_text("\n".join(f"{w.name}={{{{{w.name}}}}}" for w in WRITTEN_FIELDS) + "\nlink={{war_room_link}}\n")
    result = run_cli("update", "--dry-run", "--template", "everything", cwd=room_dir).ok()
    assert "\x1b" not in result.out
    for written in WRITTEN_FIELDS:
        assert f"{written.name}={'- ' if written.is_list else ''}{written.name} says" in result.out
    assert "- a second factor" in result.out
    assert "link=https://meet.example/war-room" in result.out
    assert "not filled in" not in result.err

    doc = run_cli("export", "--out", "-", cwd=room_dir).ok().out
    assert "\x1b" not in doc and "<script>" not in doc and "<b>" not in doc
    assert "\\<script\\>" in doc
    for written in POSTMORTEM_FIELDS:
        assert f"{written.label}\n" in doc  # its heading
        assert f"{written.name.replace('_', chr(92) + '_')} says" in doc  # escaped: went\_well
    assert "- a second factor" in doc
    assert "not written yet" not in doc.split("## Status updates sent")[0]
    # the structure holds: no heading, list or table came from the hostile text
    headings = [t for t in MarkdownIt("commonmark").enable("table").parse(doc) if t.type == "heading_open"]
    assert len(headings) == 1 + 22  # the title, the template's sections and its two appendices
    assert "| Primary On-Call | Dana" in doc and "\\<b\\>now\\</b\\> \\| +1 555 0100" in doc


def test_an_empty_draft_prompts_for_each_section_and_mttd_is_exported(room_dir: Path):
    run_cli("declare", "Search is slow", "--severity", "P2", "--started", "2026-11-24T10:00Z",
            "--detected", "2026-11-24T10:25Z", cwd=room_dir).ok()
    doc = run_cli("export", "--out", "-", cwd=room_dir).ok().out
    assert "{{" not in doc
    for written in POSTMORTEM_FIELDS:
        assert f"*(not written yet: {written.asks})*" in doc
    assert "- **Time to detect (MTTD):** 25m" in doc
    shown = run_cli("show", cwd=room_dir).ok().out
    assert "not written yet: summary, detection, users_affected" in shown


def test_contributing_factors_add_one_per_call_and_an_empty_value_clears(room_dir: Path):
    declared(room_dir)
    assert "1 item" in run_cli("set", "contributing_factors", "no canary", cwd=room_dir).ok().out
    assert "2 items" in run_cli("set", "contributing_factors", "pool too small", cwd=room_dir).ok().out
    doc = run_cli("export", "--out", "-", cwd=room_dir).ok().out
    assert "### Contributing factors\n\n- no canary\n- pool too small\n" in doc
    assert "0 items" in run_cli("set", "contributing_factors", "", cwd=room_dir).ok().out
    doc = run_cli("export", "--out", "-", cwd=room_dir).ok().out
    assert "- no canary" not in doc


def test_a_stack_trace_is_stored_whole_and_a_too_long_one_is_refused(room_dir: Path):
    declared(room_dir)
    trace = "Traceback (most recent call last):\n" + "".join(
        f'  File "app.py", line {n}, in handler\n    call()\n' for n in range(1200)
    )
    assert 50_000 < len(trace) < MAX_TEXT
    proc = subprocess.run([sys.executable, "-m", "warroom", "set", "root_cause", "-"], input=trace, cwd=room_dir,
                          capture_output=True, text=True, env=cli_env(), timeout=30)
    assert proc.returncode == 0, proc.stderr
    doc = run_cli("export", "--out", "-", cwd=room_dir).ok().out
    assert "line 1199, in handler" in doc
    too_long = run_cli("set", "summary", "x" * (MAX_TEXT + 1), cwd=room_dir)
    assert_user_error(too_long, "the summary is 65537 characters long", "nothing was written")
    assert "not written yet: what happened" in run_cli("export", "--out", "-", cwd=room_dir).ok().out


def test_an_unknown_field_is_refused_naming_the_fields(room_dir: Path):
    declared(room_dir)
    line = assert_user_error(run_cli("set", "root-causes", "x", cwd=room_dir), "unknown field 'root_causes'")
    assert "contributing_factors" in line and "prevention" in line


def test_update_warns_about_what_is_not_filled_in(room_dir: Path):
    declared(room_dir)
    (room_dir / "templates" / "mine.md").write_text("Found by: {{detection}}\nOwner: {{team_owner}}\n")
    result = run_cli("update", "--template", "mine", cwd=room_dir).ok()
    assert "not filled in yet: {{team_owner}}, detection" in result.err
    assert "update recorded" in result.out
    run_cli("set", "detection", "a customer wrote in", cwd=room_dir).ok()
    result = run_cli("update", "--dry-run", "--template", "mine", cwd=room_dir).ok()
    assert "Found by: a customer wrote in" in result.out
    assert "detection" not in result.err and "{{team_owner}}" in result.err
    # the bundled initial alert names the war-room link as a key of warroom.toml
    result = run_cli("update", "--dry-run", "--template", "initial-alert", cwd=room_dir).ok()
    assert "war_room_link is a key of warroom.toml" in result.err


def test_unfilled_reads_the_final_text():
    assert templates.unfilled("all {{done}} and (not written yet: why it happened)") == ["{{done}}", "root_cause"]
    assert templates.unfilled("Root cause: a pool of 10") == []


# --- the fold ------------------------------------------------------------------------------


def field_events(values: list[tuple[str, str]]) -> list[Event]:
    inc = "00000000-0000-4000-8000-000000000000"
    made = [Event(inc, inc, "1764000000000.00000", "a", "incident.declared", "2026-11-24T14:00:00.000Z",
                  {"title": "t", "severity": "P1"})]
    for n, (name, value) in enumerate(values, start=1):
        made.append(Event(f"00000000-0000-4000-8000-{n:012d}", inc, f"{1764000000000 + n}.00000", "a",
                          "incident.field", "2026-11-24T14:00:00.000Z", {"field": name, "value": value}))
    return made


def test_fields_fold_incrementally_whatever_the_split():
    values = [("contributing_factors", "one"), ("summary", "s1"), ("contributing_factors", "two"),
              ("affected_users", "old name"), ("contributing_factors", ""), ("contributing_factors", "three"),
              ("summary", "s2"), ("users_affected", "new name")]
    made = field_events(values)
    whole = fold(made).incidents[made[0].id]
    assert whole.items("contributing_factors") == ["three"]
    assert whole.field("summary") == "s2"
    assert whole.field("users_affected") == whole.field("affected_users") == "new name"
    for cut in range(len(made) + 1):
        parts = Fold()
        parts.apply(made[:cut])
        state = parts.apply(made[cut:])
        incident = state.incidents[made[0].id]
        assert (incident.fields, incident.lists) == (whole.fields, whole.lists)
        assert [e.text for e in incident.timeline] == [e.text for e in whole.timeline]
    assert "Contributing factors cleared" in [e.text for e in whole.timeline]


# --- the on-call handoff ----------------------------------------------------------------------


def test_handoff_over_several_incidents(room: Room, clock: FrozenClock):
    old = room.declare("Long ago outage", "P1")
    room.set_status(room.head(old.id), "closed")
    clock.advance(days=10)
    first = room.declare("Checkout returns 500", "P1")
    room.set_field(room.head(first.id), "root_cause", "A pool of 10\nsecond line")
    room.add_action(room.head(first.id), "Alert on pool saturation", owner="bob", due="2026-12-01")
    room.set_status(room.head(first.id), "resolved")
    clock.advance(hours=3)
    second = room.declare("Search is slow", "P3")
    room.set_status(room.head(second.id), "closed")
    clock.advance(hours=1)
    room.declare(HOSTILE.replace("\n", " "), "P2")
    clock.advance(days=2)
    text = handoff(room.heads(), room.config, clock.now(), 7 * 86400)
    assert "Incidents: 3 (P1: 1, P2: 1, P3: 1)" in text
    notable = text.split("Worth knowing about:")[1].split("Action items")[0]
    assert "Checkout returns 500: resolved, " in notable
    assert "cause: A pool of 10" in notable and "second line" not in notable
    assert "Search is slow" not in notable  # a closed P3 is not notable
    assert "Long ago outage" not in text  # before the window, and closed
    assert "Alert on pool saturation" in text and "overdue since 2026-12-01" in text
    watch = text.split("Keep an eye on:")[1]
    assert "(resolved, not closed yet): Checkout returns 500" in watch and "(investigating, not closed" in watch
    assert "{{" not in text


def test_handoff_from_the_cli_is_inert_and_checks_since(room_dir: Path):
    with_contacts(room_dir)
    run_cli("declare", HOSTILE.replace("\n", " "), "--severity", "P1", cwd=room_dir).ok()
    out = run_cli("handoff", "--since", "2d", cwd=room_dir).ok().out
    assert "\x1b" not in out
    assert "ON-CALL HANDOFF: the last 2d, from " in out
    assert "Engineering Manager: Lee (lee@example.test)" in out
    assert "War room: https://meet.example/war-room" in out
    assert_user_error(run_cli("handoff", "--since", "soon", cwd=room_dir), "--since soon")
    assert_user_error(run_cli("handoff", "--since", "0m", cwd=room_dir), "--since 0m", "1m to 366d")


def test_the_war_rooms_own_handoff_template_wins(room_dir: Path):
    (room_dir / "templates" / "oncall-handoff.md").write_text("Ours: {{incident_count}} in {{since}}\n")
    assert run_cli("handoff", cwd=room_dir).ok().out == "Ours: 0 in 7d\n"


# --- contacts in the config ----------------------------------------------------------------------


def test_contacts_are_matched_by_role_then_name(room_dir: Path):
    with_contacts(room_dir)
    config = config_mod.load(room_dir / "warroom.toml")
    assert [c.name for c in config.contacts_for("engineering  manager")] == ["Lee"]
    assert [c.role for c in config.contacts_for("lee")] == ["Engineering Manager"]
    assert config.contacts_for("nobody") == ()
    assert config.war_room_link == "https://meet.example/war-room"


@pytest.mark.parametrize("value", ["42", '"' + "x" * 501 + '"'])
def test_a_bad_war_room_link_is_one_clear_line(room_dir: Path, value: str):
    path = room_dir / "warroom.toml"
    path.write_text(f"war_room_link = {value}\n" + path.read_text())
    declared_result = run_cli("list", cwd=room_dir)
    assert_user_error(declared_result, "war_room_link")


def test_export_lists_contacts_escaped(room_dir: Path, clock: FrozenClock):
    with_contacts(room_dir)
    with Room.open(room_dir / "warroom.toml", clock=clock, author="alice") as room:
        room.declare("x", "P1")
        doc = export.postmortem(room.incident(), room.config, clock.now())
    table = doc.split("## Contacts")[1].split("##")[0]
    assert re.search(r"\| Engineering Manager \| Lee \| lee@example.test \|", table)
    assert "\x1b" not in table
