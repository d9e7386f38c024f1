"""Theme files (themes/*.toml) registered at start; the user's choice persists."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from textual.theme import Theme

from warroom.paths import THEMES_DIR, user_config_dir

DEFAULT_THEME = "warroom-dark"
_THEME_KEYS = {
    "name",
    "dark",
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
    "variables",
}


def load_themes(folder: Path = THEMES_DIR) -> list[Theme]:
    themes = []
    for path in sorted(folder.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        themes.append(Theme(**{k: v for k, v in data.items() if k in _THEME_KEYS}))
    return themes


def variable_defaults(folder: Path = THEMES_DIR) -> dict[str, str]:
    """Fallbacks for our variables, so a built-in Textual theme still styles severities."""
    data = tomllib.loads((folder / "dark.toml").read_text(encoding="utf-8"))
    return dict(data["variables"])


def _settings_file() -> Path:
    return user_config_dir() / "settings.json"


def saved_theme() -> str | None:
    try:
        return json.loads(_settings_file().read_text()).get("theme")
    except (OSError, ValueError, AttributeError):
        return None


def save_theme(name: str) -> None:
    path = _settings_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            settings = json.loads(path.read_text())
            if not isinstance(settings, dict):
                settings = {}
        except (OSError, ValueError):
            settings = {}
        settings["theme"] = name
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(settings, indent=2))
        tmp.replace(path)
    except OSError:
        pass  # a read-only home must not break the console; the theme just won't persist
