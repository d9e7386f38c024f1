"""From a shell, as a new team would: `warroom init --profile`, its commented starter,
`warroom profile list/show`, declaring (targets and who to notify), escalating, and
closing through the checklist on a terminal or with --checked."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import assert_user_error, cli_env, run_cli

from warroom import config
from warroom.errors import ConfigError
from warroom.paths import record_path

HOSTILE = "\x1b[2J\x1b]0;pwned\x07[bold red]boss[/]"


def rows(room: Path, kind: str) -> list[dict]:
    conn = sqlite3.connect(record_path(room))
    found = [json.loads(body) for (body,) in conn.execute("select body from events where kind = ?", (kind,))]
    conn.close()
    return found


def blocks(text: str) -> list[tuple[str, list[str]]]:
    """The starter's commented examples: (the first ## line above, the example's lines)."""
    found: list[tuple[str, list[str]]] = []
    note, current, previous = "", [], ""
    for line in text.splitlines() + [""]:
        if line.startswith("# ") or line == "#":
            current.append(line[2:])
        else:
            if current:
                found.append((note, current))
                current = []
            if line.startswith("##") and not previous.startswith("##"):
                note = line
        previous = line
    return found


@pytest.mark.parametrize("profile", ["P0-P3", "p1-p4", "SEV1-sev4"])
def test_init_with_a_profile_writes_a_starter_that_loads_with_every_example(tmp_path: Path, profile: str):
    result = run_cli("init", "--profile", profile, "room", cwd=tmp_path).ok()
    room = tmp_path / "room"
    text = (room / "warroom.toml").read_text()
    loaded = config.load(room / "warroom.toml", environ={})
    assert loaded.severity.name.lower() == profile.lower() and loaded.severity.name in result.out
    assert f"--severity {loaded.severity.ids[0]}" in result.out
    examples = blocks(text)
    keys = {"roles", "checklist", "sync_every", "[paths]", "[severity.", "[[role]]", "[[check]]",
            "[[log]]", "[[contact]]", "[[escalation]]", "notify", "deadline", "resolve_within"}
    assert all(any(key in line for _, lines in examples for line in lines) for key in keys)
    kinds = {m.group(1) for m in re.finditer(r'^# kind = "(\w+)"', text, re.M)}
    assert kinds == set(config.CHECK_KINDS)
    for index, (_note, lines) in enumerate(examples):  # each example alone, uncommented, loads
        alone = text.replace("\n".join("# " + line if line else "#" for line in lines), "\n".join(lines))
        assert alone != text, lines
        (room / "warroom.toml").write_text(alone)
        loaded = config.load(room / "warroom.toml", environ={})
    together = text
    for note, lines in examples:  # and all at once, but for the alternative to `roles`
        if not note.startswith("## Or"):
            together = together.replace("\n".join("# " + line if line else "#" for line in lines), "\n".join(lines))
    (room / "warroom.toml").write_text(together)
    loaded = config.load(room / "warroom.toml", environ={})
    assert len(loaded.checks) == 4 and len(loaded.logs) == 2 and loaded.contacts and len(loaded.escalation) == 2
    assert loaded.checks[0].disabled == "ADMIN_TOKEN is not set"
    assert loaded.severity.levels[1].resolve_within == 8 * 3600


def test_init_with_an_unknown_profile_makes_nothing(tmp_path: Path):
    assert_user_error(run_cli("init", "--profile", "P9", "room", cwd=tmp_path), "--profile P9", "P0-P3, P1-P4")
    assert not (tmp_path / "room").exists()


def test_profile_list_and_show(tmp_path: Path):
    listed = run_cli("profile", "list", cwd=tmp_path).ok().out
    assert all(name in listed for name in config.bundled_profiles())
    shown = run_cli("profile", "show", "sev1-sev4", cwd=tmp_path).ok().out
    (tmp_path / "mine.toml").write_text(shown)
    (tmp_path / "warroom.toml").write_text('severity_profile = "mine.toml"\n')
    assert config.load(tmp_path / "warroom.toml", environ={}).severity.ids == ("SEV1", "SEV2", "SEV3", "SEV4")
    assert_user_error(run_cli("profile", "show", "nope", cwd=tmp_path), "'nope'", "SEV1-SEV4")


def test_declare_says_the_targets_and_who_to_notify(cli, room_dir: Path):
    (room_dir / "warroom.toml").write_text('severity_profile = "P0-P3"\n[severity.P0]\nnotify = ["pager", "status page"]\n')
    out = cli("declare", "Site down", "--severity", "p0").ok().out
    assert "notify for P0: pager, status page" in out
    assert "acknowledge within 15m" in out and "resolve within 1h" in out and "escalate: at once" in out
    out = cli("severity", "P2").ok().out
    assert "updates: none asked" in out and "no escalation" in out


def test_escalate_records_the_call_inert(cli, room_dir: Path):
    (room_dir / "warroom.toml").write_text(
        '[[escalation]]\nafter = "0m"\nto = "Engineering manager"\n[[escalation]]\nafter = "30m"\nto = "Senior"\n')
    cli("declare", "Site down", "--severity", "P1").ok()
    listed = cli("escalate").ok().out
    assert "ESCALATE NOW: Engineering manager" in listed and "Senior at" in listed
    cli("escalate", "Engineering", "manager").ok()
    assert "escalated: Engineering manager" in cli("escalate").ok().out
    out = cli("escalate", HOSTILE).ok().out
    shown = cli("show").ok().out
    for text in (out, shown):
        assert "\x1b" not in text and "\x07" not in text and "boss" in text
    assert rows(room_dir, "incident.escalated")[0] == {"to": "Engineering manager"}
    assert_user_error(cli("escalate", " "), "who was called in")


def test_closing_with_checked_records_the_rest_as_skipped(cli, room_dir: Path):
    cli("declare", "Site down", "--severity", "P1").ok()
    cli("status", "resolved").ok()
    assert_user_error(cli("status", "closed", "--checked", "1,99"), "--checked", "'99'", "1 to 7")
    out = cli("status", "closed", "--checked", "1, 3").ok().out
    assert "2 of 7 ticked" in out and "skipped: Metrics back to normal" in out
    assert "Service restored" not in out
    skipped = rows(room_dir, "incident.status")[-1]["skipped"]
    assert skipped == [item for i, item in enumerate(config.DEFAULT_CHECKLIST, 1) if i not in (1, 3)]
    assert_user_error(cli("status", "closed", "--incident", "INC-"), "no incident")


def test_closing_on_a_terminal_asks_each_item(room_dir: Path):
    (room_dir / "warroom.toml").write_text('checklist = ["Service restored", "Status page updated", "Review booked"]\n')
    run_cli("declare", "Site down", "--severity", "P1", cwd=room_dir).ok()
    leader, follower = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "warroom", "status", "closed"], cwd=room_dir,
                            env=cli_env(), stdin=follower, stdout=follower, stderr=follower)
    os.close(follower)
    seen = b""

    def until(text: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 20
        while text not in seen:
            assert time.monotonic() < deadline, seen
            if select.select([leader], [], [], 0.2)[0]:
                try:
                    seen += os.read(leader, 4096)
                except OSError:
                    break

    for prompt, answer in ((b"Service restored? [y/n]", b"y\n"), (b"Status page updated? [y/n]", b"maybe\n"),
                           (b"answer y or n", b"n\n"), (b"Review booked? [y/n]", b"n\n")):
        until(prompt)
        os.write(leader, answer)
    until(b"skipped: Review booked")
    assert proc.wait(timeout=20) == 0
    os.close(leader)
    assert b"1 of 3 ticked" in seen
    assert rows(room_dir, "incident.status")[-1]["skipped"] == ["Status page updated", "Review booked"]


def test_a_zero_cadence_is_refused_with_what_to_write(cli, room_dir: Path):
    (room_dir / "warroom.toml").write_text('[severity.P3]\nupdate_every = "0m"\n')
    assert_user_error(cli("list"), "warroom.toml", "severity.P3.update_every", "'0m'", "immediate", "none")
    with pytest.raises(ConfigError):
        config.load(room_dir / "warroom.toml", environ={})
