"""The sharing subcommands: sync, git's merge driver and textconv, git-setup."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from warroom.cli.common import clean, open_room
from warroom.errors import UsageError

# --- sharing --------------------------------------------------------------------------


def cmd_sync(args: argparse.Namespace) -> int:
    from warroom.errors import SyncError
    from warroom.share.sync import sync

    with open_room(args) as room:
        try:
            report = sync(room, push=not args.no_push, dry_run=args.dry_run, remote=args.remote)
        except SyncError as exc:
            print(clean(f"warroom: {exc}"), file=sys.stderr)
            return 1
        for line in report.lines():
            print(clean(line))
        return 1 if report.offline else 0


def cmd_merge(args: argparse.Namespace) -> int:
    from warroom.share.exchange import merge_files

    added, refused = merge_files(Path(args.ours), Path(args.theirs))
    if added or refused:
        text = f"warroom merge: {added} new event(s)"
        if refused:
            text += f", {len(refused)} refused (first: {refused[0].id[:36]}: {refused[0].reason})"
        print(clean(text), file=sys.stderr)
    return 0


def cmd_dump(args: argparse.Namespace) -> int:
    from warroom.share.dump import dump

    if args.file:
        path = Path(args.file)
    else:
        with open_room(args) as room:
            path = room.store.path
    out = sys.stdout.buffer
    batch: list[str] = []
    for line in dump(path):
        batch.append(line)
        if len(batch) >= 2000:
            out.write(("\n".join(batch) + "\n").encode("utf-8", "replace"))
            batch.clear()
    if batch:
        out.write(("\n".join(batch) + "\n").encode("utf-8", "replace"))
    out.flush()
    return 0


def cmd_git_setup(args: argparse.Namespace) -> int:
    from warroom.errors import SyncError
    from warroom.share.git import git_setup, is_git_repo

    try:
        with open_room(args) as room:
            folder, name = room.config.root, room.exchange.name
    except UsageError:
        folder, name = Path.cwd(), "warroom.db"
    if not is_git_repo(folder):
        raise UsageError(f"{folder}: not a git repository; run `git init` (or clone the team's war room) first")
    try:
        changed = git_setup(folder, name)
    except SyncError as exc:
        raise UsageError(str(exc)) from None
    print(
        f"git set up in {folder}: "
        + (", ".join(changed) if changed else "already up to date")
        + f"; {name} merges as a union and diffs as text"
    )
    return 0
