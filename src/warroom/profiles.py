"""Severity profiles: the bundled ones in data/severity/, a team's own file, and the
`[severity.LEVEL]` tables of warroom.toml that change single values of the chosen one.

A level's response targets are durations, or one of two words: `immediate` (due at
once) and `none` (no target: no countdown, no alarm). Names of profiles and levels
match whatever their case.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from warroom.errors import ConfigError
from warroom.paths import DATA_DIR
from warroom.text import durations
from warroom.toml_reader import MAX_DURATION, Reader, parse_duration, read_toml, show_value

IMMEDIATE, NONE = "immediate", "none"
POSTMORTEM_KINDS = ("required", "recommended", "optional")
# The level keys that take a target: a duration, `immediate` or `none`.
TARGET_KEYS = ("acknowledge_within", "update_every", "escalate_after", "resolve_within")
LEVEL_KEYS = frozenset(
    {
        "id",
        "label",
        "description",
        "examples",
        *TARGET_KEYS,
        "postmortem",
        "postmortem_within",
        "notify",
        "deadline",
    }
)
MIN_TARGET = 60.0  # a target shorter than a minute is `immediate`


@dataclass(frozen=True)
class Deadline:
    """A named task due some time after resolution (a summary in 24h, a meeting in 7d)."""

    name: str
    within: float


@dataclass(frozen=True)
class SeverityLevel:
    id: str
    label: str
    description: str
    examples: str
    # Targets in seconds from declaration: 0.0 is `immediate`, None is `none` (no countdown).
    acknowledge_within: float | None
    update_every: float | None  # 0.0: the first update is due at once, then none is asked for
    escalate_after: float | None  # None: no rung of its own ([[escalation]] rungs may apply)
    postmortem: str  # required | recommended | optional
    postmortem_within: float | None
    resolve_within: float | None = None
    notify: tuple[str, ...] = ()  # the channels to tell when one is declared
    deadlines: tuple[Deadline, ...] = ()  # after resolution
    never_escalates: bool = False  # escalate_after = "none": only rungs naming this level apply


@dataclass(frozen=True)
class SeverityProfile:
    name: str
    description: str
    levels: tuple[SeverityLevel, ...]

    def level(self, severity_id: str) -> SeverityLevel | None:
        for level in self.levels:
            if level.id.lower() == severity_id.lower():
                return level
        return None

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(level.id for level in self.levels)

    def rank(self, severity_id: str) -> int:
        """0 for the most severe level; unknown ids sort last."""
        for index, level in enumerate(self.levels):
            if level.id.lower() == severity_id.lower():
                return index
        return len(self.levels)


def target_form(seconds: float | None) -> str:
    """A target as warroom.toml spells it: `15m`, `immediate`, `none`."""
    if seconds is None:
        return NONE
    return IMMEDIATE if seconds == 0 else durations.config_form(seconds)


def targets_line(level: SeverityLevel, rungs: list[tuple[float, str]]) -> str:
    """A level's targets and its escalation rungs (after, to) in one line, as `declare` says them."""
    parts = [
        f"acknowledge {_within(level.acknowledge_within)}",
        "updates: none asked"
        if level.update_every is None
        else ("first update at once" if level.update_every == 0 else f"update every {target_form(level.update_every)}"),
        f"resolve {_within(level.resolve_within)}",
    ]
    named = [(f"{to} " if to else "") + _within(after).replace("within", "after") for after, to in rungs]
    parts.append("escalate: " + ", ".join(named) if named else "no escalation")
    return ", ".join(parts)


def _within(seconds: float | None) -> str:
    if seconds is None:
        return "when possible (no target)"
    return "at once" if seconds == 0 else f"within {target_form(seconds)}"


def notify_line(level: SeverityLevel) -> str:
    """Who to tell when an incident of this level is declared; "" when the level says nobody."""
    return f"notify for {level.id}: {', '.join(level.notify)}" if level.notify else ""


def bundled_profiles() -> list[str]:
    return sorted(p.stem for p in (DATA_DIR / "severity").glob("*.toml"))


def bundled_file(name: str) -> Path | None:
    """The bundled profile called `name`, whatever its case."""
    for stem in bundled_profiles():
        if stem.lower() == name.strip().lower():
            return DATA_DIR / "severity" / f"{stem}.toml"
    return None


def load_profile(
    name_or_path: str,
    relative_to: Path,
    key: str = "severity_profile",
    overrides: dict[str, Any] | None = None,
    override_reader: Reader | None = None,
) -> SeverityProfile:
    """A bundled profile by name, or a profile file relative to the war room; then the
    `[severity.LEVEL]` tables of warroom.toml (`overrides`), checked by `override_reader`."""
    bundled = bundled_file(name_or_path)
    file = bundled if bundled is not None else relative_to / name_or_path
    if bundled is None:
        try:
            file = file.resolve()
            found = file.is_file()
        except (OSError, ValueError):  # a name no path can have: too long, a NUL byte
            found = False
        if not found:
            raise ConfigError(
                relative_to / "warroom.toml",
                key,
                f"no severity profile {show_value(name_or_path)}: use one of "
                f"{', '.join(bundled_profiles())} (`warroom profile list`) or a path to a profile file",
            )
    data = read_toml(file)
    reader = Reader(file, {})
    reader.table("", data, {"name", "description", "level"}, {"level"})
    raw_levels = reader.array_of_tables("level", data["level"])
    levels: list[SeverityLevel] = []
    for index, raw in enumerate(raw_levels):
        level = read_level(reader, f"level[{index}]", raw)
        if any(known.id.lower() == level.id.lower() for known in levels):
            raise reader.fail(f"level[{index}].id", f"duplicate level {level.id!r}: ids must be unique")
        levels.append(level)
    if not levels:
        raise reader.fail("level", "a profile needs at least one [[level]]")
    if overrides:
        assert override_reader is not None
        levels = _overridden(override_reader, levels, raw_levels, overrides)
    return SeverityProfile(
        name=reader.string("name", data.get("name", file.stem), env=False),
        description=reader.string("description", data.get("description", ""), env=False),
        levels=tuple(levels),
    )


