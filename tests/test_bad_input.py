"""No internal error from user input (issue 12, item 8: the config and command-line part).

Each bad value in warroom.toml (or in a severity profile) and each bad argument gives one
clear line on stderr naming the file, key or value, exit status 2 (1 for a full disk), and
leaves the record and every other file byte for byte as it was. Real parts only: the CLI as
a subprocess (`python -m warroom`), real files, a real tmpfs where mounting is allowed.
"""

from __future__ import annotations

import os
import stat
import subprocess
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import assert_user_error, run_cli

TOO_LONG = "99999999999999d"
CHECK = '[[check]]\nname = "api"\nkind = "http"\nurl = "https://example.invalid/health"\n'
CMD_CHECK = '[[check]]\nname = "disk"\nkind = "command"\n'
LOG = '[[log]]\nname = "app"\n'
PROFILE_LEVEL = ('[[level]]\nid = "RED"\nlabel = "Red"\nacknowledge_within = "5m"\nupdate_every = "20m"\n'
                 'postmortem_within = "2d"\n')

# name: (text added to warroom.toml, words the one line must hold)
BAD_CONFIG = {
    "escalation after too long": (f'[[escalation]]\nafter = "{TOO_LONG}"\nto = "Senior engineer"\n',
                                  ["escalation[0].after", TOO_LONG, "365d"]),
    "escalation after with 400 digits": ('[[escalation]]\nafter = "' + "9" * 400 + 'd"\nto = "x"\n',
                                         ["escalation[0].after", "too long"]),
    "escalation to empty": ('[[escalation]]\nafter = "1h"\nto = ""\n', ["escalation[0].to", "empty"]),
    "every zero": (CHECK + 'every = "0s"\n', ["check[0].every", "0s", "100ms"]),
    "every negative": (CHECK + 'every = "-5s"\n', ["check[0].every", "-5s"]),
    "every too long": (CHECK + 'every = "400d"\n', ["check[0].every", "400d", "1d"]),
    "timeout zero": (CHECK + 'timeout = "0ms"\n', ["check[0].timeout", "0ms"]),
    "timeout too long": (CHECK + 'timeout = "2d"\n', ["check[0].timeout", "2d", "1h"]),
    "max_latency zero": (CHECK + 'max_latency = "0s"\n', ["check[0].max_latency", "0s"]),
    "threshold nan": ('[[check]]\nname = "m"\nkind = "metrics"\nurl = "https://x/metrics"\nsample = "up"\n'
                      'down_above = nan\n', ["check[0].down_above", "nan"]),
    "threshold inf": ('[[check]]\nname = "m"\nkind = "metrics"\nurl = "https://x/metrics"\nsample = "up"\n'
                      'degraded_above = inf\n', ["check[0].degraded_above", "inf"]),
    "empty sample": ('[[check]]\nname = "m"\nkind = "metrics"\nurl = "https://x/metrics"\nsample = " "\n'
                     'down_above = 1\n', ["check[0].sample", "empty"]),
    "expect_status out of range": (CHECK + "expect_status = 999\n", ["check[0].expect_status", "999"]),
    "expect_json too deep": (CHECK + "expect_json = " + "{a = " * 40 + "1" + "}" * 40 + "\n",
                             ["check[0].expect_json", "deep"]),
    "method with a space": (CHECK + 'method = "GE T"\n', ["check[0].method", "GE T"]),
    "header name with a space": (CHECK + 'headers = { "Bad Header" = "x" }\n', ["check[0].headers", "Bad Header"]),
    "header value with a newline": (CHECK + 'headers = { X-A = "a\\nb" }\n', ["check[0].headers.X-A", "one line"]),
    "empty check name": ('[[check]]\nname = "  "\nkind = "command"\ncommand = ["true"]\n',
                         ["check[0].name", "empty"]),
    "check name of 5000 characters": ('[[check]]\nname = "' + "x" * 5000 + '"\nkind = "command"\ncommand = ["true"]\n',
                                      ["check[0].name", "5000 characters", "100"]),
    "check name with a newline": ('[[check]]\nname = "a\\nb"\nkind = "command"\ncommand = ["true"]\n',
                                  ["check[0].name", "one line"]),
    "url of 20000 characters": ('[[check]]\nname = "a"\nkind = "http"\nurl = "https://' + "x" * 20000 + '"\n',
                                ["check[0].url", "20008 characters"]),
    "empty command": (CMD_CHECK + "command = []\n", ["check[0].command", "empty"]),
    "command without a program": (CMD_CHECK + 'command = ["", "x"]\n', ["check[0].command[0]", "program"]),
    "command with a NUL": (CMD_CHECK + 'command = ["df", "a\\u0000b"]\n', ["check[0].command[1]", "NUL"]),
    "buffer too small": (LOG + 'file = "app.log"\nbuffer = 0\n', ["log[0].buffer", "100"]),
    "buffer too large": (LOG + 'file = "app.log"\nbuffer = 1000000000\n', ["log[0].buffer", "1000000"]),
    "empty log file": (LOG + 'file = ""\n', ["log[0].file", "empty"]),
    "log file with a NUL": (LOG + 'file = "a\\u0000b"\n', ["log[0].file", "control"]),
    "empty log name": ('[[log]]\nname = ""\nfile = "app.log"\n', ["log[0].name", "empty"]),
    "empty role": ('roles = ["Customer liaison", ""]\n', ["roles[1]", "empty"]),
    "2000 roles": ("roles = [" + ", ".join(f'"r{i}"' for i in range(2000)) + "]\n", ["roles", "2000 entries"]),
    "empty checklist item": ('checklist = ["Service restored", ""]\n', ["checklist[1]", "empty"]),
    "empty contact": ('[[contact]]\nrole = "DBA"\nname = ""\n', ["contact[0].name", "empty"]),
    "empty db path": ('[paths]\ndb = ""\n', ["paths.db", "empty"]),
    "deeply nested arrays": ("a = " + "[" * 5000 + "]" * 5000 + "\n", ["nested too deeply"]),
    "deeply nested tables": ("a = " + "{b = " * 3000 + "1" + "}" * 3000 + "\n", ["nested too deeply"]),
    "integer of 5000 digits": (LOG + 'file = "x"\nbuffer = ' + "1" * 5000 + "\n", ["not valid TOML", "digits"]),
}

