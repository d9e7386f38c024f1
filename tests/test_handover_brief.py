"""The console's handover brief (r, a role changing hands) and its status page key (P),
driven by pilot on a real war room, asserting on the record, the files and the screen."""

from __future__ import annotations

import pytest
from console_support import app_room, events, wait_until  # noqa: F401 (app_room: a fixture)
from textual.widgets import OptionList, TextArea

from warroom.ui.factory import make_app

pytestmark = pytest.mark.anyio
HOSTILE = "[bold red]boom[/] \x1b[31m <script>x</script> {{title}}"


def option_ids(options: OptionList) -> list[str | None]:
    return [options.get_option_at_index(i).id for i in range(options.option_count)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_a_handover_offers_a_brief_filled_from_the_record_and_copies_it(app_room, clock):
    incident = app_room.state.ordered[0]
    app_room.add_action(incident, "Alert on pool saturation " + HOSTILE, owner="bob", due="2026-12-05")
    app_room.add_action(incident, "Already finished", owner="bob")
    app_room.action_done(app_room.state.ordered[0].actions[-1].id)
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    updates_before = len(events(db, "update.posted"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("r", "4")  # Scribe, held by carol
        await pilot.press(*"dave", "enter")
        await wait_until(pilot, lambda: bool(app.screen.query("#composer-text")))
        brief = app.screen.query_one(TextArea).text
        assert "Handover brief" in str(app.screen.query_one(".dialog-title").render())
        assert "Scribe to dave" in str(app.screen.query_one(".dialog-title").render())
        for part in ("What is happening:", "Checkout returns 500", "What was tried:", "Rolled back; error rate falling",
                     "Open actions:", "Next update due: 15:15 UTC", "- Scribe: dave"):
            assert part in brief, part
        assert "Alert on pool saturation [bold red]boom[/]" in brief and "(bob, due 2026-12-05)" in brief
        assert "Already finished" not in brief and "\x1b" not in brief and "{{title}}" in brief  # never re-expanded
        assert option_ids(app.screen.query_one(OptionList)) == ["handover-brief"]
        await pilot.press("ctrl+s")
        # the hostile action item holds "{{title}}": the composer warns once before it copies
        await wait_until(pilot, lambda: "{{title}}" in str(app.screen.query_one("#composer-error").render()))
        assert app.clipboard != brief.strip()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.clipboard == brief.strip())
        written = app_room.config.root / "exports" / f"{incident.short_id}-handover-brief.md"
        await wait_until(pilot, written.is_file)
        assert written.read_text() == brief.strip() + "\n"
        await wait_until(pilot, lambda: app.incident.holder("Scribe") == "dave")
    assert len(events(db, "update.posted")) == updates_before  # a brief is not a status update


async def test_a_first_assignment_offers_no_brief_and_the_update_composer_lists_none(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    db = app_room.store.path
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("r", "3")  # Communications Lead, unassigned
        await pilot.press(*"erin", "enter")
        await wait_until(pilot, lambda: any(e.body == {"role": "Communications Lead", "person": "erin"}
                                            for e in events(db, "role.assigned")))
        await wait_until(pilot, lambda: app.incident.holder("Communications Lead") == "erin")
        await pilot.pause(0.2)
        assert not app.screen.query("#composer-text")
        await pilot.press("u")
        await wait_until(pilot, lambda: bool(app.screen.query("#composer-templates")))
        names = option_ids(app.screen.query_one(OptionList))
        assert "handover-brief" not in names and "statuspage-identified" in names


async def test_P_builds_the_status_page_and_says_where(app_room, clock):
    app = make_app(app_room, clock, start_sources=False, watch=False)
    said: list[str] = []
    notify = app.notify
    app.notify = lambda message, *a, **k: (said.append(str(message)), notify(message, *a, **k))[1]
    index = app_room.config.root / "exports" / "statuspage" / "index.html"
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("W")
        await wait_until(pilot, lambda: any("Status page written to" in s for s in said))
    assert index.is_file() and "We are investigating failed payments." in index.read_text()
    assert any(str(index.resolve()) in s for s in said)
