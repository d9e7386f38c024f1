"""The record: durable appends, and fold + export of a big incident.

1. Append 10,000 entries one by one through Store.append (each its own durable
   transaction: WAL, synchronous=FULL) against raw sqlite3 insert+commit of the
   same rows into the same schema with the same pragmas, measured in the same
   run. Figure: per-append p50, target ratio <= 2.
2. Load, fold and export (export.postmortem) one incident of 100,000 events.
   Target: under 1 s. The plain limit, reading the same rows with sqlite3, is
   shown alongside.
"""

from __future__ import annotations

import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Figure, percentile  # noqa: E402

from warroom import config as config_mod  # noqa: E402
from warroom.paths import DATA_DIR  # noqa: E402
from warroom.playbook import export  # noqa: E402
from warroom.record.clock import FrozenClock, format_hlc, to_ms  # noqa: E402
from warroom.record.events import Event, format_time, new_id  # noqa: E402
from warroom.record.fold import fold  # noqa: E402
from warroom.record.dbfile import create_record as create  # noqa: E402
from warroom.record.store import Store  # noqa: E402

APPENDS = 10_000
RUNS = 3
BIG = 100_000
START = datetime(2026, 11, 24, 14, 0, tzinfo=timezone.utc)


def _texts(n: int) -> list[str]:
    rnd = random.Random(7)
    words = "checkout error rate deploy rollback cache database replica latency p99 worker queue".split()
    return [" ".join(rnd.choice(words) for _ in range(rnd.randint(3, 14))) for _ in range(n)]


# --- 1. appends ----------------------------------------------------------------------------


def _append_ours(folder: Path, texts: list[str]) -> list[float]:
    path = folder / "ours.db"
    clock = FrozenClock(START)
    store = Store(path, clock=clock, author="bench", create_missing=True)
    store.append("incident.declared", None, {"title": "bench", "severity": "P1"}, at=format_time(START))
    incident = store.load().events[0].id
    laps = []
    for text in texts:
        clock.advance(0.01)
        began = time.perf_counter()
        store.append("entry.logged", incident, {"text": text, "type": "note"})
        laps.append(time.perf_counter() - began)
    store.close()
    return laps


def _append_raw(folder: Path, incident: str, texts: list[str]) -> list[float]:
    path = folder / "raw.db"
    create(path)  # same schema and indexes as ours
    conn = sqlite3.connect(path)
    conn.execute("pragma journal_mode=wal")
    conn.execute("pragma synchronous=full")
    rows = [Event(id=new_id(), incident=incident, hlc=format_hlc(to_ms(START) + i, 0), author="bench",
                  kind="entry.logged", at=format_time(START + timedelta(milliseconds=10 * i)),
                  body={"text": text, "type": "note"}).to_row() for i, text in enumerate(texts)]
    laps = []
    for row in rows:
        began = time.perf_counter()
        conn.execute("insert into events (id, incident, hlc, author, kind, at, body) values (?,?,?,?,?,?,?)",
                     (row["id"], row["incident"], row["hlc"], row["author"], row["kind"], row["at"], row["body"]))
        conn.commit()
        laps.append(time.perf_counter() - began)
    conn.close()
    return laps


def bench_append() -> list[Figure]:
    texts = _texts(APPENDS)
    ours, raw = [], []
    for _ in range(RUNS):
        # Interleaved, fresh folders: both sides see the same disk state and noise.
        with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
            raw.append(percentile(_append_raw(Path(tmp), new_id(), texts), 50) * 1000)
            ours.append(percentile(_append_ours(Path(tmp), texts), 50) * 1000)
    value, limit = statistics.median(ours), statistics.median(raw)
    return [Figure(name=f"store: append {APPENDS:,} entries, p50 per append", value=value, unit="ms",
                   against="raw sqlite3 insert+commit", limit=limit, target="ratio <= 2",
                   met=value <= 2 * limit)]


# --- 2. fold + export of 100k events -------------------------------------------------------


