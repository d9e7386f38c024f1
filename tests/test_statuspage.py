"""The static status page: built by `python -m warroom statuspage build` from a scripted
incident, read back the way its readers would (a real HTML parser, an XML parser for the
Atom feed, JSON Schema for the status API), hostile text in every field, bad input, the
atomic swap under a reader, --watch, and a headless browser where one is installed."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
import zlib
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import jsonschema
import pytest
from conftest import assert_user_error, cli_env, run_cli

from warroom.playbook import statuspage, statuspage_site
from warroom.record.clock import FrozenClock
from warroom.record.room import Room

SCHEMAS = Path(__file__).parent / "schemas"
ATOM = "{http://www.w3.org/2005/Atom}"
HOSTILE = "<script>alert(\"x\")</script> 'q' & &amp; ]]> --> <img src=x onerror=alert(1)>"
HOSTILE_NAME = 'Pay <script>alert(1)</script> "&" \'x\''
COMPONENTS = f"""
[[check]]
name = "api"
kind = "http"
url = "http://127.0.0.1:1/health"

[[check]]
name = "db"
kind = "http"
url = "http://127.0.0.1:1/db"

[[check]]
name = "mail"
kind = "http"
url = "http://127.0.0.1:1/mail"

[[component]]
name = {json.dumps(HOSTILE_NAME)}
description = {json.dumps("Cards " + HOSTILE[:60])}
checks = ["api", "db"]

