"""Where bundled files live, and where per-user files go."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    """A bundled folder: inside the package in an installed wheel, at the top of the
    repository in a source checkout (pyproject.toml packages one as the other)."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else PACKAGE_DIR.parents[1] / name


DATA_DIR = _bundled("data")
THEMES_DIR = _bundled("themes")
# What a war room's .gitignore holds: the record's own folder, SQLite's sidecars, temp files
# of an interrupted write, exports. One list: `warroom init` and `warroom git-setup` write it.
GITIGNORE_LINES = (".warroom/", "*.db-wal", "*.db-shm", "*.db.creating", "*.warroom-tmp*", "exports/")


def user_config_dir() -> Path:
    """The platform's per-user config folder (XDG on Linux), for choices like the theme."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "warroom"


def user_state_dir() -> Path:
    """The platform's per-user state folder (XDG on Linux), for files worth keeping that are
    not configuration (the demo's exports, when the current folder cannot take them)."""
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "warroom"


# The record: beside warroom.toml, in a folder git ignores (.warroom/record.db).
RECORD_DIR = ".warroom"
RECORD_NAME = "record.db"


def record_path(root: Path | str) -> Path:
    """Where a war room's record lives: beside warroom.toml, in a folder git ignores."""
    return Path(root) / RECORD_DIR / RECORD_NAME
