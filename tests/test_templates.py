"""Communication templates fill from a real war room's state."""

from __future__ import annotations

from pathlib import Path

import pytest

from warroom.paths import DATA_DIR
from warroom.playbook import templates
from warroom.record.clock import FrozenClock
from warroom.record.room import Room
from warroom.text import durations

BUNDLED = sorted(p.stem for p in (DATA_DIR / "templates").glob("*.md"))


@pytest.fixture
def worked(room: Room, clock: FrozenClock) -> Room:
    room.declare("Checkout returns 500", "P1", impact="EU shoppers cannot pay")
    inc = room.incident()
    room.assign(inc, "scribe", "carol")
    clock.advance(minutes=3)
    room.log(inc, "Error rate at 40% on checkout", "finding")
    room.log(inc, "Rolled back deploy 4812", "action")
    room.set_field(inc, "eta", "30 minutes")
    clock.advance(minutes=10)
    return room


def test_every_bundled_template_is_known():
    assert set(BUNDLED) == set(templates.TEMPLATE_NAMES)
    assert set(templates.PHASE_TEMPLATE.values()) <= set(BUNDLED)


@pytest.mark.parametrize("name", [n for n in BUNDLED if n not in templates.NOT_INCIDENT_TEMPLATES])
def test_bundled_template_fills_completely(worked: Room, name: str):
    inc = worked.recent(worked.incident().id)
    text = templates.render(name, inc, worked.config, worked.clock.now(), "alice")
    assert "{{" not in text and "}}" not in text
    assert not text.lstrip().startswith("<!--")  # the guiding comment is not posted
    raw = templates.load_template(name, worked.config)
    assert templates.unknown_placeholders(raw, templates.values_for(inc, worked.config, worked.clock.now())) == []
    if "{{title}}" in raw:
        assert "Checkout returns 500" in text
    if "{{incident_id}}" in raw:
        assert inc.short_id in text


def test_values_come_from_the_state(worked: Room):
    inc = worked.recent(worked.incident().id)  # the head and the newest entries, as `warroom update` reads
    values = templates.values_for(inc, worked.config, worked.clock.now(), "alice")
    assert values["severity"] == "P1" and values["severity_label"]
    assert values["elapsed"] == "13m" and values["started_at"] == "15:00 UTC"
    assert values["scribe"] == "carol" and values["ic"] == "alice"
    assert values["eta"] == "30 minutes"
    assert values["latest_findings"] == "- Error rate at 40% on checkout"
    assert values["latest_actions"] == "- Rolled back deploy 4812"
    assert values["next_update_at"].endswith("UTC")
    assert values["root_cause"] == "under investigation"


def test_unknown_placeholder_left_visible():
    assert templates.fill("Hi {{title}} {{ nope }} {{title}}", {"title": "X"}) == "Hi X {{ nope }} X"
    assert templates.unknown_placeholders("{{a}} {{b}}", {"a": "1"}) == ["b"]


def test_values_are_not_re_expanded():
    assert templates.fill("{{a}} {{b}}", {"a": "{{b}}", "b": "2"}) == "{{b}} 2"


def test_war_room_template_overrides_the_bundled_one(worked: Room, room_dir: Path):
    (room_dir / "templates" / "initial-alert.md").write_text("OURS {{incident_id}} {{mystery}}\n")
    (room_dir / "templates" / "custom.md").write_text("custom {{severity}}\n")
    inc = worked.incident()
    text = templates.render("initial-alert", inc, worked.config, worked.clock.now())
    assert text == f"OURS {inc.short_id} {{{{mystery}}}}\n"
    assert "custom" in templates.available(worked.config)
    with pytest.raises(FileNotFoundError, match="no-such"):
        templates.load_template("no-such", worked.config)


def test_phase_templates():
    assert templates.for_phase("identified") == "statuspage-identified"
    assert templates.for_phase("weird") == "internal-update"


def test_empty_finding_does_not_break_rendering(worked: Room):
    """An entry pulled from another copy may be empty: templates still render."""
    inc = worked.incident()
    worked.store.append("entry.logged", inc.id, {"text": "", "type": "finding"})
    worked.reload()
    text = templates.render("handoff", worked.recent(inc.id), worked.config, worked.clock.now())
    assert "{{" not in text


def test_human_duration():
    assert [durations.human(s) for s in (5, 90, 3600 + 120, 2 * 86400 + 3600)] == ["5s", "1m", "1h 02m",
                                                                                             "2d 1h"]
    assert durations.human(None) == ""


def test_latest_actions_and_findings_however_old(worked: Room, clock: FrozenClock):
    """recent() reads a screenful of rows, plus the latest actions and findings even when
    hundreds of newer notes pushed them out of it."""
    inc = worked.incident()
    for n in range(250):
        clock.advance(1)
        worked.log(inc, f"note {n}")
    values = templates.values_for(worked.recent(inc.id), worked.config, worked.clock.now(), "alice")
    assert values["latest_findings"] == "- Error rate at 40% on checkout"
    assert values["latest_actions"] == "- Rolled back deploy 4812"
