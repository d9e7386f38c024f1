"""The warroom command end to end: `python -m warroom` as a subprocess in a real war room."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import assert_user_error, run_cli
from markdown_it import MarkdownIt

from warroom.record.events import Event, format_time
from warroom.record.dbfile import SCHEMA_VERSION
from warroom.record.store import Store
from warroom.paths import record_path
from warroom.share import exchange

SHORT = re.compile(r"INC-[0-9a-f]{4,}")


def events(room: Path, kind: str | None = None) -> list[sqlite3.Row]:
    """The record's rows (.warroom/record.db), read as another process would."""
    conn = sqlite3.connect(record_path(room))
    conn.row_factory = sqlite3.Row
    sql = "select * from events" + (" where kind = ?" if kind else "") + " order by hlc"
    rows = conn.execute(sql, (kind,) if kind else ()).fetchall()
    conn.close()
    return rows


def expected_backdate(now: datetime, hhmm: str, zone: str) -> str:
    local = now.astimezone(ZoneInfo(zone))
    hour, minute = map(int, hhmm.split(":"))
    at = datetime.combine(local.date(), time(hour, minute), tzinfo=ZoneInfo(zone))
    if at > local + timedelta(minutes=1):
        at = datetime.combine(local.date() - timedelta(days=1), time(hour, minute), tzinfo=ZoneInfo(zone))
    return format_time(at)


def test_the_issue_scenario_end_to_end(tmp_path: Path):
    created = run_cli("init", "room", cwd=tmp_path).ok()
    assert "war room created" in created.out
    room = tmp_path / "room"
    for name in ("warroom.toml", "warroom.db", "runbooks", "templates", ".gitattributes"):
        assert (room / name).exists(), name

    def cli(*args: str, user: str = "alice", **env: str):
        return run_cli(*args, cwd=room, user=user, env=env or None)

    # Declared two hours ago, so that an HH:MM an hour ago falls inside the incident.
    began = datetime.now(timezone.utc) - timedelta(hours=2)
    declared = cli("declare", "Checkout returns 500", "--severity", "P1", "--impact", "EU shoppers cannot pay",
                   "--at", began.strftime("%Y-%m-%dT%H:%M:%SZ")).ok()
    short = SHORT.search(declared.out).group()
    assert "P1 Checkout returns 500" in declared.out and "IC alice" in declared.out
    cli("role", "ic", "alice").ok()
    said = cli("role", "scribe", "carol").ok()
    assert f"on {short} (Checkout returns 500)" in said.err  # says which incident it acted on
    logged = cli("log", "Rolled back deploy 4812", "--kind", "action", user="carol").ok()
    action_entry = re.search(r"logged ([0-9a-f]{8})", logged.out).group(1)

    before = datetime.now(timezone.utc)
    hhmm = (before - timedelta(hours=1)).astimezone(ZoneInfo("America/New_York")).strftime("%H:%M")
    cli("log", f"{hhmm} on-call acknowledged", "--at", hhmm, user="carol", TZ="America/New_York").ok()
    after = datetime.now(timezone.utc)
    backdated = [r for r in events(room, "entry.logged") if r["body"].find("on-call acknowledged") >= 0]
    assert len(backdated) == 1
    assert backdated[0]["at"] in {expected_backdate(before, hhmm, "America/New_York"),
                                  expected_backdate(after, hhmm, "America/New_York")}
    assert backdated[0]["author"] == "carol"

    cli("status", "identified").ok()
    cli("status", "resolved").ok()

    # Post-incident work acts on the incident just resolved.
    cli("set", "root_cause", "A deploy removed the connection pool limit").ok()
    added = cli("action", "add", "Add a canary stage", "--owner", "bob", "--due", "2026-12-01").ok()
    action_id = re.search(r"action item ([0-9a-f]{8})", added.out).group(1)
    listed = cli("action", "list").ok()
    assert action_id in listed.out and "bob" in listed.out and "2026-12-01" in listed.out
    cli("action", "done", action_id).ok()
    assert action_id not in cli("action", "list").ok().out
    assert re.search(rf"{action_id}.*done", cli("action", "list", "--all").ok().out)

    # Edits and deletions are new events; the history keeps the old text.
    cli("edit", action_entry, "Rolled back deploy 4812 to 4811").ok()
    shown = cli("show").ok().out
    assert "Rolled back deploy 4812 to 4811" in shown and short in shown
    assert "on-call acknowledged" in shown
    cli("delete", action_entry).ok()
    assert "Rolled back deploy" not in cli("show", short).ok().out
    cli("delete", action_entry, "--restore").ok()
    assert "Rolled back deploy 4812 to 4811" in cli("show").ok().out
    kinds = [r["kind"] for r in events(room)]
    assert kinds.count("entry.edited") == 1 and kinds.count("entry.deleted") == 1
    assert kinds.count("entry.restored") == 1
    assert any("Rolled back deploy 4812\"" in r["body"] for r in events(room, "entry.logged"))

    exported = cli("export", "--out", "postmortem.md").ok()
    assert "postmortem.md" in exported.out
    doc = (room / "postmortem.md").read_text()
    tokens = MarkdownIt("commonmark").enable("table").parse(doc)
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings[0] == "Post-mortem: Checkout returns 500"
    for heading in ("Summary", "Timeline", "Root cause", "Impact", "Resolution", "Action items",
                    "What went well", "What could be improved"):
        assert heading in headings
    assert "Rolled back deploy 4812 to 4811 (edited)" in doc
    assert "A deploy removed the connection pool limit" in doc
    assert re.search(r"\| Add a canary stage \| bob \| 2026-12-01 \| medium \| done \|", doc)
    assert "*(not written yet: what fixed it)*" in doc
    assert "EU shoppers cannot pay" in doc

    report = cli("report").ok().out
    assert re.search(rf"\| \d{{4}}-\d\d-\d\d \| {short} \| P1 \| Checkout returns 500 \|", report)
    p1 = next(line for line in report.splitlines() if line.startswith("| P1 | 1 |"))
    assert p1.count("|") == 6
    assert "MTTA" in report and "MTTR" in report

    assert "resolved" in cli("list").ok().out
    cli("status", "closed").ok()
    listed = cli("list").ok().out
    assert short in listed and "closed" in listed
    authors = {r["author"] for r in events(room)}
    assert authors == {"alice", "carol"}


