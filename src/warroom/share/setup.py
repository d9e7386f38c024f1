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

STARTER_CONFIG = """\
# warroom.toml: this war room's checks, log sources, severities and roles.
# Durations are written 90s, 15m, 1h. ${NAME} is read from the environment at start
# (never stored); an unset variable is an error that names it.

# A bundled profile (P0-P3, P1-P4, SEV1-SEV4) or a path to your own profile file.
severity_profile = "P1-P4"

# Roles beyond Incident Commander, Tech Lead, Communications Lead and Scribe.
roles = []

# Health checks (kind: http, metrics, statuspage, command).
# [[check]]
# name = "api"
# kind = "http"
# url = "https://api.example.com/health"
# every = "10s"
# timeout = "3s"
# headers = { Authorization = "Bearer ${ADMIN_TOKEN}" }

# Log sources: a command to run (argv, no shell) or a file to follow.
# [[log]]
# name = "worker"
# command = ["wrangler", "tail", "--format", "json"]
# restart = true

# Escalation path: who is called in, and after how long unresolved.
# [[escalation]]
# after = "30m"
# to = "Senior engineer"
"""

GITATTRIBUTES = "warroom.db merge=warroom diff=warroom\n"


def init(folder: Path) -> list[Path]:
    """Create a war room folder; refuses to touch an existing one. Returns what it wrote."""
    folder = Path(folder)
    if (folder / config_mod.CONFIG_NAME).exists():
        raise UsageError(f"{folder / config_mod.CONFIG_NAME}: already a war room; nothing changed")
    if (folder / "warroom.db").exists():
        raise UsageError(f"{folder / 'warroom.db'}: already exists; nothing changed")
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in ((config_mod.CONFIG_NAME, STARTER_CONFIG), (".gitattributes", GITATTRIBUTES)):
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