# name: (the profile's text, words the one line must hold); the line names the profile file
BAD_PROFILE = {
    "update_every too long": (PROFILE_LEVEL.replace('"20m"', f'"{TOO_LONG}"'), ["level[0].update_every", TOO_LONG]),
    "acknowledge_within too short": (PROFILE_LEVEL.replace('"5m"', '"10s"'),
                                     ["level[0].acknowledge_within", "10s", "1m"]),
    "postmortem_within too long": (PROFILE_LEVEL.replace('"2d"', '"400d"'), ["level[0].postmortem_within", "400d"]),
    "escalate_after zero": (PROFILE_LEVEL + 'escalate_after = "0s"\n', ["level[0].escalate_after", "0s"]),
    "duplicate level id": (PROFILE_LEVEL + PROFILE_LEVEL.replace('"RED"', '"red"'), ["level[1].id", "duplicate"]),
    "empty label": (PROFILE_LEVEL.replace('"Red"', '""'), ["level[0].label", "empty"]),
}


def snapshot(*roots: Path) -> dict[str, bytes | int]:
    """Every file and folder under the roots: a regular file's bytes, else its type and mode."""
    seen: dict[str, bytes | int] = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            mode = path.lstat().st_mode
            seen[str(path)] = path.read_bytes() if stat.S_ISREG(mode) else mode
    return seen


@pytest.fixture
def declared(room_dir: Path) -> Path:
    run_cli("declare", "Checkout returns 500", "--severity", "P1", cwd=room_dir).ok()
    run_cli("log", "rolled back deploy 4812", cwd=room_dir).ok()
    return room_dir


@pytest.mark.parametrize("case", list(BAD_CONFIG))
def test_bad_config_value(declared: Path, case: str):
    text, needles = BAD_CONFIG[case]
    config = declared / "warroom.toml"
    starter = config.read_text()
    assert "\n[" not in starter  # only top-level keys: the case's text may add its own
    config.write_text(starter.replace("\nroles = []\n", "\n") + "\n" + text)
    before = snapshot(declared)
    assert_user_error(run_cli("log", "x", cwd=declared), str(config.resolve()), *needles)
    assert snapshot(declared) == before