def test_author_falls_back_to_git_user_name(room_dir: Path, tmp_path: Path):
    gitconfig = tmp_path / "gitconfig"
    gitconfig.write_text("[user]\n\tname = Gita Ops\n")
    env = {"GIT_CONFIG_GLOBAL": str(gitconfig)}
    run_cli("declare", "t", "--severity", "P2", cwd=room_dir, user="", env=env).ok()
    assert events(room_dir)[0]["author"] == "Gita Ops"


def test_several_open_incidents_take_the_newest_and_name_the_others(cli, room_dir: Path):
    first = SHORT.search(cli("declare", "Checkout down", "--severity", "P1").ok().out).group()
    second = SHORT.search(cli("declare", "Search slow", "--severity", "P3").ok().out).group()
    result = cli("log", "which one?").ok()
    # The one rule: the newest incident not closed; the others are named so nobody is misled.
    assert f"on {second} (Search slow)" in result.err and f"also not closed: {first} P1 Checkout down" in result.err
    cli("log", "this one", "--incident", first).ok()
    cli("log", "by uuid prefix", "--incident", events(room_dir)[0]["id"][:8]).ok()
    declares = events(room_dir, "incident.declared")
    by_title = {("Checkout down" if "Checkout" in r["body"] else "Search slow"): r["id"] for r in declares}
    assert second == "INC-" + by_title["Search slow"][:len(second) - 4]
    rows = {json.loads(r["body"])["text"]: r["incident"] for r in events(room_dir, "entry.logged")}
    assert rows == {"which one?": by_title["Search slow"], "this one": by_title["Checkout down"],
                    "by uuid prefix": by_title["Checkout down"]}
    # Resolved still counts as meant: the post-mortem work and the last update come after it.
    cli("status", "resolved").ok()
    assert "update recorded" in cli("update", "All clear").ok().out
    cli("status", "closed", "--checked", "").ok()
    assert f"on {first}" in cli("log", "back to the first").ok().err


