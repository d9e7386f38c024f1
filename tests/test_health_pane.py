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