@pytest.mark.parametrize("case", list(BAD_PROFILE))
def test_bad_profile_value(declared: Path, case: str):
    text, needles = BAD_PROFILE[case]
    (declared / "ours.toml").write_text(text)
    config = declared / "warroom.toml"
    config.write_text('severity_profile = "ours.toml"\n' + config.read_text().replace("severity_profile", "#"))
    before = snapshot(declared)
    assert_user_error(run_cli("log", "x", cwd=declared), str((declared / "ours.toml").resolve()), *needles)
    assert snapshot(declared) == before


@pytest.mark.parametrize("args", [[], ["list"], ["export"], ["report"], ["check"], ["sync", "--dry-run"]],
                         ids=["console", "list", "export", "report", "check", "sync"])
def test_the_oversized_durations_of_the_issue_stop_every_command(declared: Path, args: list[str]):
    """The issue's two cases: `after` passed `list` then killed the console (exit 0, a Textual
    traceback); `update_every` made export and report exit 70 (OverflowError)."""
    config = declared / "warroom.toml"
    config.write_text(config.read_text() + f'\n[[escalation]]\nafter = "{TOO_LONG}"\nto = "boss"\n')
    before = snapshot(declared)
    assert_user_error(run_cli(*args, cwd=declared), "escalation[0].after", TOO_LONG)
    (declared / "ours.toml").write_text(PROFILE_LEVEL.replace('"20m"', f'"{TOO_LONG}"'))
    config.write_text('severity_profile = "ours.toml"\n' + before[str(config)].decode().replace(
        "severity_profile", "#").split("\n[[escalation]]")[0])
    before = snapshot(declared)
    assert_user_error(run_cli(*args, cwd=declared), "level[0].update_every", TOO_LONG)
    assert snapshot(declared) == before


# --- arguments ---------------------------------------------------------------------------------


def bad_arguments(room: Path, tmp: Path) -> dict[str, tuple[list[str], list[str]]]:
    binary = tmp / "template.bin"
    binary.write_bytes(b"\xff\xfe\x00binary")
    (tmp / "a-folder").mkdir()
    os.mkfifo(tmp / "a-pipe")  # like /dev/null: renaming over it would put a file in its place
    (tmp / "a-file").write_text("mine\n")
    return {
        "export to a pipe": (["export", "--out", str(tmp / "a-pipe")], [str(tmp / "a-pipe"), "not a regular file"]),
        "init on a file": (["init", str(tmp / "a-file")], [str(tmp / "a-file"), "not a folder"]),
        "init under a file": (["init", str(tmp / "a-file" / "room")], [str(tmp / "a-file"), "cannot create"]),
        "update with a missing template": (["update", "--template", "missing.md"], ["missing.md", "initial-alert"]),
        "dry-run with a missing template": (["update", "--dry-run", "--template", "nope"], ["nope"]),
        "export to /": (["export", "--out", "/"], ["--out /", "folder"]),
        "export to a folder": (["export", "--out", str(tmp / "a-folder")], [str(tmp / "a-folder"), "folder"]),
        "export into a missing folder": (["export", "--out", str(tmp / "missing" / "pm.md")],
                                         [str(tmp / "missing"), "does not exist"]),
        "export with a binary template": (["export", "--template", str(binary)], [str(binary), "UTF-8"]),
        "export with a folder as template": (["export", "--template", str(tmp / "a-folder")],
                                             [str(tmp / "a-folder"), "cannot read"]),
        "export with a missing template": (["export", "--template", str(tmp / "nope.md")], [str(tmp / "nope.md")]),
    }


ARGUMENT_CASES = ["export to a pipe", "init on a file", "init under a file", "update with a missing template", "dry-run with a missing template", "export to /",
                  "export to a folder", "export into a missing folder", "export with a binary template",
                  "export with a folder as template", "export with a missing template"]


@pytest.mark.parametrize("case", ARGUMENT_CASES)
def test_bad_argument(declared: Path, tmp_path: Path, case: str):
    outside = tmp_path / "outside"
    outside.mkdir()
    args, needles = bad_arguments(declared, outside)[case]
    before = snapshot(declared, outside)
    assert_user_error(run_cli(*args, cwd=declared), *needles)
    assert snapshot(declared, outside) == before


def test_update_takes_a_template_by_its_file_name(declared: Path):
    out = run_cli("update", "--dry-run", "--template", "statuspage-identified.md", cwd=declared).ok().out
    assert "Checkout returns 500" in out