def insert(room: Path, event: Event) -> None:
    with Store(record_path(room), author="x", create_missing=True) as store:
        store.conn.execute("begin immediate")
        store._insert([event])
        store.conn.execute("commit")


def test_short_ids_lengthen_on_a_clash(cli, room_dir: Path):
    for event_id, title in (("abcd1234-0000-4000-8000-000000000001", "first"),
                            ("abcd5678-0000-4000-8000-000000000002", "second")):
        insert(room_dir, Event(id=event_id, incident=event_id, hlc="1764000000000.00000", author="x",
                               kind="incident.declared", at="2026-11-24T14:00:00.000Z",
                               body={"title": title, "severity": "P2"}))
    listed = cli("list").ok().out
    assert "INC-abcd1 " in listed and "INC-abcd5 " in listed
    assert "INC-abcd " not in listed
    assert "second" in cli("show", "INC-abcd5").ok().out
    assert "first" in cli("show", "abcd1234").ok().out
    assert_user_error(cli("show", "INC-abcd"), "matches several incidents", "INC-abcd1", "INC-abcd5")
    cli("log", "on the first", "--incident", "INC-abcd1").ok()
    assert events(room_dir, "entry.logged")[0]["incident"].startswith("abcd1234")


# --- bad input: one clear line, exit status 2, no traceback -------------------------------


BAD_CONFIGS = {
    "malformed": ('severity_profile = "P1-P4\n', ["not valid TOML"]),
    "unknown keys": ('severity_level = "P1"\nchekcs = []\n', ["unknown keys", "chekcs", "severity_level"]),
    "bad duration": ('[[check]]\nname = "api"\nkind = "http"\nurl = "https://x"\ntimeout = "3 secs"\n',
                     ["check[0].timeout", "3 secs"]),
    "check without url": ('[[check]]\nname = "api"\nkind = "http"\n', ["check[0].url", "required"]),
}


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
def test_bad_config(cli, room_dir: Path, case: str):
    text, needles = BAD_CONFIGS[case]
    (room_dir / "warroom.toml").write_text(text)
    assert_user_error(cli("list"), str((room_dir / "warroom.toml").resolve()), *needles)


@pytest.mark.parametrize("args, needles", [
    (["declare", "t", "--severity", "P9"], ["'P9'", "P1, P2, P3, P4"]),
    (["log", "x", "--at", "25:99"], ["25:99", "HH:MM"]),
    (["log", "x", "--incident", "INC-0000"], ["INC-0000", "warroom list"]),
    (["show", "INC-ffff"], ["INC-ffff"]),
    (["status", "on-fire"], ["on-fire", "investigating"]),
    (["action", "add", "x", "--due", "friday"], ["friday"]),
    (["export", "--template", "missing.md"], ["missing.md"]),
])
def test_bad_arguments(cli, room_dir: Path, args: list[str], needles: list[str]):
    cli("declare", "Checkout down", "--severity", "P1").ok()
    count = len(events(room_dir))
    assert_user_error(cli(*args), *needles)
    assert len(events(room_dir)) == count  # nothing was recorded


def untouched(path: Path):
    before = (path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in path.parent.iterdir()))
    return lambda: (path.read_bytes(), path.stat().st_mtime_ns, sorted(p.name for p in path.parent.iterdir()))\
        == before


def test_text_file_as_db_is_refused_untouched(cli, tmp_path: Path):
    path = tmp_path / "notes" / "notes.txt"
    path.parent.mkdir()
    path.write_text("my notes\n")
    same = untouched(path)
    assert_user_error(cli("--db", str(path), "list"), str(path), "not an SQLite file")
    assert same()


