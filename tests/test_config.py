"""warroom.toml -> frozen dataclasses: bundled files load, mistakes name file and key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from warroom import config
from warroom.config import load, load_profile
from warroom.toml_reader import parse_duration
from warroom.errors import ConfigError
from warroom.paths import DATA_DIR


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "warroom.toml"
    path.write_text(text)
    return path


def error_for(path: Path, environ: dict[str, str] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        load(path, environ=environ or {})
    message = str(caught.value)
    assert str(path.resolve()) in message, message
    assert "\n" not in message
    return caught.value


def test_starter_config_from_init_loads(room_dir: Path):
    loaded = load(room_dir / "warroom.toml", environ={})
    assert loaded.severity.name == "P1-P4"
    assert loaded.roles == config.DEFAULT_ROLES
    assert loaded.db_path == room_dir.resolve() / "warroom.db"  # the exchange copy git carries
    assert loaded.record_path == room_dir.resolve() / ".warroom" / "record.db"  # the record, out of git's reach
    with pytest.raises(dataclasses.FrozenInstanceError):
        loaded.roles = ()  # type: ignore[misc]


def test_bundled_demo_config_loads_with_demo_url():
    demo = DATA_DIR / "demo" / "warroom.toml"
    loaded = load(demo, environ={"DEMO_URL": "http://127.0.0.1:8765"})
    assert "Customer liaison" in loaded.roles
    names = [c.name for c in loaded.checks]
    assert names == ["checkout-api", "database", "error-rate", "cloud-provider", "disk"]
    api = loaded.checks[0]
    assert api.url == "http://127.0.0.1:8765/health"
    assert api.every == 5 and api.timeout == 2 and api.max_latency == 0.8
    assert dict(api.expect_json) == {"status": "ok"}
    assert loaded.checks[2].down_above == 0.05
    assert loaded.checks[4].command == ("df", "-h", "/")
    assert [e.after for e in loaded.escalation] == sorted(e.after for e in loaded.escalation)
    assert {log.name for log in loaded.logs} == {"checkout", "worker"}
    assert len(loaded.contacts) == 4


def test_demo_config_without_demo_url_disables_what_uses_it():
    demo = DATA_DIR / "demo" / "warroom.toml"
    loaded = load(demo, environ={})
    by_name = {check.name: check.disabled for check in loaded.checks}
    # every http check uses ${DEMO_URL}; the disk check (df) does not
    assert by_name == {"checkout-api": "DEMO_URL is not set", "database": "DEMO_URL is not set",
                       "error-rate": "DEMO_URL is not set", "cloud-provider": "DEMO_URL is not set",
                       "disk": ""}
    assert loaded.checks[0].url == "${DEMO_URL}/health"  # left as written: never run
    assert all(not log.disabled for log in loaded.logs)


@pytest.mark.parametrize("name, first, count", [("P0-P3", "P0", 4), ("P1-P4", "P1", 4), ("SEV1-SEV4", "SEV1", 4)])
def test_bundled_profiles_load(tmp_path: Path, name: str, first: str, count: int):
    path = write(tmp_path, f'severity_profile = "{name}"\n')
    profile = load(path, environ={}).severity
    assert profile.ids[0] == first and len(profile.levels) == count
    for level in profile.levels:
        assert level.label and level.description
        # a target is a duration, 0 (immediate) or None (none): never negative
        for target in (level.acknowledge_within, level.update_every, level.escalate_after, level.resolve_within):
            assert target is None or target >= 0
        assert level.postmortem in ("required", "recommended", "optional")
    top = profile.levels[0]
    assert top.postmortem == "required" and top.postmortem_within
    # The most severe level answers fastest, updates and escalates, and has a resolution target.
    assert top.acknowledge_within is not None and top.update_every and top.escalate_after is not None
    assert top.resolve_within and top.notify or top.deadlines
    last = profile.levels[-1].acknowledge_within
    assert last is None or top.acknowledge_within <= last
    assert profile.level(first.lower()) is top and profile.rank(first) == 0
    assert sorted(config.bundled_profiles()) == ["P0-P3", "P1-P4", "SEV1-SEV4"]


def test_own_profile_file_relative_to_the_config(tmp_path: Path):
    (tmp_path / "mine.toml").write_text(
        'name = "ours"\n[[level]]\nid = "RED"\nlabel = "Red"\nacknowledge_within = "5m"\nupdate_every = "20m"\n')
    profile = load(write(tmp_path, 'severity_profile = "mine.toml"\n'), environ={}).severity
    assert profile.name == "ours" and profile.ids == ("RED",)
    assert profile.levels[0].update_every == 1200


def test_env_values_are_interpolated_and_kept_as_secrets(tmp_path: Path):
    path = write(tmp_path, """
[[check]]
name = "api"
kind = "http"
url = "https://api.example.com/health"
headers = { Authorization = "Bearer ${ADMIN_TOKEN}" }
""")
    loaded = load(path, environ={"ADMIN_TOKEN": "s3cr3t-token-value"})
    assert dict(loaded.checks[0].headers) == {"Authorization": "Bearer s3cr3t-token-value"}
    assert "s3cr3t-token-value" in loaded.secrets
    assert "s3cr3t-token-value" not in repr(loaded)


def test_full_shape_from_the_issue(tmp_path: Path):
    path = write(tmp_path, """
