"""Building the real console on a temp war room, with a frozen clock and stable ids."""

from __future__ import annotations

import asyncio
import random
import uuid
from pathlib import Path
from typing import Callable

import pytest

from warroom import config as config_mod
from warroom.record.clock import FrozenClock
from warroom.record.events import format_time
from warroom.record.room import Room
from warroom.record.store import Store


def seeded_ids(seed: int = 7) -> Callable[[], str]:
    rng = random.Random(seed)
    return lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))


def open_room(folder: Path, clock: FrozenClock, author: str = "alice", seed: int | None = 7) -> Room:
    config = config_mod.load(folder / "warroom.toml")
    store = Store(config.record_path, clock=clock, author=author, create_missing=True,
                  id_factory=seeded_ids(seed) if seed is not None else None)
    return Room(config, store, clock)


def story(room: Room, clock: FrozenClock) -> str:
    """A small incident in progress: declared 20 minutes before `clock`, a few entries."""
    start = clock.now()
    clock.advance(minutes=-20)
    event = room.declare("Checkout returns 500", "P1", "EU shoppers cannot pay",
                         detected_at=clock.now())
    incident = room.head(event.id)
    clock.advance(minutes=2)
    room.acknowledge(incident)
    room.assign(incident, "tl", "bob")
    room.assign(incident, "scribe", "carol")
    clock.advance(minutes=3)
    room.log(incident, "Error rate at 30% on /checkout since deploy 4812", "finding")
    room.log(incident, "Roll back deploy 4812", "decision")
    clock.advance(minutes=2)
    room.set_status(incident, "identified")
    room.post_update(incident, "We are investigating failed payments.", template="statuspage-investigating")
    clock.advance(minutes=3)
    room.log(incident, "Rolled back; error rate falling", "action")
    clock.set(start)
    return event.id



@pytest.fixture
def app_room(room_dir, clock):
    """A war room with the story's incident in it, opened as the console opens it."""
    room = open_room(room_dir, clock)
    story(room, clock)
    yield room
    room.close()


async def wait_until(pilot, predicate: Callable[[], bool], timeout: float = 30.0) -> None:
    """Let the app run until predicate() holds (the recorder thread writes asynchronously)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.05)


def events(db: Path, kind: str | None = None) -> list:
    """The record as another process would read it: a fresh connection to the file. Given a
    war room's warroom.db (or its folder), reads the war room's record."""
    db = Path(db)
    if db.is_dir():
        db = db / ".warroom" / "record.db"
    elif db.name == "warroom.db":
        db = db.parent / ".warroom" / "record.db"
    with Store(db, author="reader") as store:
        found = store.load().events
    return [e for e in found if kind is None or e.kind == kind]


def stamp(clock: FrozenClock) -> str:
    return format_time(clock.now())


async def console_ready(pilot) -> None:
    """The health and logs panes and the roster tabs are mounted just after the first frame:
    wait for them."""
    app = pilot.app

    def mounted(selector: str) -> bool:
        found = app.query(selector)
        return bool(found) and found.first().is_mounted

    await wait_until(pilot, lambda: all(mounted(s) for s in ("#health", "#logs", "#people", "#log-all")))


PANES = ("#health", "#roster", "#countdown", "#logs", "#timeline", "#header")


async def every_pane_has_room(pilot) -> None:
    """Once the deferred panes are in, each pane of the main screen takes some room."""
    await console_ready(pilot)
    for pane in PANES:
        region = pilot.app.query_one(pane).region
        assert region.width > 0 and region.height > 0, pane