[[component]]
name = "Email"
checks = ["mail"]
"""
ALLOWED_TAGS = {"html", "head", "meta", "title", "link", "style", "body", "main", "h1", "h2", "h3", "h4", "div",
                "span", "ul", "li", "article", "section", "p", "br", "strong", "footer", "a"}
ALLOWED_ATTRS = {"lang", "charset", "name", "content", "rel", "type", "title", "href", "class", "id", "aria-label"}


class Parsed(HTMLParser):
    """Every tag, attribute and text of a page, as a browser's tokenizer sees them."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.texts: list[str] = []
        self.by_id: dict[str, str] = {}
        self._open: list[tuple[str, str]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        ident = dict(attrs).get("id")
        if ident:
            self._open.append((tag, ident))
            self.by_id.setdefault(ident, "")

    def handle_endtag(self, tag):
        if self._open and self._open[-1][0] == tag:
            self._open.pop()

    def handle_data(self, data):
        self.texts.append(data)
        for _, ident in self._open:
            self.by_id[ident] += data

    @property
    def text(self) -> str:
        return "".join(self.texts)

    def having(self, tag: str, cls: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.tags if t == tag and cls in (a.get("class") or "").split()]


def make_room(tmp_path: Path) -> Path:
    run_cli("init", "room", cwd=tmp_path).ok()
    room = tmp_path / "room"
    with open(room / "warroom.toml", "a", encoding="utf-8") as config:
        config.write(COMPONENTS)
    return room


def script_incidents(room: Path) -> dict[str, str]:
    """Two incidents through the CLI: one resolved with an all-clear, one open; public and
    internal updates, timeline entries and check flips, hostile text everywhere."""
    def cli(*args: str):
        return run_cli(*args, cwd=room, user="carol").ok()

    old = re.search(r"INC-[0-9a-f]+", cli("declare", "Mail delayed " + HOSTILE, "--severity", "P3").out).group()
    cli("update", "Mail is slow " + HOSTILE, "-t", "statuspage-investigating", "-I", old)
    cli("status", "resolved", "-I", old)
    cli("update", "All clear " + HOSTILE, "-t", "all-clear", "-I", old)
    new = re.search(r"INC-[0-9a-f]+", cli("declare", "Checkout " + HOSTILE, "--severity", "P2").out).group()
    cli("log", "TIMELINE-ONLY-5521 " + HOSTILE, "-I", new)
    cli("update", "INTERNAL-ONLY-7731 " + HOSTILE, "-t", "internal-update", "-I", new)
    cli("update", "EMAIL-ONLY-1190", "-t", "email-detected", "-I", new)
    cli("update", "Investigating payments " + HOSTILE, "-t", "statuspage-investigating", "-I", new)
    cli("status", "identified", "-I", new)
    cli("update", "Found it " + HOSTILE + "\n\nNext update soon", "-t", "statuspage-identified", "-I", new)
    with Room.open(room / "warroom.toml", author="dan") as opened:
        incident = opened.incident(new)
        opened.record_flip(incident, "api", "up", "down", "HTTP 500 " + HOSTILE)
        opened.record_flip(incident, "db", "up", "degraded", "slow")
        opened.record_flip(incident, "mail", "up", HOSTILE, "a state no check has: ignored")
    return {"old": old, "new": new}


def validate(document: object, schema: str) -> None:
    jsonschema.Draft202012Validator(json.loads((SCHEMAS / schema).read_text())).validate(document)


def test_a_scripted_incident_builds_a_page_every_reader_takes(tmp_path: Path):
    room = make_room(tmp_path)
    ids = script_incidents(room)
    built = run_cli("statuspage", "build", "../site", "--title", "Shop " + HOSTILE, cwd=room).ok()
    site = tmp_path / "site"
    assert str(site / "index.html") in built.out and "1 open incident(s), 4 published update(s)" in built.out
    assert sorted(p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()) == [
        ".warroom-statuspage", "api/v2/status.json", "api/v2/summary.json", "history.atom", "index.html"]
    every = "".join(p.read_text() for p in site.rglob("*") if p.is_file())
    for internal in ("TIMELINE-ONLY-5521", "INTERNAL-ONLY-7731", "EMAIL-ONLY-1190", "carol", "dan"):
        assert internal not in every  # internal entries, updates and names never published

    # The status API, as a monitor polling it reads it.
    summary = json.loads((site / "api/v2/summary.json").read_text())
    status = json.loads((site / "api/v2/status.json").read_text())
    validate(summary, "statuspage-summary.schema.json")
    validate(status, "statuspage-status.schema.json")
    assert status["status"] == summary["status"] == {"indicator": "major", "description": "Partial System Outage"}
    assert [(c["name"], c["status"]) for c in summary["components"]] == [
        (HOSTILE_NAME, "partial_outage"), ("Email", "operational")]
    [incident] = summary["incidents"]  # only the open one
    assert incident["name"] == "Checkout " + HOSTILE and incident["impact"] == "major"
    assert incident["status"] == "identified" and incident["shortlink"] == f"index.html#{ids['new']}"
    assert [u["status"] for u in incident["incident_updates"]] == ["identified", "investigating"]
    assert incident["incident_updates"][0]["body"] == "Found it " + HOSTILE + "\n\nNext update soon"
    assert summary["page"]["name"] == "Shop " + HOSTILE

    # The page, as a browser's tokenizer reads it: no tag or attribute but the page's own.
    raw = (site / "index.html").read_text()
    page = Parsed(raw)
    assert {tag for tag, _ in page.tags} <= ALLOWED_TAGS
    assert {name for _, attrs in page.tags for name in attrs} <= ALLOWED_ATTRS
    assert "<script" not in raw and "<img" not in raw and "onerror=alert" not in raw.replace("onerror=alert(1)&gt;", "")
    assert not [a for t, a in page.tags if t == "link" and (a.get("href") or "").startswith(("http", "//"))]
    assert page.by_id["page-status"] == "Partial System Outage"
    assert [t for t, _ in page.tags].count("h1") == 1 and "Shop " + HOSTILE in page.text
    names = [a for t, a in page.tags if t == "li" and (a.get("id") or "").startswith("component-")]
    assert len(names) == 2
    assert len(page.having("span", "s-partial_outage")) >= 2  # the row's word and today's bar
    open_text = page.by_id[ids["new"]]
    assert open_text.index("Found it " + HOSTILE) < open_text.index("Investigating payments " + HOSTILE)
    assert "Mail delayed " + HOSTILE in page.by_id[ids["old"]] and "All clear " + HOSTILE in page.by_id[ids["old"]]
    assert page.text.index("Ongoing incidents") < page.text.index("Found it") < page.text.index("Past incidents")
    assert page.text.index("Past incidents") < page.text.index("Mail delayed")

    # The feed: Atom 1.0, one entry per published update, newest first.
    feed = ET.parse(site / "history.atom").getroot()
    assert feed.tag == f"{ATOM}feed"
    assert feed.find(f"{ATOM}id").text.startswith("urn:uuid:") and feed.find(f"{ATOM}author/{ATOM}name") is not None
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 4
    stamps = [e.find(f"{ATOM}updated").text for e in entries]
    assert stamps == sorted(stamps, reverse=True) and feed.find(f"{ATOM}updated").text == stamps[0]
    for entry in entries:
        assert entry.find(f"{ATOM}id").text.startswith("urn:uuid:")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", entry.find(f"{ATOM}updated").text)
        assert HOSTILE in entry.find(f"{ATOM}content").text and HOSTILE in entry.find(f"{ATOM}title").text
    assert len({e.find(f"{ATOM}id").text for e in entries}) == 4


def test_component_status_from_the_checks_latest_states(room_dir: Path, clock: FrozenClock):
    (room_dir / "warroom.toml").write_text(COMPONENTS, encoding="utf-8")
    with Room.open(room_dir / "warroom.toml", clock=clock, author="alice") as room:
        incident = room.head(room.declare("Checks", "P4").id)

        def statuses() -> list[str]:
            return [c.status for c in statuspage.collect(room, clock.now(), "S").components]

        assert statuses() == ["operational", "operational"]  # nothing recorded yet
        room.record_flip(incident, "db", "up", "degraded", "")
        assert statuses() == ["degraded_performance", "operational"]
        room.record_flip(incident, "api", "up", "down", "")
        assert statuses() == ["partial_outage", "operational"]
        clock.advance(seconds=1)
        room.record_flip(incident, "db", "degraded", "down", "")
        room.record_flip(incident, "mail", "up", "down", "")
        assert statuses() == ["major_outage", "major_outage"]
        clock.advance(days=1)
        room.record_flip(incident, "api", "down", "up", "")
        room.record_flip(incident, "db", "down", "up", "")
        page = statuspage.collect(room, clock.now(), "S")
        checkout = page.components[0]
        assert checkout.status == "operational" and len(checkout.days) == statuspage.HISTORY_DAYS
        # yesterday was a major outage, today began as one: each day shows its worst moment
        assert [s for _, s in checkout.days[-2:]] == ["major_outage", "major_outage"]
        assert {s for _, s in checkout.days[:-2]} == {"operational"}
        assert checkout.days[-1][0] == clock.now().date().isoformat()


@pytest.mark.parametrize(
    "severity, impact", [("P1", "critical"), ("P2", "major"), ("P3", "minor"), ("P4", "none")]
)
def test_impact_follows_the_severity_level(room_dir: Path, clock: FrozenClock, severity: str, impact: str):
    with Room.open(room_dir / "warroom.toml", clock=clock, author="alice") as room:
        incident = room.head(room.declare("Thing", severity).id)
        assert statuspage.collect(room, clock.now(), "S").incidents == []  # nothing published yet
        room.post_update(incident, "We are looking", template="statuspage-investigating")
        page = statuspage.collect(room, clock.now(), "S")
        assert [i.impact for i in page.incidents] == [impact] and page.indicator == impact
        assert page.description == statuspage.DESCRIPTIONS[impact]


def test_history_keeps_ninety_days(room_dir: Path, clock: FrozenClock):
    with Room.open(room_dir / "warroom.toml", clock=clock, author="alice") as room:
        for days_ago in (120, 80, 3):
            clock.set(FrozenClock("2026-11-24T15:00:00+00:00").now() - timedelta(days=days_ago))
            incident = room.head(room.declare(f"{days_ago} days ago", "P2").id)
            room.post_update(incident, "Looking", template="statuspage-investigating")
            clock.advance(minutes=30)
            room.set_status(incident, "resolved")
            room.post_update(incident, "Fixed", template="statuspage-resolved")
        clock.set(FrozenClock("2026-11-24T15:00:00+00:00").now())
        page = statuspage.collect(room, clock.now(), "S")
        assert [i.name for i in page.history] == ["3 days ago", "80 days ago"]
        assert page.incidents == [] and page.indicator == "none"
        assert [u.status for u in page.history[0].updates] == ["resolved", "investigating"]
        assert page.history[0].status == "resolved" and page.history[0].resolved_at


def test_bad_components_and_targets_are_refused_in_one_line(tmp_path: Path):
    room = make_room(tmp_path)
    config = room / "warroom.toml"
    good = config.read_text()
    config.write_text(good.replace('checks = ["mail"]', 'checks = ["mail", "nope"]'))
    line = assert_user_error(run_cli("statuspage", "build", "../site", cwd=room), "warroom.toml", "component[1].checks",
                             "'nope'", "api, db, mail")
    assert "Traceback" not in line
    config.write_text(good.replace('name = "Email"', 'name = "Email"\ncolour = "red"'))
    assert_user_error(run_cli("statuspage", "build", "../site", cwd=room), "component[1]", "colour")
    config.write_text(good)

    foreign = tmp_path / "home"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    assert_user_error(run_cli("statuspage", "build", str(foreign), cwd=room), str(foreign), "new or empty folder")
    assert [p.name for p in foreign.iterdir()] == ["notes.txt"]
    (tmp_path / "afile").write_text("x")
    assert_user_error(run_cli("statuspage", "build", str(tmp_path / "afile"), cwd=room), "not a folder")
    assert_user_error(run_cli("statuspage", "build", str(tmp_path / "no" / "site"), cwd=room), "does not exist")
    assert_user_error(run_cli("statuspage", "build", "../s", "--url", "javascript:alert(1)", cwd=room), "--url")
    assert_user_error(run_cli("statuspage", "build", "../s", "--title", "", cwd=room), "--title")
    assert not (tmp_path / "s").exists()


def test_a_rebuild_swaps_the_whole_site_and_keeps_what_is_not_its_own(room: Room, clock: FrozenClock,
                                                                       tmp_path: Path):
    site = tmp_path / "site"
    incident = room.head(room.declare("Swap", "P2").id)
    room.post_update(incident, "Looking", template="statuspage-investigating")
    statuspage_site.build(room, site, clock.now(), "S")
    (site / ".git").mkdir()
    (site / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (site / "CNAME").write_text("status.example\n")
    stop = threading.Event()
    problems: list[str] = []
    reads = [0]

    def reader() -> None:  # a web server reading while the page is rebuilt
        while not stop.is_set():
            try:
                html = (site / "index.html").read_text()
                summary = json.loads((site / "api/v2/summary.json").read_text())
            except (OSError, ValueError) as exc:
                problems.append(repr(exc))
                continue
            if not html.endswith("</html>\n") or "page" not in summary:
                problems.append("half a file")
            reads[0] += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for _ in range(30):
            clock.advance(seconds=61)
            statuspage_site.build(room, site, clock.now(), "S")
    finally:
        stop.set()
        thread.join()
    assert problems == [] and reads[0] > 0
    assert (site / ".git" / "HEAD").read_text() == "ref: refs/heads/main\n" and (site / "CNAME").is_file()
    assert json.loads((site / "api/v2/status.json").read_text())["page"]["updated_at"].startswith("2026-11-24T15:30")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".site")] == []  # no build left behind


