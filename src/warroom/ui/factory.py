"""Making the console: `make_app` for tests and benchmarks (a temp war room, a frozen
clock), `run_console` for the `warroom` command."""

from __future__ import annotations

from warroom.record.clock import Clock
from warroom.record.room import Room
from warroom.ui.app import WarroomApp


def make_app(
    room: Room, clock: Clock | None = None, *, start_sources: bool = True, watch: bool = True, sync: bool = False
) -> WarroomApp:
    return WarroomApp(room, clock=clock, start_sources=start_sources, watch=watch, sync=sync)


def run_console(room: Room, *, offline: bool = False) -> int:
    from warroom.sources import process

    app = make_app(room, sync=not offline)
    try:
        result = app.run()
    finally:
        process.end_all()  # a backstop: no child outlives the console, however it ended
        room.close()
    return result or 0
