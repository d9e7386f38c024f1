"""The record at scale (issue 14): commands never wait on the record's history.

A war room of 10,000 incidents (one entry each) answers `warroom list` quickly, with short ids
that are unique prefixes; `warroom log` and `show` on one incident of a long record read only
that incident. Built fast: rows written straight into a real record, then its derived tables
derived once (`Store.rebuild_views`), as an upgrade would.
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from pathlib import Path

from conftest import run_cli

from warroom.record.clock import format_hlc
from warroom.record.store import Store
from warroom.paths import record_path

BASE_MS = 1_795_536_000_000  # 2026-11-24T15:00:00Z


def _at(ms: int) -> str:
    seconds = ms // 1000
    return (f"2026-11-{24 + seconds // 86400:02d}T{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:"
            f"{seconds % 60:02d}.{ms % 1000:03d}Z")


def build(room_dir: Path, incidents: int, entries_each: int = 1, seed: int = 14) -> list[str]:
    """`incidents` incidents of `entries_each` entries each, written in one transaction."""
    rng = random.Random(seed)
    ids: list[str] = []
    rows = []
    ms = 0
    for n in range(incidents):
        incident = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        ids.append(incident)
        ms += 7
        rows.append((incident, incident, format_hlc(BASE_MS + ms, 0), "alice", "incident.declared", _at(ms),
                     json.dumps({"title": f"incident number {n}", "severity": "P3"}), None))
        for k in range(entries_each):
            ms += 1
            entry = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            rows.append((entry, incident, format_hlc(BASE_MS + ms, 0), "alice", "entry.logged", _at(ms),
                         json.dumps({"text": f"entry {k} of {n}", "type": "note"}), None))
    with Store(record_path(room_dir), author="builder", create_missing=True) as store:
        store.conn.execute("begin immediate")
        store.conn.executemany("insert into events (id, incident, hlc, author, kind, at, body, target) "
                               "values (?,?,?,?,?,?,?,?)", rows)
        store.conn.execute("commit")
        store.rebuild_views()
    return ids


def test_list_over_ten_thousand_incidents(room_dir: Path):
    ids = build(room_dir, 10_000)
    run_cli("list", cwd=room_dir).ok()  # a first run warms the page cache, as a second command would
    began = time.perf_counter()
    listed = run_cli("list", cwd=room_dir).ok().out
    took = time.perf_counter() - began
    lines = listed.splitlines()
    assert len(lines) == 10_000
    shorts = [re.match(r"(INC-[0-9a-f]+) ", line).group(1) for line in lines]
    assert len(set(shorts)) == 10_000
    by_title = {int(re.search(r"incident number (\d+)$", line).group(1)): short for line, short in zip(lines, shorts)}
    for n, incident in enumerate(ids):  # each short id is a prefix of its incident's id, and unique
        assert incident.replace("-", "").startswith(by_title[n][4:])
    keys = sorted(i.replace("-", "") for i in ids)
    for short in shorts:
        prefix = short[4:]
        assert sum(1 for key in keys if key.startswith(prefix)) == 1
    # The issue measured 27.9 s; the target is under 1 s. A shared 2-core machine gets slack,
    # but a quadratic rule or a fold of every incident would be far beyond it.
    print(f"warroom list over 10,000 incidents: {took:.2f} s")
    assert took < 3.0, f"warroom list took {took:.2f} s"
    # Any of them can be named by its short id.
    for n in (0, 4_999, 9_999):
        shown = run_cli("show", by_title[n], cwd=room_dir).ok().out
        assert f"incident number {n}" in shown and f"entry 0 of {n}" in shown


def test_log_and_show_on_a_long_incident_read_only_that_incident(room_dir: Path):
    ids = build(room_dir, 300, entries_each=100)
    incident = ids[-1]
    short = None
    for line in run_cli("list", cwd=room_dir).ok().out.splitlines():
        if line.endswith("incident number 299"):
            short = line.split()[0]
    began = time.perf_counter()
    run_cli("log", "a line typed into a long record", "--incident", short, cwd=room_dir).ok()
    took = time.perf_counter() - began
    shown = run_cli("show", short, cwd=room_dir).ok().out
    assert "a line typed into a long record" in shown and "entry 99 of 299" in shown
    assert "entry 0 of 298" not in shown
    assert took < 3.0, f"warroom log took {took:.2f} s"
    with Store(record_path(room_dir), author="reader") as store:
        assert store.entry_count(incident) == 100 + 1 + 1  # its entries, the declaration, the new line