severity_profile = "P0-P3"
roles = ["Customer liaison"]

[[check]]
name = "api"
kind = "http"
url = "https://api.example.com/health"
every = "10s"
timeout = "3s"

[[log]]
name = "worker"
command = ["wrangler", "tail", "--format", "json"]
restart = true

[[escalation]]
after = "30m"
to = "Senior engineer"
""")
    loaded = load(path, environ={})
    assert loaded.roles[-1] == "Customer liaison"
    assert loaded.checks[0].every == 10 and loaded.checks[0].timeout == 3
    assert loaded.logs[0].command == ("wrangler", "tail", "--format", "json") and loaded.logs[0].restart
    assert loaded.escalation[0].after == 1800 and loaded.escalation[0].to == "Senior engineer"
    assert loaded.role_name("ic") == "Incident Commander"
    assert loaded.role_name("customer-liaison") == "Customer liaison"
    assert loaded.role_name("janitor") is None


@pytest.mark.parametrize("text, seconds", [("90s", 90), ("15m", 900), ("1h", 3600), ("500ms", 0.5), ("2d", 172800)])
def test_durations(text: str, seconds: float):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "ten seconds", "1w", "-5s", 10])
def test_bad_durations_rejected(text):
    with pytest.raises(ValueError):
        parse_duration(text)


# --- mistakes: each names the file, the key path and what is expected ------------


def test_malformed_toml(tmp_path: Path):
    path = write(tmp_path, 'severity_profile = "P1-P4\n[[check]\n')
    error = error_for(path)
    assert "not valid TOML" in str(error)


def test_unknown_top_level_keys_are_named(tmp_path: Path):
    error = error_for(write(tmp_path, 'severity = "P1"\nchecks = []\n'))
    assert "severity" in error.message and "checks" in error.message
    assert "unknown key" in error.message


def test_unknown_key_in_a_check_is_named_with_its_path(tmp_path: Path):
    error = error_for(write(tmp_path, '[[check]]\nname = "a"\nkind = "http"\nurl = "http://x"\ninterval = "5s"\n'))
    assert error.key == "check[0]" and "interval" in error.message


def test_bad_duration_names_the_key_path(tmp_path: Path):
    error = error_for(write(tmp_path, '[[check]]\nname = "a"\nkind = "http"\nurl = "http://x"\ntimeout = "3 seconds"\n'))
    assert error.key == "check[0].timeout"
    assert "3 seconds" in error.message and "90s" in error.message


def test_bad_duration_in_a_later_check(tmp_path: Path):
    text = "".join(f'[[check]]\nname = "c{i}"\nkind = "http"\nurl = "http://x"\nevery = "{e}"\n'
                   for i, e in enumerate(["5s", "10s", "soon"]))
    assert error_for(write(tmp_path, text)).key == "check[2].every"




def test_check_without_url(tmp_path: Path):
    error = error_for(write(tmp_path, '[[check]]\nname = "a"\nkind = "http"\n'))
    assert error.key == "check[0].url" and "required" in error.message


def test_unknown_check_kind(tmp_path: Path):
    error = error_for(write(tmp_path, '[[check]]\nname = "a"\nkind = "ping"\n'))
    assert error.key == "check[0].kind" and "'ping'" in error.message


def test_unknown_severity_in_escalation(tmp_path: Path):
    error = error_for(write(tmp_path, '[[escalation]]\nafter = "1h"\nto = "boss"\nseverities = ["P9"]\n'))
    assert error.key == "escalation[0].severities[0]" and "P9" in error.message and "P1, P2, P3, P4" in error.message


def test_unknown_profile_lists_the_bundled_ones(tmp_path: Path):
    error = error_for(write(tmp_path, 'severity_profile = "P9-P12"\n'))
    assert error.key == "severity_profile"
    assert "P0-P3" in error.message and "SEV1-SEV4" in error.message


def test_wrong_type(tmp_path: Path):
    error = error_for(write(tmp_path, 'roles = "Customer liaison"\n'))
    assert error.key == "roles" and "list of strings" in error.message


def test_duplicate_check_names(tmp_path: Path):
    text = '[[check]]\nname = "a"\nkind = "http"\nurl = "http://x"\n' * 2
    error = error_for(write(tmp_path, text))
    assert error.key == "check[1].name" and "duplicate" in error.message


def test_log_needs_exactly_one_of_command_or_file(tmp_path: Path):
    error = error_for(write(tmp_path, '[[log]]\nname = "w"\n'))
    assert error.key == "log[0]" and "command" in error.message and "file" in error.message


def test_profile_file_errors_name_the_profile_file(tmp_path: Path):
    (tmp_path / "bad.toml").write_text('[[level]]\nid = "X"\nlabel = "x"\nacknowledge_within = "soon"\n'
                                       'update_every = "1h"\n')
    with pytest.raises(ConfigError) as caught:
        load_profile("bad.toml", tmp_path)
    assert "bad.toml" in caught.value.file and caught.value.key == "level[0].acknowledge_within"


def test_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path / "nope.toml", environ={})
    assert "not found" in str(caught.value)


def test_find_walks_up(room_dir: Path):
    deep = room_dir / "a" / "b"
    deep.mkdir(parents=True)
    assert config.find(deep) == (room_dir / "warroom.toml").resolve()
