"""What every subcommand shares: opening the war room, the incident meant, the notes said
once the command has worked, text cleaned for the terminal."""

from __future__ import annotations

import argparse
from pathlib import Path

from warroom import config as config_mod
from warroom.errors import UsageError
from warroom.record.model import Incident
from warroom.record.room import Room


def clean(text: str) -> str:
    """Record text may come from another machine: inert before it reaches the terminal. Long
    enough for the longest entry the record takes (a pasted stack trace)."""
    from warroom.text.sanitize import sanitize

    return sanitize(text, limit=70_000, multiline=True)


def open_room(args: argparse.Namespace) -> Room:
    config = None
    if args.dir:
        config = Path(args.dir) / config_mod.CONFIG_NAME
        if not config.is_file():
            raise UsageError(f"{config}: no such file; is {args.dir} a war room? (`warroom init {args.dir}`)")
    room = Room.open(config, db=args.db)
    # What git brought and could not be taken in (a damaged warroom.db): said, never fatal.
    NOTES.extend(clean(note) for note in room.notes)
    room.notes.clear()
    return room


def incident_meant(room: Room, args: argparse.Namespace, say: bool = True, latest: bool = False):
    """--incident, else the one open incident; with `latest`, else the last declared one
    (closing, post-mortem fields and action items come after resolution)."""
    ref = getattr(args, "incident", None)
    incident = room.latest() if latest and not ref else room.incident(ref)
    if say and not getattr(args, "incident", None):
        # Said once the command has worked: a failure prints its one error line only.
        NOTES.append(f"on {incident.short_id} ({clean(incident.title)})")
    return incident


NOTES: list[str] = []


def whole_incident(room: Room, args: argparse.Namespace) -> Incident:
    """--incident (open or not), else the one open incident or the last declared; folded
    whole, timeline included (show, export)."""
    found = room.incident(args.incident, open_only=False) if args.incident else room.latest()
    return room.full(found.id)
