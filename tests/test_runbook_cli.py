"""`warroom runbook list | show | run` as a subprocess in a real war room: one step at a time,
placeholders given with --set (or asked on a terminal), hostile values inert, runs and ticks
recorded on the timeline like the console's."""

from __future__ import annotations

import json
import os
import pty
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import assert_user_error, cli_env, run_cli

from warroom.paths import record_path

RUNBOOK = """\
# Release went bad

## Roll back

```bash
# Go back to the release before
echo rolled-back-to <RELEASE>

# Or put the database back from the last dump
touch restored-from-dump
```

## Edge cache

```bash
# Purge the whole cache
echo purged-all
# Or purge only one tag
echo purged-tag [TAG NAME]
```

## Pool

```bash
# Grow the pool if needed
echo "grown to <SIZE> for ${POOL_NAME}"
echo "token is ${API_TOKEN}"; exit 4
```

## By hand

1. Open the hosting dashboard and check the last deployment.
2. Post in the incident channel.

```bash
# Hosting
Hosting Dashboard → Deployments → previous → Redeploy
```
"""


def events(room: Path, kind: str) -> list[dict]:
    conn = sqlite3.connect(record_path(room))
    rows = conn.execute("select author, body from events where kind = ? order by hlc", (kind,)).fetchall()
    conn.close()
    return [{"author": author, **json.loads(body)} for author, body in rows]


@pytest.fixture
def room(room_dir: Path) -> Path:
    (room_dir / "runbooks" / "release.md").write_text(RUNBOOK)
    assert run_cli("declare", "Checkout returns 500", "--severity", "P1", cwd=room_dir).code == 0
    return room_dir


def test_list_and_show_number_the_steps_and_mark_the_ones_by_hand(room):
    listed = run_cli("runbook", "list", cwd=room)
    assert listed.code == 0, listed.err
    line = next(line for line in listed.out.splitlines() if line.startswith("release "))
    assert "9 steps (3 by hand)" in line and line.endswith("Release went bad")
    shown = run_cli("runbook", "show", "release", cwd=room)
    assert shown.code == 0, shown.err
    out = shown.out
    assert "  1. Go back to the release before  (asks for <RELEASE>)\n     $ echo rolled-back-to <RELEASE>" in out
    assert "  2. Or put the database back from the last dump\n     $ touch restored-from-dump" in out
    assert "  4. Or purge only one tag  (asks for [TAG NAME])" in out
    assert "  5. Grow the pool if needed  (asks for <SIZE>, ${POOL_NAME}" in out
    assert "  7. [by hand] Open the hosting dashboard and check the last deployment." in out
    assert "  9. [by hand] Hosting\n       Hosting Dashboard → Deployments → previous → Redeploy" in out
    assert out.index("## Roll back") < out.index("  1.") < out.index("## Edge cache") < out.index("  3.")
    assert run_cli("runbook", cwd=room).out == listed.out  # no subcommand: the list


def test_run_runs_only_the_step_named_and_records_it(room):
    done = run_cli("runbook", "run", "release", "1", "--yes", "--set", "RELEASE=v41", cwd=room, user="carol")
    assert done.code == 0, done.err
    assert "$ echo rolled-back-to v41" in done.out and "rolled-back-to v41\n" in done.out
    assert "release #1: exit 0" in done.out
    assert not (room / "restored-from-dump").exists()  # the alternative below it did not run
    [ran] = events(room, "command.ran")
    assert ran == {"author": "carol", "command": "echo rolled-back-to v41", "exit_code": 0,
                   "output": "rolled-back-to v41", "runbook": "release"}
    shown = run_cli("show", cwd=room)
    assert "Ran `echo rolled-back-to v41` from release: exit 0" in shown.out


def test_hostile_values_are_data_never_shell(room):
    hostile = "$(touch pwned); touch pwned2 `touch pwned3` ' \" \\"
    done = run_cli("runbook", "run", "release", "4", "--yes", "--set", f"TAG NAME={hostile}", cwd=room)
    assert done.code == 0, done.err
    assert f"purged-tag {hostile}\n" in done.out
    assert not any((room / name).exists() for name in ("pwned", "pwned2", "pwned3"))
    [ran] = events(room, "command.ran")
    assert ran["output"] == f"purged-tag {hostile}"


