"""The record as data (issue 18 item 3): `warroom export --format json` validates against the
schema shipped in the package (`warroom schema` prints it) for every scripted scenario,
hostile text included; field names a small adapter can map; bad options refused in one line."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import jsonschema
from conftest import assert_user_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_export import BENIGN, CONFIG, INC, KEYS, incident_with, nasty, nasty_required
from test_postmortem import EXPORTED, flapping
from test_state import null_valued_events, random_events, scenario

from warroom.playbook.json_export import SCHEMA_PATH, SCHEMA_VERSION, export_json, schema_text
from warroom.record.fold import fold

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
SCHEMA = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())


def valid(text: str) -> dict:
    document = json.loads(text)
    errors = sorted(VALIDATOR.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
    return document


def test_the_schema_is_a_valid_2020_12_schema_and_versioned():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema_version"] == {"const": SCHEMA_VERSION}
    assert SCHEMA["$id"].endswith("incident-v1.json")


def test_every_kind_of_event_exports_valid_json():
    state = fold(scenario())
    document = valid(export_json(state.ordered, CONFIG, NOW))
    assert document["schema_version"] == 1 and len(document["incidents"]) == 2
    first = document["incidents"][0]
    kinds = {item["kind"] for item in first["timeline"]}
    assert {"declared", "finding", "action", "severity", "status", "field", "update", "snooze", "action_item",
            "check", "command", "role", "ack"} <= kinds
    assert first["title"] == "Checkout returns 500" and first["status"] == "resolved"
    assert first["created_at"] < first["resolved_at"]
    assert first["action_items"][0]["status"] == "done" and first["action_items"][0]["completed_at"]
    assert first["metrics"]["time_to_acknowledge_seconds"] is not None
    assert [r["role"] for r in first["roles"]][:1] == ["Incident Commander"]
    assert first["roles"][0]["handovers"][-1]["person"] == "bob"
    assert first["check_flips"] == [{"at": first["check_flips"][0]["at"], "check": "api", "previous": "up",
                                     "current": "down", "reason": "500"}]
    assert first["postmortem"] == {"root_cause": "A bad deploy"}


def test_the_flapping_incident_exports_spans_and_a_pinned_excerpt(room_dir: Path, clock):
    room, incident_id = flapping(room_dir, clock)
    try:
        document = valid(export_json([room.full(incident_id)], room.config, EXPORTED))
    finally:
        room.close()
    incident = document["incidents"][0]
    (checkout,) = [c for c in incident["checks"] if c["check"] == "checkout-api"]
    assert checkout["flips"] == 6 and [s["seconds"] for s in checkout["spans"]] == [240, 420, 240]
    (pin,) = [item for item in incident["timeline"] if item["kind"] == "pin"]
    assert pin["source"] == "log:checkout" and len(pin["lines_before"]) == 5 and len(pin["lines_after"]) == 5
    assert pin["automatic"] is False and pin["author"] == "carol"
    assert incident["impact_started_at"] == "2026-11-24T13:52:00.000Z"
    assert incident["severity"] == "P1" and incident["severity_label"] == "Critical"
    assert [c["severity"] for c in incident["severity_changes"]] == ["P2", "P1"]
    assert incident["metrics"]["duration_seconds"] == 42 * 60
    assert all(item["status"] == "pending" for item in incident["checklist"])


def test_explicit_nulls_and_random_records_export_valid_json():
    (incident,) = fold(null_valued_events(), CONFIG.roles).incidents.values()
    valid(export_json([incident], CONFIG, NOW))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_events())
def test_any_record_the_fold_accepts_exports_valid_json(events):
    state = fold(events, CONFIG.roles)
    valid(export_json(state.ordered, CONFIG, NOW))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({key: nasty_required if key in ("title", "role", "author", "template", "source")
                              else nasty for key in KEYS}))
def test_hostile_text_exports_valid_inert_json(texts):
    texts = {k: (v if k != "author" else v[:200]) for k, v in texts.items()}
    text = export_json(fold_incident(texts), CONFIG, NOW)
    document = valid(text)
    assert "\x1b" not in text and "\\u001b" not in text  # the record made every field inert
    incident = document["incidents"][0]
    assert incident["id"] == INC and len(incident["timeline"]) == len(fold_incident(texts)[0].timeline)


def fold_incident(texts: dict[str, str]):
    return [incident_with(texts).incidents[INC]]


def test_benign_fields_read_back_as_written():
    incident = valid(export_json(fold_incident(BENIGN), CONFIG, NOW))["incidents"][0]
    assert incident["title"] == "benign title" and incident["impact"] == "benign impact"
    assert incident["postmortem"]["root_cause"] == "benign root_cause"
    assert incident["updates"][0] == {**incident["updates"][0], "text": "benign update", "template": "benign template"}


def test_cli_export_json_one_or_all_and_schema(cli, room_dir: Path):
    cli("declare", "Checkout returns 500", "--severity", "P1", "--impact", "EU \x1b[31mshoppers").ok()
    cli("log", "Error rate at 40%", "--kind", "finding").ok()
    cli("status", "resolved").ok()
    cli("declare", "Search is slow", "--severity", "P3").ok()
    one = valid(cli("export", "--format", "json", "--out", "-").ok().out)
    assert [i["title"] for i in one["incidents"]] == ["Search is slow"]
    written = cli("export", "--format", "json", "--all").ok().out
    assert "JSON written to" in written
    everything = valid((room_dir / "exports" / "incidents.json").read_text(encoding="utf-8"))
    assert [i["title"] for i in everything["incidents"]] == ["Checkout returns 500", "Search is slow"]
    assert "\x1b" not in everything["incidents"][0]["impact"]
    assert json.loads(cli("schema").ok().out) == SCHEMA
    assert cli("schema").ok().out == schema_text()


def test_cli_export_refuses_options_that_do_not_fit(cli):
    cli("declare", "x", "--severity", "P1").ok()
    assert_user_error(cli("export", "--all"), "--all", "--format json")
    assert_user_error(cli("export", "--format", "json", "--tz", "UTC"), "--tz", "--format json")
    wrong = cli("export", "--format", "yaml")  # argparse's own usage message, as for every choice
    assert wrong.code == 2 and "invalid choice: 'yaml'" in wrong.err and "Traceback" not in wrong.err
