"""What the seed scenarios share. Each scenario configures a war room the way one team's
incident guide describes its practice (severity table, cadences, escalation, roles,
checklist, deadlines) and runs an incident through it from declaration to close and
export, as that team would: through the `warroom` command (a real subprocess), health
checks against loopback fakes (tests/servers.py), and the console opened once through
pilot to see its log tail (a real command) and its countdown pane."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import Result, run_cli
from console_support import wait_until

from warroom.record.clock import SystemClock
from warroom.record.room import Room


def make_room(tmp_path: Path, profile: str, toml: str) -> Path:
    """`warroom init --profile`, then the team's own warroom.toml in place of the starter."""
    run_cli("init", "--profile", profile, "room", cwd=tmp_path).ok()
    room = tmp_path / "room"
    (room / "warroom.toml").write_text(toml)
    return room


def cli(room: Path, *args: str, user: str = "tester") -> Result:
    return run_cli(*args, cwd=room, user=user).ok()


def export(room: Path, *args: str) -> str:
    return cli(room, "export", "--out", "-", *args).out


def ago(minutes: int) -> str:
    """An explicit UTC time `minutes` back, for --at (never read as yesterday)."""
    return (datetime.now(UTC) - timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S")


def hhmm_after(minutes: int) -> set[str]:
    """HH:MM `minutes` from now, and a minute later (the command runs after this is read)."""
    now = datetime.now(UTC)
    return {(now + timedelta(minutes=minutes + extra)).strftime("%H:%M") for extra in (0, 1)}


def log_command(*lines: str) -> str:
    """A [[log]] command printing `lines`, as TOML: a real process, argv without a shell."""
    script = "import sys; sys.stdout.write(" + repr("".join(line + "\n" for line in lines)) + ")"
    return f"command = [{toml_string(sys.executable)}, '-c', {toml_string(script)}]"


def toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def glance(room: Path, log_name: str, wanted: str) -> dict[str, str]:
    """Open the console on the war room (sources running, the real clock) until the log
    source `log_name` has shown a line holding `wanted`; what the countdown pane and the
    roster say then."""
    return asyncio.run(_glance(room, log_name, wanted))


async def _glance(room_dir: Path, log_name: str, wanted: str) -> dict[str, str]:
    from warroom.ui.factory import make_app
    from warroom.ui.panes.countdown import CountdownPane
    from warroom.ui.panes.logs import LogsPane

    with Room.open(room_dir / "warroom.toml", clock=SystemClock(), author="glance") as room:
        app = make_app(room, room.clock, start_sources=True, watch=False)
        async with app.run_test(size=(140, 45)) as pilot:
            await wait_until(pilot, lambda: bool(app.query(LogsPane)) and app.query_one(LogsPane).is_mounted)
            await wait_until(pilot, lambda: app.query_one(LogsPane).view_for(log_name) is not None)
            view = app.query_one(LogsPane).view_for(log_name)
            await wait_until(pilot, lambda: any(wanted in line.text for line in view.buffer_lines), timeout=20)
            await wait_until(pilot, lambda: app.incident is not None)
            pane = app.query_one(CountdownPane)
            pane.tick()
            roster = app.query_one("#roster")
            rows = [" ".join(cell.plain for cell in roster.get_row_at(i)) for i in range(roster.row_count)]
            return {"countdown": str(pane.render()), "roster": "\n".join(rows)}