def test_a_failing_step_exits_1_and_variables_given_stay_out_of_the_record(room):
    done = run_cli("runbook", "run", "release", "6", "--yes", "--set", "API_TOKEN=tok-9f8e7d6c5b", cwd=room)
    assert done.code == 1
    assert "release #6: exit 4" in done.out
    assert "tok-9f8e7d6c5b" not in done.out  # redacted on the terminal too
    [ran] = events(room, "command.ran")
    assert ran["command"] == 'echo "token is ${API_TOKEN}"; exit 4'
    assert ran["exit_code"] == 4 and "tok-9f8e7d6c5b" not in ran["output"] and "«REDACTED»" in ran["output"]


def test_a_manual_step_is_ticked_with_who_and_when(room):
    done = run_cli("runbook", "run", "release", "8", "--yes", cwd=room, user="dana")
    assert done.code == 0, done.err
    assert "ticked step 8 of release" in done.out
    [tick] = events(room, "entry.logged")[-1:]
    assert tick == {"author": "dana", "text": "Done by hand: Post in the incident channel.", "type": "action",
                    "source": "runbook:release #8"}
    assert events(room, "command.ran") == []
    assert "Done by hand: Post in the incident channel." in run_cli("show", cwd=room).out


def test_refusals_are_one_line_and_exit_2(room):
    missing = run_cli("runbook", "run", "release", "5", "--yes", "--set", "SIZE=9", cwd=room)
    assert_user_error(missing, "step 5 needs ${POOL_NAME}", "--set 'POOL_NAME=...'")
    assert_user_error(run_cli("runbook", "run", "release", "3", cwd=room), "not a terminal", "--yes")
    assert_user_error(run_cli("runbook", "run", "release", "7", cwd=room), "not a terminal", "--yes to tick")
    assert_user_error(run_cli("runbook", "run", "release", "99", "--yes", cwd=room), "no step '99'", "1 to 9")
    assert_user_error(run_cli("runbook", "run", "nope", "1", "--yes", cwd=room), "no runbook 'nope'", "release")
    assert_user_error(run_cli("runbook", "show", "nope", cwd=room), "no runbook 'nope'")
    assert_user_error(run_cli("runbook", "run", "release", "1", "--yes", "--set", "RELEASE", cwd=room),
                      "write KEY=VALUE")
    assert events(room, "command.ran") == []


def test_without_an_incident_nothing_runs(room_dir):
    (room_dir / "runbooks" / "release.md").write_text(RUNBOOK)
    refused = run_cli("runbook", "run", "release", "3", "--yes", cwd=room_dir)
    assert refused.code == 2 and "no incidents in this war room yet" in refused.err
    assert run_cli("runbook", "list", cwd=room_dir).code == 0  # reading needs no incident


def test_on_a_terminal_it_asks_for_the_values_then_y_or_n(room):
    def on_terminal(*args: str, answers: list[str]) -> str:
        leader, follower = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "warroom", *args], cwd=room, stdin=follower,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=cli_env(WARROOM_USER="erin"))
        os.close(follower)
        for answer in answers:
            time.sleep(0.5)
            os.write(leader, answer.encode() + b"\n")
        out, _ = proc.communicate(timeout=30)
        os.close(leader)
        return out.decode()

    said = on_terminal("runbook", "run", "release", "1", answers=["v40; touch pwned", "n"])
    assert "value for <RELEASE>:" in said and "$ echo rolled-back-to 'v40; touch pwned'" in said
    assert "Run it? [y/N]" in said and "not run" in said
    assert events(room, "command.ran") == []
    said = on_terminal("runbook", "run", "release", "1", answers=["v40; touch pwned", "y"])
    assert "rolled-back-to v40; touch pwned" in said
    assert not (room / "pwned").exists()
    assert [e["command"] for e in events(room, "command.ran")] == ["echo rolled-back-to 'v40; touch pwned'"]