def test_truncated_db_is_refused_untouched(cli, room_dir: Path, tmp_path: Path):
    cli("declare", "Checkout down", "--severity", "P1").ok()
    with Store(record_path(room_dir), author="x") as store:
        incident = store.load().events[0].id
        for i in range(300):
            store.append("entry.logged", incident, {"text": f"entry {i} " + "x" * 300, "type": "note"})
    exchange.write(record_path(room_dir), room_dir / "warroom.db")  # the shared copy, as sync writes it
    data = (room_dir / "warroom.db").read_bytes()
    path = tmp_path / "cut" / "warroom.db"
    path.parent.mkdir()
    path.write_bytes(data[: len(data) // 2])
    same = untouched(path)
    assert_user_error(cli("--db", str(path), "show"), str(path), "damaged")
    assert_user_error(cli("--db", str(path), "log", "x"), str(path), "damaged")
    assert same()


def test_foreign_sqlite_db_is_refused_untouched(cli, tmp_path: Path):
    path = tmp_path / "other" / "app.db"
    path.parent.mkdir()
    conn = sqlite3.connect(path)
    conn.execute("create table users (id integer primary key)")
    conn.commit()
    conn.close()
    same = untouched(path)
    assert_user_error(cli("--db", str(path), "list"), str(path), "not a warroom database")
    assert same()


def test_newer_schema_db_is_refused_untouched(cli, tmp_path: Path):
    path = tmp_path / "future" / "warroom.db"
    path.parent.mkdir()
    exchange.write_rows(path, [])  # a real exchange copy ...
    conn = sqlite3.connect(path)
    conn.execute("update meta set value = ? where key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    conn.commit()
    conn.close()  # ... from a newer version
    same = untouched(path)
    assert_user_error(cli("--db", str(path), "log", "x"), str(path), "newer warroom")
    assert same()


def test_outside_a_war_room(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert_user_error(run_cli("list", cwd=empty), "no warroom.toml", "warroom init")
    assert list(empty.iterdir()) == []


def test_dir_option_and_init_twice(tmp_path: Path, room_dir: Path):
    run_cli("--dir", str(room_dir), "declare", "elsewhere", "--severity", "P2", cwd=tmp_path).ok()
    assert "elsewhere" in run_cli("--dir", str(room_dir), "list", cwd=tmp_path).ok().out
    assert_user_error(run_cli("init", str(room_dir), cwd=tmp_path), "already a war room")


def test_export_with_the_war_rooms_own_template(cli, room_dir: Path):
    short = SHORT.search(cli("declare", "Checkout | down", "--severity", "P1").ok().out).group()
    cli("set", "root_cause", "# not a heading").ok()
    (room_dir / "templates" / "ours.md").write_text(
        "# {{incident_id}} review\n\nTitle: {{title}}\n\nCause: {{root_cause}}\n\nTeam: {{owning_team}}\n")
    out = cli("export", "--template", "templates/ours.md", "--out", "-").ok().out
    assert out.splitlines()[0] == f"# {short} review"
    assert "Title: Checkout \\| down" in out
    assert "Cause: \\# not a heading" in out
    assert "Team: {{owning_team}}" in out  # unknown placeholder left visible
    written = cli("export").ok()
    default = room_dir / "exports" / f"{short}-postmortem.md"
    assert str(default.name) in written.out and default.read_text().startswith("<!-- Post-mortem")


# --- every write path refuses what the fold would refuse (exit 2, one line, record unchanged) ----


def record_bytes(room: Path) -> list[tuple]:
    return [tuple(r) for r in events(room)]


@pytest.mark.parametrize("args, needles", [
    (["log", "x", "--at", "1969-12-31T23:59:59Z"], ["1969-12-31T23:59:59Z", "1970"]),
    (["log", "x", "--at", "9999-12-31T23:59:59"], ["9999-12-31T23:59:59", "8999"]),
    (["log", "x", "--at", "0001-01-01T00:00:00"], ["0001-01-01T00:00:00", "1970"]),
    (["ack", "--at", "9999-12-31T23:59:59"], ["9999-12-31T23:59:59"]),
    (["status", "identified", "--at", "1969-12-31T23:59:59Z"], ["1969-12-31T23:59:59Z"]),
    (["declare", "Another", "--severity", "P2", "--at", "0001-01-01T00:00:00"], ["0001-01-01T00:00:00"]),
    (["declare", "Another", "--severity", "P2", "--detected", "9999-12-31T23:59:59"], ["9999-12-31T23:59:59"]),
    (["set", "impact_started_at", "1969-12-31T23:59:59Z"], ["1969-12-31T23:59:59Z"]),
    (["log", "x", "--at", "2999-01-01T00:00:00Z"], ["future"]),
    (["declare", "t" * 65_537, "--severity", "P2"], ["title", "65537", "65536"]),
    (["set", "root_cause", "r" * 65_537], ["root_cause", "65537"]),
])
def test_write_paths_refuse_what_the_fold_would_refuse(cli, room_dir: Path, args: list[str], needles: list[str]):
    cli("declare", "Checkout down", "--severity", "P1").ok()
    before = record_bytes(room_dir)
    assert_user_error(cli(*args), *needles)
    assert record_bytes(room_dir) == before


def test_backdating_before_the_declaration_is_refused_naming_both_readings(cli, room_dir: Path):
    now = datetime.now(timezone.utc)
    declared_at = now - timedelta(minutes=30)
    cli("declare", "Checkout down", "--severity", "P1", "--at", declared_at.strftime("%Y-%m-%dT%H:%M:%SZ")).ok()
    before = record_bytes(room_dir)
    early = (declared_at - timedelta(minutes=20)).strftime("%H:%M")
    reading = (declared_at - timedelta(minutes=20)).strftime("%Y-%m-%d")
    for args in (["log", "x", "--at", early], ["status", "resolved", "--at", early], ["ack", "--at", early]):
        line = assert_user_error(cli(*args), f"--at {early}", reading, "before INC-", "began",
                                 declared_at.strftime("%H:%M"), f"--at {reading}T{early}")
        assert "nothing was written" in line
    assert record_bytes(room_dir) == before
    inside = (declared_at + timedelta(minutes=10)).strftime("%H:%M")
    if inside <= now.strftime("%H:%M"):  # not across midnight: today's reading is inside the incident
        cli("log", "inside the incident", "--at", inside).ok()
        cli("status", "resolved", "--at", inside).ok()


def test_a_pasted_stack_trace_is_kept_and_shown_whole(cli, room_dir: Path):
    cli("declare", "Worker crash loop", "--severity", "P2").ok()
    lines = [f'  File "/srv/app/worker.py", line {n}, in step_{n}' for n in range(1000)]
    trace = ("Traceback (most recent call last):\n" + "\n".join(lines))[:19_987] + "\nEND-OF-TRACE"
    assert len(trace) == 20_000
    cli("log", trace, "--kind", "finding").ok()
    [row] = events(room_dir, "entry.logged")
    assert json.loads(row["body"])["text"] == trace
    shown = cli("show").ok().out
    for line in trace.splitlines():
        assert line.strip() in shown
    doc = cli("export", "--out", "-").ok().out.replace("\\", "")  # markdown escapes aside
    cell = next(line for line in doc.splitlines() if "Traceback (most recent call last)" in line)
    assert cell.count("<br>") == trace.count("\n")
    for line in trace.splitlines():
        assert line.strip() in cell


@pytest.mark.parametrize("argv", [
    ["log", "a", "b", "--kind", "decision", "--at", "14:05"],
    ["--dir", "log", "log", "x"],  # the folder is named like a command
    ["--db", "x.db", "show"],
    ["action", "add", "fix it", "--owner", "me", "--due", "2026-12-09"],
    ["action"],
    ["declare", "Checkout down", "-s", "P1", "--impact", "all"],
    ["sync", "--no-push"],
    [],
])
def test_the_parser_of_one_command_reads_a_line_as_the_whole_parser_does(argv):
    """`warroom log` builds only its own subcommand's parser: it must read every command line
    exactly as the whole parser does."""
    from warroom.cli.main import _command_named, build_parser

    whole = vars(build_parser().parse_args(argv))
    one = vars(build_parser(only=_command_named(argv)).parse_args(argv))
    assert one == whole
