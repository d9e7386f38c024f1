"""Creating a war room: its config, .gitattributes and .gitignore, runbooks and templates,
an empty shared copy (warroom.db) and the record beside it (`warroom init`)."""

from __future__ import annotations

import shutil
from pathlib import Path

from warroom import config as config_mod
from warroom.errors import UsageError
from warroom.paths import DATA_DIR, GITIGNORE_LINES, record_path
from warroom.record.dbfile import create_record
from warroom.share import exchange
from warroom.share.git import ensure_lines


def starter_config(profile: str = "P1-P4") -> str:
    """The warroom.toml `warroom init` writes: the bundled profile `profile` (any case) and
    a commented example of every key, the examples' severities taken from that profile."""
    from warroom.profiles import bundled_file, bundled_profiles, load_profile

    file = bundled_file(profile)
    if file is None:
        raise UsageError(f"--profile {profile}: no such bundled profile; use one of {', '.join(bundled_profiles())}")
    ids = load_profile(file.stem, DATA_DIR).ids
    text = (DATA_DIR / "starter.toml").read_text(encoding="utf-8")
    return text.replace("@PROFILE@", file.stem).replace("@TOP@", ids[0]).replace("@SECOND@", ids[min(1, len(ids) - 1)])


GITATTRIBUTES = "warroom.db merge=warroom diff=warroom\n"


def init(folder: Path, profile: str = "P1-P4") -> list[Path]:
    """Create a war room folder; refuses to touch an existing one. Returns what it wrote."""
    folder = Path(folder)
    starter = starter_config(profile)  # an unknown profile is refused before anything is made
    if (folder / config_mod.CONFIG_NAME).exists():
        raise UsageError(f"{folder / config_mod.CONFIG_NAME}: already a war room; nothing changed")
    if (folder / "warroom.db").exists():
        raise UsageError(f"{folder / 'warroom.db'}: already exists; nothing changed")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in ((config_mod.CONFIG_NAME, starter), (".gitattributes", GITATTRIBUTES)):
        path = folder / name
        path.write_text(text)
        written.append(path)
    if ensure_lines(folder / ".gitignore", GITIGNORE_LINES):
        written.append(folder / ".gitignore")
    for sub in ("runbooks", "templates"):
        target = folder / sub
        if not target.exists():
            shutil.copytree(DATA_DIR / sub, target)
            written.append(target)
    exchange.write_rows(folder / "warroom.db", [])
    written.append(folder / "warroom.db")
    create_record(record_path(folder))
    return written