def _overridden(
    reader: Reader, levels: list[SeverityLevel], raw_levels: list[dict[str, Any]], overrides: dict[str, Any]
) -> list[SeverityLevel]:
    """Each `[severity.LEVEL]` table laid over the profile's level of that name: only the keys
    it gives change. A value is checked as part of warroom.toml, so an error names that file."""
    if not isinstance(overrides, dict):
        raise reader.fail("severity", "expected [severity.LEVEL] tables, e.g. [severity.P1]")
    result = list(levels)
    for name, table in overrides.items():
        k = f"severity.{name}"
        index = next((i for i, level in enumerate(levels) if level.id.lower() == str(name).lower()), None)
        if index is None:
            ids = ", ".join(level.id for level in levels)
            raise reader.fail(k, f"unknown severity {show_value(name)}: the profile has {ids}")
        reader.table(k, table, set(LEVEL_KEYS - {"id"}))
        result[index] = read_level(reader, k, {**raw_levels[index], **table, "id": levels[index].id})
    return result


def read_level(reader: Reader, k: str, raw: Any) -> SeverityLevel:
    reader.table(k, raw, set(LEVEL_KEYS), {"id", "label", "acknowledge_within", "update_every"})
    postmortem = raw.get("postmortem", "optional")
    if postmortem not in POSTMORTEM_KINDS:
        raise reader.fail(
            f"{k}.postmortem", f"expected required, recommended or optional, got {show_value(postmortem)}"
        )
    return SeverityLevel(
        id=reader.name(f"{k}.id", raw["id"], limit=20),
        label=reader.name(f"{k}.label", raw["label"]),
        description=reader.string(f"{k}.description", raw.get("description", ""), env=False),
        examples=reader.string(f"{k}.examples", raw.get("examples", ""), env=False),
        acknowledge_within=read_target(reader, f"{k}.acknowledge_within", raw["acknowledge_within"]),
        update_every=read_target(reader, f"{k}.update_every", raw["update_every"]),
        escalate_after=read_target(reader, f"{k}.escalate_after", raw.get("escalate_after", NONE)),
        resolve_within=read_target(reader, f"{k}.resolve_within", raw.get("resolve_within", NONE)),
        postmortem=postmortem,
        postmortem_within=(
            reader.duration(f"{k}.postmortem_within", raw["postmortem_within"]) if "postmortem_within" in raw else None
        ),
        notify=reader.names(f"{k}.notify", raw.get("notify", [])),
        deadlines=tuple(_deadline(reader, f"{k}.deadline[{i}]", d) for i, d in enumerate(_tables(reader, k, raw))),
        never_escalates=str(raw.get("escalate_after", "")).strip().lower() == NONE,
    )


def _tables(reader: Reader, k: str, raw: dict[str, Any]) -> list[dict[str, Any]]:
    value = raw.get("deadline", [])
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise reader.fail(f"{k}.deadline", 'expected a list like [{ name = "Summary written", within = "24h" }]')
    return value


def _deadline(reader: Reader, k: str, raw: dict[str, Any]) -> Deadline:
    reader.table(k, raw, {"name", "within"}, {"name", "within"})
    return Deadline(reader.name(f"{k}.name", raw["name"]), reader.duration(f"{k}.within", raw["within"]))


def read_target(reader: Reader, key: str, value: Any) -> float | None:
    """A response target: `immediate` (0.0), `none` (None) or a duration from 1m to 365d."""
    if isinstance(value, str) and value.strip().lower() in (IMMEDIATE, NONE):
        return 0.0 if value.strip().lower() == IMMEDIATE else None
    try:
        seconds = parse_duration(value)
    except ValueError:
        raise reader.fail(
            key, f"expected a duration like 15m or 4h, or immediate, or none; got {show_value(value)}"
        ) from None
    if seconds < MIN_TARGET:
        raise reader.fail(
            key,
            f"{show_value(value)} is shorter than 1m: write immediate (due at once) or none (no target, no countdown)",
        )
    if seconds > MAX_DURATION:
        raise reader.fail(key, f"{show_value(value)} is out of range: at most 365d, or none")
    return seconds


def profile_text(name: str) -> str:
    """A bundled profile's file, as it stands: TOML to start one's own from."""
    file = bundled_file(name)
    if file is None:
        raise KeyError(name)
    return file.read_text(encoding="utf-8")
