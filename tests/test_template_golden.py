"""Every bundled template rendered from a real incident, compared with a golden file.

The incident is built by `console_support.story` on a war room made by
`warroom.record.room.init`, plus an action item, a finding and an ETA, rendered at the
frozen clock (2026-11-24T15:00Z). The expected text lives in tests/golden/<name>.md.

To (re)generate the golden files after an intended template change:

    WARROOM_UPDATE_GOLDEN=1 python -m pytest tests/test_template_golden.py

then read the diff of tests/golden/ before keeping it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from console_support import open_room, story

from warroom import config as config_mod
from warroom.playbook import templates
from warroom.record.clock import FrozenClock
from warroom.share.setup import init

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("WARROOM_UPDATE_GOLDEN") == "1"
NOW = "2026-11-24T15:00:00+00:00"


def bundled_names() -> list[str]:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        init(Path(folder) / "room")
        return templates.available(config_mod.load(Path(folder) / "room" / "warroom.toml"))


NAMES = bundled_names()


@pytest.fixture
def rendered(room_dir: Path, clock: FrozenClock):
    room = open_room(room_dir, clock)
    try:
        incident_id = story(room, clock)
        incident = room.state.incidents[incident_id]
        room.add_action(incident, "Add a canary stage to checkout deploys", owner="bob", due="2026-12-01")
        room.log(incident, "Deploy 4812 changed the payment client timeout", "finding")
        room.set_field(incident, "eta", "16:00 UTC")
        incident = room.state.incidents[incident_id]
        yield lambda name: templates.render(name, incident, room.config, clock.now(), author="alice")
    finally:
        room.close()


def test_bundled_templates_are_found():
    assert NAMES, "no bundled templates found"
    assert set(templates.TEMPLATE_NAMES) - templates.NOT_INCIDENT_TEMPLATES <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_template_matches_golden(name: str, rendered, clock: FrozenClock):
    assert clock.now().isoformat() == NOW
    text = rendered(name)
    assert "{{" not in text, f"unfilled placeholder in {name}:\n{text}"
    path = GOLDEN / f"{name}.md"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"missing {path}; regenerate with WARROOM_UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"{name} differs from {path}; if intended, regenerate with WARROOM_UPDATE_GOLDEN=1")