def test_watch_rebuilds_when_the_record_changes(tmp_path: Path):
    room = make_room(tmp_path)
    run_cli("declare", "Watched", "--severity", "P2", cwd=room).ok()
    proc = subprocess.Popen([sys.executable, "-m", "warroom", "statuspage", "build", "../site", "--watch"], cwd=room,
                            env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    index = tmp_path / "site" / "index.html"
    try:
        deadline = time.monotonic() + 20
        while not index.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert index.exists()
        assert "FRESH-NEWS" not in index.read_text()
        time.sleep(0.5)  # the watcher is up once the first build is out; give it a moment
        run_cli("update", "FRESH-NEWS <b>", "-t", "statuspage-identified", cwd=room).ok()
        started = time.monotonic()
        while "FRESH-NEWS" not in index.read_text() and time.monotonic() - started < 15:
            time.sleep(0.05)
        assert "FRESH-NEWS &lt;b&gt;" in index.read_text()
        print(f"update to rebuilt page: {time.monotonic() - started:.2f} s")
        time.sleep(0.5)  # the page is swapped in before the build says so: let it say so
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and out.count("status page written") >= 2


def _browser() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


def _png_content_height(path: Path, background: tuple[int, int, int]) -> int:
    """The last pixel row that is not the page's background (PNG decoded by hand: RGB(A), 8 bit)."""
    data = path.read_bytes()
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert depth == 8 and colour in (2, 6)
    chunks, at = [], 8
    while at < len(data):
        size, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            chunks.append(data[at + 8:at + 8 + size])
        at += 12 + size
    raw = zlib.decompress(b"".join(chunks))
    step = 3 if colour == 2 else 4
    stride = width * step
    previous = bytearray(stride)
    last = 0
    for row in range(height):
        start = row * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 255
            elif kind == 2:
                line[i] = (line[i] + up) & 255
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 255
        if any(tuple(line[i:i + 3]) != background for i in range(0, stride, step)):
            last = row
        previous = line
    return last + 1


@pytest.mark.skipif(_browser() is None, reason="no Chromium here (chromium, chromium-browser or google-chrome): "
                    "the page's rendering is checked where one is installed")
def test_a_browser_renders_the_page(tmp_path: Path):
    room = make_room(tmp_path)
    script_incidents(room)
    run_cli("statuspage", "build", "../site", cwd=room).ok()
    browser = [_browser(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
               f"--user-data-dir={tmp_path / 'profile'}", "--window-size=800,2400"]
    url = (tmp_path / "site" / "index.html").as_uri()
    env = dict(os.environ, HOME=str(tmp_path))
    shot = tmp_path / "page.png"
    subprocess.run([*browser, f"--screenshot={shot}", url], env=env, capture_output=True, timeout=120, check=True)
    dom = subprocess.run([*browser, "--dump-dom", url], env=env, capture_output=True, text=True, timeout=120,
                         check=True).stdout
    height = _png_content_height(shot, (0xF6, 0xF7, 0xF9))
    # Two incidents, two components with their 90-day bars: more than a screenful of header,
    # well short of the window (nothing runs away), and the footer drawn.
    assert 700 < height < 2300, height
    text = re.sub(r"<[^>]+>", "", dom)
    assert "Partial System Outage" in text and "Ongoing incidents" in text and "Past incidents" in text
    assert "Found it &lt;script&gt;" in dom and "<script>alert" not in dom  # shown as text, never run


def test_the_demo_has_components_and_keeps_the_page_built_in_it(tmp_path: Path, monkeypatch, capsys):
    from warroom.demo.run import DEMO_EXPORTS, run_demo

    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setenv("DEMO_URL", "unset")
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    seen: dict[str, statuspage.Page] = {}

    def console(room: Room) -> int:  # what P does in the demo's console
        seen["page"] = statuspage_site.build(room, room.config.root / "exports" / "statuspage", room.clock.now(), "S")
        return 0

    assert run_demo(console=console) == 0
    page = seen["page"]
    assert [c.name for c in page.components] == ["Checkout and payments", "Accounts and order history"]
    assert len(page.incidents) == 1 and len(page.history) == 1 and page.indicator == "critical"
    kept = here / DEMO_EXPORTS / "statuspage"
    assert (kept / "index.html").is_file() and (kept / "api/v2/summary.json").is_file()
    assert f"The demo's exports are kept in {(here / DEMO_EXPORTS).resolve()}: statuspage/" in capsys.readouterr().out
