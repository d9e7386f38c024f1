"""The shared record: merge, dump and the size of the committed file.

- merge two copies of 100,000 events each, sharing 50,000, with `merge_files` (validation of every
  incoming event, temp file + fsync + rename) against a plain sqlite3 ATTACH + INSERT OR IGNORE of
  the same rows, measured in the same run: target ratio <= 3;
- dump 100,000 events as canonical text (git's textconv) against reading the same rows with sqlite3;
- the committed file (checkpointed, and VACUUMed) against the raw size of its events' canonical text.
"""

from __future__ import annotations

import random
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from statistics import median

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Figure, median_of, timed  # noqa: E402

from warroom.record.events import STATUSES, Event, format_time  # noqa: E402
from warroom.share.dump import dump, dump_text  # noqa: E402
from warroom.share.exchange import merge_files, write_rows  # noqa: E402

RUNS = 5
SHARED = 50_000
EACH = 100_000
START_MS = 1_795_536_000_000

WORDS = ("db", "primary", "failover", "rolled back", "deploy", "p99", "latency", "error rate", "cache",
         "restarted", "worker", "queue", "backlog", "paged", "on-call", "customer", "tickets", "region",
         "eu-west", "timeout", "connection pool", "exhausted", "mitigated", "config", "flag", "disabled")


def _events(rng: random.Random, n: int) -> list[tuple]:
    """Realistic rows: many incidents, mostly timeline entries, some status/role/update/check events."""
    rows = []
    incidents: list[str] = []
    ms = START_MS
    for i in range(n):
        ms += rng.randint(1, 400)
        event_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        author = rng.choice(("alice", "bob", "carol", "dmitri", "erin"))
        at = format_time(datetime.fromtimestamp(ms / 1000, tz=timezone.utc))
        roll = rng.random()
        if not incidents or roll < 0.002:
            incidents.append(event_id)
            event = Event(event_id, event_id, f"{ms:013d}.00000", author, "incident.declared", at,
                          {"title": " ".join(rng.choices(WORDS, k=5)), "severity": rng.choice(("P1", "P2")),
                           "impact": " ".join(rng.choices(WORDS, k=8))})
        else:
            incident = rng.choice(incidents[-5:])
            if roll < 0.75:
                kind, body = "entry.logged", {"text": " ".join(rng.choices(WORDS, k=rng.randint(3, 30))),
                                              "type": rng.choice(("note", "note", "action", "decision"))}
            elif roll < 0.83:
                kind, body = "incident.status", {"status": rng.choice(STATUSES[:4])}
            elif roll < 0.87:
                kind, body = "role.assigned", {"role": "Scribe", "person": author}
            elif roll < 0.92:
                kind, body = "update.posted", {"text": " ".join(rng.choices(WORDS, k=70)),
                                               "template": "internal-update", "channel": ""}
            elif roll < 0.97:
                kind, body = "check.flipped", {"check": "api", "previous": "up", "current": "down",
                                               "reason": "HTTP 503 after 3.0 s"}
            else:
                kind, body = "action.added", {"text": " ".join(rng.choices(WORDS, k=8)), "owner": author,
                                              "due": "", "priority": "medium", "entry": ""}
            event = Event(event_id, incident, f"{ms:013d}.00000", author, kind, at, body)
        row = event.to_row()
        rows.append((row["id"], row["incident"], row["hlc"], row["author"], row["kind"], row["at"], row["body"]))
    return rows


def _build(path: Path, rows: list[tuple]) -> Path:
    """An exchange copy (the committed warroom.db) holding these rows, as warroom writes it."""
    write_rows(path, rows)
    return path


def _baseline(target: Path, theirs: Path) -> None:
    conn = sqlite3.connect(target)
    conn.execute("attach database ? as theirs", (str(theirs),))
    conn.execute("insert or ignore into main.events select * from theirs.events")
    conn.commit()
    conn.close()


def _read_rows(path: Path) -> None:
    conn = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)
    conn.execute("select id, incident, hlc, author, kind, at, body from events order by hlc, author, id").fetchall()
    conn.close()


def run() -> list[Figure]:
    rng = random.Random(6)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory(prefix="warroom-bench-sync-") as tmp:
        folder = Path(tmp)
        rows = _events(rng, SHARED + 2 * (EACH - SHARED))
        shared, ours_only, theirs_only = rows[:SHARED], rows[SHARED:EACH], rows[EACH:]
        ours = _build(folder / "ours.db", shared + ours_only)
        theirs = _build(folder / "theirs.db", shared + theirs_only)

        baseline_times, merge_times = [], []
        for _ in range(RUNS):
            for name in ("plain.db", "merged.db"):
                shutil.copyfile(ours, folder / name)
            baseline_times.append(timed(lambda: _baseline(folder / "plain.db", theirs)))
            merge_times.append(timed(lambda: merge_files(folder / "merged.db", theirs)))
        ours_ms, plain_ms = median(merge_times) * 1000, median(baseline_times) * 1000
        count = sqlite3.connect(folder / "merged.db").execute("select count(*) from events").fetchone()[0]
        assert count == 2 * EACH - SHARED, count
        figures.append(Figure("merge 2 x 100k events sharing 50k", ours_ms, "ms",
                              "sqlite3 ATTACH + INSERT OR IGNORE", plain_ms, "ratio <= 3",
                              ours_ms / plain_ms <= 3))

        dump_ms = median_of(3, lambda: timed(lambda: sum(1 for _ in dump(ours)))) * 1000
        read_ms = median_of(3, lambda: timed(lambda: _read_rows(ours))) * 1000
        figures.append(Figure("dump 100k events (canonical text)", dump_ms, "ms",
                              "sqlite3 read of the same rows", read_ms, "ratio <= 6",
                              dump_ms / read_ms <= 6))

        merged = folder / "merged.db"
        text_mb = len(dump_text(merged).encode("utf-8")) / 1e6
        committed_mb = merged.stat().st_size / 1e6
        figures.append(Figure("committed warroom.db, 150k events", committed_mb, "MB",
                              "canonical text of its events", text_mb, "ratio <= 2.5",
                              committed_mb / text_mb <= 2.5))
        conn = sqlite3.connect(merged)
        conn.execute("vacuum")
        conn.close()
        vacuumed_mb = merged.stat().st_size / 1e6
        figures.append(Figure("same file after VACUUM", vacuumed_mb, "MB", "canonical text of its events",
                              text_mb, "ratio <= 2.5", vacuumed_mb / text_mb <= 2.5))
    return figures


if __name__ == "__main__":
    started = time.perf_counter()
    for figure in run():
        print(f"{figure.name}: {figure.value:.4g} {figure.unit} vs {figure.limit:.4g} {figure.unit} "
              f"({figure.against}); ratio {figure.ratio:.2f}, target {figure.target}: "
              f"{'met' if figure.met else 'NOT met'}")
    print(f"took {time.perf_counter() - started:.0f} s")