# --- a real small disk: read-only is the user's to fix (2), full is not (1) ---------------------------


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 1 MiB tmpfs of our own; skipped where mounting is not permitted."""
    point = tmp_path / "disk"
    point.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,mode=0755", "tmpfs", str(point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or 'mount failed'})")
    try:
        yield point
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(point)], capture_output=True)
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def fill(disk: Path) -> None:
    """Write until the filesystem has not one block left."""
    fd = os.open(disk / "filler", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for size in (65536, 4096, 512, 1):
            try:
                while True:
                    os.write(fd, b"\0" * size)
            except OSError:
                pass
    finally:
        os.close(fd)


def test_export_to_a_full_disk_says_so_and_leaves_nothing(declared: Path, small_disk: Path):
    fill(small_disk)
    before = snapshot(declared, small_disk)
    out = small_disk / "postmortem.md"
    line = assert_user_error(run_cli("export", "--out", str(out), cwd=declared), str(out), "nothing was written",
                             code=1)
    assert "internal error" not in line
    assert snapshot(declared, small_disk) == before  # no half-written file, no temp file
    os.unlink(small_disk / "filler")
    run_cli("export", "--out", str(out), cwd=declared).ok()  # and with room again, it works
    assert out.read_text().startswith("<!-- Post-mortem")


def test_export_to_a_read_only_folder_names_it(declared: Path, small_disk: Path):
    assert subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True).returncode == 0
    before = snapshot(declared, small_disk)
    out = small_disk / "postmortem.md"
    assert_user_error(run_cli("export", "--out", str(out), cwd=declared), str(out), "Read-only")
    assert snapshot(declared, small_disk) == before


def test_export_to_a_read_only_folder_without_root(declared: Path, tmp_path: Path):
    if os.geteuid() == 0:
        pytest.skip("root writes through a read-only mode; the tmpfs test covers this as root")
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o555)
    before = snapshot(declared, folder)
    assert_user_error(run_cli("export", "--out", str(folder / "pm.md"), cwd=declared), str(folder), "Permission")
    assert snapshot(declared, folder) == before


def longest_durations(declared: Path) -> None:
    """Every duration at the longest its key allows."""
    (declared / "ours.toml").write_text('[[level]]\nid = "P1"\nlabel = "Red"\nacknowledge_within = "365d"\n'
                                        'update_every = "365d"\nescalate_after = "365d"\npostmortem = "required"\n'
                                        'postmortem_within = "365d"\n')
    config = declared / "warroom.toml"
    config.write_text('severity_profile = "ours.toml"\n' + config.read_text().replace("severity_profile", "#")
                      + '\n[[escalation]]\nafter = "365d"\nto = "boss"\n'
                      + CHECK + 'every = "1d"\ntimeout = "1h"\nmax_latency = "1h"\n')


def test_the_longest_durations_allowed_work_in_every_command(declared: Path):
    """The bounds are safe: at 365 days nothing overflows."""
    longest_durations(declared)
    run_cli("log", "still here", cwd=declared).ok()
    assert "still here" in run_cli("export", "--out", "-", cwd=declared).ok().out
    assert "P1" in run_cli("report", cwd=declared).ok().out
    run_cli("update", "We are on it.", cwd=declared).ok()
    year = timedelta(days=365)
    before = datetime.now(timezone.utc) + year
    run_cli("status", "resolved", cwd=declared).ok()
    after = datetime.now(timezone.utc) + year
    document = run_cli("export", "--out", "-", cwd=declared).ok().out
    assert any(due.strftime("%Y-%m-%d") in document for due in (before, after))  # the post-mortem's deadline


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_the_longest_durations_allowed_work_in_the_console(declared: Path, clock):
    """Where the issue's escalation crashed the console: its countdown shows the far escalation."""
    from console_support import console_ready, open_room

    from warroom.ui.factory import make_app
    from warroom.ui.panes.countdown import CountdownPane

    longest_durations(declared)
    room = open_room(declared, clock)
    try:
        app = make_app(room, clock, start_sources=False, watch=False)
        async with app.run_test(size=(120, 40)) as pilot:
            await console_ready(pilot)
            await pilot.pause(1.2)  # a tick or two of the countdown
            shown = str(app.query_one(CountdownPane).render())
            assert "365d" in shown, shown
        assert app.return_code in (None, 0)
    finally:
        room.close()