def _big_incident(path: Path) -> str:
    """One incident of BIG events, every kind the fold handles, written with executemany."""
    rnd = random.Random(11)
    texts = _texts(997)
    incident = new_id()
    ms = to_ms(START)
    events = [Event(id=incident, incident=incident, hlc=format_hlc(ms, 0), author="alice", kind="incident.declared",
                    at=format_time(START), body={"title": "Checkout returns 500", "severity": "P1",
                                                 "impact": "EU shoppers cannot pay"})]
    entries: list[str] = []
    actions: list[str] = []
    statuses = ["identified", "monitoring", "investigating"]
    for i in range(1, BIG):
        at = format_time(START + timedelta(milliseconds=100 * i))
        event_id = new_id()
        roll = rnd.random()
        author = ("alice", "bob", "carol")[i % 3]
        if roll < 0.80 or not entries:
            kind, body = "entry.logged", {"text": texts[i % len(texts)],
                                          "type": ("note", "action", "decision", "finding")[i % 4]}
            entries.append(event_id)
        elif roll < 0.88:
            kind, body = "entry.edited", {"target": rnd.choice(entries), "text": texts[(i * 7) % len(texts)]}
        elif roll < 0.90:
            kind, body = "entry.deleted", {"target": rnd.choice(entries)}
        elif roll < 0.93:
            kind, body = "check.flipped", {"check": "api", "previous": "up", "current": "down", "reason": "HTTP 500"}
        elif roll < 0.95:
            kind, body = "role.assigned", {"role": "Scribe", "person": author}
        elif roll < 0.96:
            kind, body = "incident.status", {"status": statuses[i % 3]}
        elif roll < 0.97:
            kind, body = "update.posted", {"text": texts[i % len(texts)], "template": "internal-update"}
        elif roll < 0.985:
            kind, body = "action.added", {"text": texts[i % len(texts)], "owner": author, "due": "2026-12-01",
                                          "priority": "medium"}
            actions.append(event_id)
        elif roll < 0.99 and actions:
            kind, body = "action.done", {"target": rnd.choice(actions)}
        else:
            kind, body = "command.ran", {"command": "kubectl get pods", "exit_code": 0, "output": "ok"}
        events.append(Event(id=event_id, incident=incident, hlc=format_hlc(ms + i, 0), author=author, kind=kind,
                            at=at, body=body))
    create(path)
    conn = sqlite3.connect(path)
    conn.executemany("insert into events (id, incident, hlc, author, kind, at, body) values "
                     "(:id, :incident, :hlc, :author, :kind, :at, :body)", (e.to_row() for e in events))
    conn.commit()
    conn.execute("pragma wal_checkpoint(truncate)")
    conn.close()
    return incident


def bench_fold_export() -> list[Figure]:
    config = config_mod.load(DATA_DIR / "demo" / "warroom.toml", environ={"DEMO_URL": "http://127.0.0.1:1"})
    now = START + timedelta(hours=4)
    with tempfile.TemporaryDirectory(prefix="warroom-bench-") as tmp:
        path = Path(tmp) / "big.db"
        incident = _big_incident(path)

        def ours() -> float:
            began = time.perf_counter()
            store = Store(path, author="bench")
            loaded = store.load(incident)
            state = fold(loaded.events, config.roles)
            text = export.postmortem(state.incidents[incident], config, now)
            store.close()
            elapsed = time.perf_counter() - began
            assert len(loaded.events) == BIG and not state.quarantined and len(text) > 1_000_000
            return elapsed * 1000

        def raw() -> float:
            began = time.perf_counter()
            conn = sqlite3.connect(path)
            rows = conn.execute("select rowid, id, incident, hlc, author, kind, at, body from events "
                                "where incident = ?", (incident,)).fetchall()
            conn.close()
            elapsed = time.perf_counter() - began
            assert len(rows) == BIG
            return elapsed * 1000

        def fold_export_only() -> float:
            # The figure: fold + export of events already in memory (the console's case:
            # it keeps the events and folds again on each change).
            store = Store(path, author="bench")
            loaded = store.load(incident)
            store.close()
            began = time.perf_counter()
            state = fold(loaded.events, config.roles)
            export.postmortem(state.incidents[incident], config, now)
            return (time.perf_counter() - began) * 1000

        raw()  # warm the page cache for both
        ours_ms = statistics.median(ours() for _ in range(RUNS))
        raw_ms = statistics.median(raw() for _ in range(RUNS))
        fold_ms = statistics.median(fold_export_only() for _ in range(RUNS))
    return [Figure(name=f"store: fold + export, {BIG:,} events", value=fold_ms, unit="ms",
                   against="1 s", limit=1000.0, target="< 1000 ms", met=fold_ms < 1000),
            Figure(name=f"store: load + fold + export, {BIG:,} events", value=ours_ms, unit="ms",
                   against=f"1 s (sqlite3 read alone: {raw_ms:.0f} ms)", limit=1000.0, target="< 1000 ms",
                   met=ours_ms < 1000)]


def run() -> list[Figure]:
    return bench_append() + bench_fold_export()


if __name__ == "__main__":
    for figure in run():
        print(figure)
