"""The Health pane in the real console against a real loopback server: states,
reasons on screen, and flips written to the timeline by themselves, once per flip."""

from __future__ import annotations

import pytest
from console_support import console_ready, open_room, story, wait_until
from servers import serve

from warroom.ui.factory import make_app
from warroom.ui.panes.health import HealthPane

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def flips(room) -> list[str]:
    room.reload()
    return [e.text for e in room.state.ordered[0].timeline if e.auto == "check"]


async def test_flips_land_on_the_timeline_once(room_dir, clock):
    with serve() as server:
        server.set("/flip", 200, {"status": "ok"})
        with open(room_dir / "warroom.toml", "a") as config:
            config.write(f'\n[[check]]\nname = "api"\nkind = "http"\nurl = "{server.url("/flip")}"\n'
                         f'every = "100ms"\ntimeout = "2s"\nexpect_json = {{ status = "ok" }}\n'
                         f'\n[[check]]\nname = "hung"\nkind = "http"\nurl = "{server.url("/hang")}"\n'
                         f'every = "1s"\ntimeout = "300ms"\n')
        room = open_room(room_dir, clock)
        story(room, clock)
        app = make_app(room, clock, start_sources=True, watch=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await console_ready(pilot)
            pane = app.query_one(HealthPane)
            await wait_until(pilot, lambda: pane.states()["api"] == "up")
            await wait_until(pilot, lambda: pane.states()["hung"] == "down")   # a hung endpoint is down,
            assert "timeout" in str(pane.render()).lower()                      # and the pane says why
            server.set("/flip", 200, {"status": "degraded"})
            await wait_until(pilot, lambda: pane.states()["api"] == "down")
            await wait_until(pilot, lambda: any("Check api: up → down" in t for t in flips(room)))
            server.set("/flip", 200, {"status": "ok"})
            await wait_until(pilot, lambda: any("Check api: down → up" in t for t in flips(room)))
            await pilot.pause(0.5)  # several more rounds, all up: no new flip entries
            app.recorder.wait_idle()
        recorded = [t for t in flips(room) if t.startswith("Check api")]
        assert len(recorded) == 2
        assert "status" in recorded[0]  # the reason travels with the flip
        room.close()


async def test_at_80x24_the_state_word_is_whole_and_a_long_name_gives_way(room_dir, clock):
    """The narrow left column cut "degraded" to "degrad…": the state is what a responder
    reads, so the name is cut (with an ellipsis) and the state never is."""
    from warroom.sources.results import CheckResult

    with open(room_dir / "warroom.toml", "a") as config:
        for name in ("api", "cloud-provider-status-page"):
            config.write(f'\n[[check]]\nname = "{name}"\nkind = "http"\nurl = "http://127.0.0.1:9/"\nevery = "1h"\n')
    room = open_room(room_dir, clock)
    story(room, clock)
    app = make_app(room, clock, start_sources=False, watch=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await console_ready(pilot)
        await wait_until(pilot, lambda: bool(app.query(HealthPane)))
        pane = app.query_one(HealthPane)
        for name, state in (("api", "up"), ("cloud-provider-status-page", "degraded")):
            pane.show_result(CheckResult(name, "http", state, "latency 900ms over 800ms", 200, 0.9, clock.now()), [])
        await pilot.pause()
        width = pane.content_region.width
        rows = [line for line in str(pane.render()).splitlines() if line.startswith(("●", "◐"))]
        assert len(rows) == 2 and all(len(row) <= width for row in rows), (width, rows)
        assert rows[1].startswith("◐ cloud-") and "… degraded" in rows[1], rows
        assert rows[0].startswith("● api ") and " up" in rows[0]
