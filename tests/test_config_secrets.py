"""Config errors name the variable, never its value (issue 13, item 5).

Hostile values are put in every key that takes `${}` (check url, headers and command,
log command and file), next to mistakes that make the reader fail in the same item, in a
later item and at the top level: no error message may hold the value, nor any form of it
that quoting produces (repr, ascii, JSON).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_user_error, run_cli
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from warroom.config import load
from warroom.errors import ConfigError

# Each key that takes ${}: a document using ${V} there, and a mistake later in the same item.
ENV_KEYS = {
    "check.url": ('[[check]]\nname = "a"\nkind = "http"\nurl = "${V}"\n', 'expect_status = 999\n'),
    "check.url in a path": ('[[check]]\nname = "a"\nkind = "http"\nurl = "https://h/${V}/x"\n',
                            'method = "GE T"\n'),
    "check.headers": ('[[check]]\nname = "a"\nkind = "http"\nurl = "https://h/x"\n'
                      'headers = { Authorization = "Bearer ${V}", X-Token = "${V}" }\n', 'max_latency = "0s"\n'),
    "check.command": ('[[check]]\nname = "a"\nkind = "command"\ncommand = ["${V}", "--password=${V}"]\n',
                      'expect_status = 1\n'),
    "log.command": ('[[log]]\nname = "l"\ncommand = ["ssh", "${V}", "tail"]\n', 'buffer = 1\n'),
    "log.file": ('[[log]]\nname = "l"\nfile = "/var/log/${V}"\n', 'restart = "yes"\n'),
}
# Mistakes after the item: a second item with the same name, a bad escalation, a bad key.
LATER = {
    "same item": None,
    "duplicate": '\n[[check]]\nname = "a"\nkind = "command"\ncommand = ["x"]\n'
                 '[[check]]\nname = "a"\nkind = "command"\ncommand = ["x"]\n'
                 '[[log]]\nname = "l"\nfile = "x"\n[[log]]\nname = "l"\nfile = "x"\n',
    "escalation": '\n[[escalation]]\nafter = "99999999999999d"\nto = "boss"\n',
    "top level": '\nnonsense = true\n',
}
HOSTILE = [
    "ftp://admin:hunter2@db.internal",
    "https://ops:hunter2@api.internal/health?token=abcdef123456",
    "hunter2'with\"both'quotes",
    "hunter2\\with\\backslashes",
    "hunter2\nwith\nnewlines\tand\ttabs",
    "hunter2\x1b]52;c;cm0gLXJmIH4=\x07osc",
    "hünter2-ünïcødé-sécret",
    "${NESTED}hunter2",
    "hunter2 " * 200,
]
IDS = ["ftp-password", "url-password-token", "quotes", "backslashes", "newlines", "escape", "unicode",
       "dollar-brace", "long"]


def forms(value: str) -> list[str]:
    """The value, and each form quoting it could produce."""
    return [value, repr(value)[1:-1], ascii(value)[1:-1], json.dumps(value)[1:-1],
            json.dumps(value, ensure_ascii=False)[1:-1]]


def errors_for(tmp_path: Path, key: str, value: str) -> list[str]:
    """Every error message the reader gives for `value` in `key`, with each later mistake."""
    head, same_item = ENV_KEYS[key]
    messages = []
    for later, text in LATER.items():
        document = head + (same_item if text is None else text)
        path = tmp_path / "warroom.toml"
        path.write_text(document)
        try:
            load(path, environ={"V": value})
        except ConfigError as exc:
            messages.append(str(exc))
            continue
        raise AssertionError(f"{key} with {later}: expected a config error")
    return messages


def assert_never_quoted(messages: list[str], value: str) -> None:
    for message in messages:
        for form in forms(value):
            assert form not in message, f"{form!r} in {message!r}"


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
@pytest.mark.parametrize("key", list(ENV_KEYS))
def test_no_error_quotes_an_env_value(tmp_path: Path, key: str, value: str):
    messages = errors_for(tmp_path, key, value)
    assert_never_quoted(messages, value)
    for message in messages:
        assert "hunter2" not in message  # not even a part of it


@pytest.mark.parametrize("value", HOSTILE, ids=IDS)
def test_a_url_that_is_not_http_is_named_by_its_variable(tmp_path: Path, value: str):
    path = tmp_path / "warroom.toml"
    path.write_text('[[check]]\nname = "db"\nkind = "http"\nurl = "${DB_URL}"\n')
    if value.startswith("http"):
        assert load(path, environ={"DB_URL": value}).checks[0].url == value
        return
    with pytest.raises(ConfigError) as caught:
        load(path, environ={"DB_URL": value})
    message = str(caught.value)
    assert caught.value.key == "check[0].url" and "${DB_URL}" in message
    assert_never_quoted([message], value)
    assert "\n" not in message and "\x1b" not in message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(list(ENV_KEYS)),
       tail=st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1))
@example(key="check.url", tail="'\"\\")
def test_no_error_quotes_any_env_value(tmp_path: Path, key: str, tail: str):
    value = "Zq9" + tail  # a prefix no static text of a message has
    assert_never_quoted(errors_for(tmp_path, key, value), value)


def test_the_cli_names_the_variable_and_not_the_password(room_dir: Path):
    config = room_dir / "warroom.toml"
    config.write_text(config.read_text() + '\n[[check]]\nname = "db"\nkind = "http"\nurl = "${WARROOM_TEST_DB_URL}"\n')
    before = config.read_bytes()
    result = run_cli("list", cwd=room_dir, env={"WARROOM_TEST_DB_URL": "ftp://admin:hunter2@db.internal"})
    line = assert_user_error(result, "check[0].url", "${WARROOM_TEST_DB_URL}")
    assert "hunter2" not in line and "hunter2" not in result.out
    assert config.read_bytes() == before
