"""Typing (issue 12): nothing typed is lost, and no line waits on the disk.

The real console (make_app + run_test, headless, 120x40) on a war room with an incident in
progress, while another process logs to the same record in a loop (a teammate's `warroom log`
every 10 ms, as tests/test_typing.py `other_writer` does). The scribe presses `n` and types:

1. At full speed: 200 lines, every key event of them queued through the app's driver at once,
   before the app reads the first (a paste sent as keystrokes, tmux send-keys; as
   tests/test_typing.py `send()` does). Three runs, each a fresh console on the same record.
2. As a fast typist: 12 keys a second (each gap drawn from 55-110 ms), 16 short lines a run,
   three runs.

For every line, three moments, stamped with time.perf_counter():
- Enter: when the input acts on the line's Enter (EntryInput._submit: the line is queued).
  At full speed every key was sent at the start, so the moment the key was sent says nothing
  about the line; the moment the app reads its Enter does. For the typist, Enter is the
  moment the key was sent (it includes the app's own queue).
- durable: when the recorder's on_done runs for the line: its transaction has committed
  (WAL, synchronous=FULL).
- row: when the line's row is in the timeline's DataTable (TimelinePane.apply_rows or
  show_page has added it).

Figures: Enter-to-durable and Enter-to-row p99 (p50 beside it), median over the runs;
target p99 < 50 ms. Beside them, measured in the same run: one Store.append on its own
(a durable commit on this disk, with the other writer running). And the count of lines lost,
merged, split, repeated or out of order, in the record and on screen, over every run:
target 0. The full-speed burst's drain rate (keys handled per second) is reported.

Run: .venv/bin/python benchmarks/run.py typing   (or this file directly)
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import (SIZE, Figure, Stamps, console_app, other_writer, percentile, ready, scratch,  # noqa: E402
                    send, settle, wait_for)

BURST_LINES = 200
BURST_RUNS = 3
TYPIST_LINES = 16
TYPIST_RUNS = 3
TYPIST_GAP = (0.055, 0.110)  # seconds between keys: 12 keys/s on average
SCRIBE = "scribe"
TARGET_MS = 50.0


def _make_room(folder: Path) -> Path:
    """A war room with an incident in progress (declared, acknowledged, a few entries)."""
    from warroom.record.room import Room
    from warroom.share.setup import init

    init(folder)
    with Room.open(folder / "warroom.toml", author="ic") as room:
        event = room.declare("Checkout returns 500", "P1", "EU shoppers cannot pay")
        incident = room.head(event.id)
        room.acknowledge(incident)
        room.assign(incident, "tl", "bob")
        for i in range(20):
            room.log(incident, f"earlier {i}: error rate on /checkout above 20%", "finding")
    return folder


def _open(folder: Path):
    from warroom.record.room import Room

    return Room.open(folder / "warroom.toml", author=SCRIBE)


def _keys(texts: list[str]) -> list[str]:
    keys: list[str] = []
    for text in texts:
        keys += [*text, "enter"]
    return keys


async def _session(folder: Path, texts: list[str], typist: bool, rng: random.Random) -> tuple[Stamps, dict]:
    """One console: `n`, then `texts` typed (all at once, or at a typist's pace)."""
    stamps = Stamps(texts)
    sent: dict[str, float] = {}
    info: dict = {}
    with console_app(_open(folder), watch=True) as app:
        async with app.run_test(size=SIZE):
            await ready(app)
            stamps.hook(app)
            send(app, "n")
            await wait_for(lambda: app.focused is not None and app.focused.id == "entry-input", 10, "`n` focus")
            began = time.perf_counter()
            if not typist:
                keys = _keys(texts)
                send(app, *keys)
                info["keys"] = len(keys)
            else:
                for text in texts:
                    for key in [*text, "enter"]:
                        await asyncio.sleep(rng.uniform(*TYPIST_GAP))
                        if key == "enter":
                            sent[text] = time.perf_counter()
                        send(app, key)
            await wait_for(lambda: len(stamps.row) >= len(texts) or stamps.errors, 120, "every typed row",
                           step=0.005)
            info["drain_s"] = max(stamps.enter.values(), default=began) - began
            await settle(app)
            from warroom.ui.panes.timeline import TimelinePane

            timeline = app.query_one(TimelinePane)
            prefix = texts[0].split()[0] + " " if typist else texts[0].split("-")[0] + "-"  # "t1 ", "line 1-"
            on_screen = [e.text for e in sorted(timeline.rows.values(), key=lambda e: (e.at, e.hlc, e.id))
                         if e.author == SCRIBE and e.text.startswith(prefix)]
            info["on_screen"] = on_screen
            info["pending"] = len(timeline.pending)
    info["sent"] = sent
    return stamps, info


def _recorded(folder: Path) -> list[str]:
    """The scribe's entries as another process reads the record, in the order logged."""
    from warroom.paths import record_path

    conn = sqlite3.connect(f"file:{record_path(folder)}?mode=ro", uri=True)
    try:
        rows = conn.execute("select json_extract(body, '$.text') from events where kind = 'entry.logged' "
                            "and author = ? order by hlc, id", (SCRIBE,)).fetchall()
    finally:
        conn.close()
    return [row[0] for row in rows]


def faults(expected: list[str], got: list[str]) -> int:
    """Lines lost, repeated, merged or split (texts that were never typed), and lines out of order."""
    want, have = Counter(expected), Counter(got)
    lost = sum((want - have).values())
    extra = sum((have - want).values())  # repeated, or a merge or split of typed lines
    index = {text: i for i, text in enumerate(expected)}
    order = [index[t] for t in got if t in index]
    misordered = sum(1 for a, b in zip(order, order[1:]) if b < a)
    return lost + extra + misordered


def _store_alone(folder: Path, n: int = 200) -> list[float]:
    """One Store.append on its own, n times, into the same record while the other writer runs."""
    from warroom.paths import record_path
    from warroom.record.store import Store

    laps = []
    with Store(record_path(folder), author="probe") as store:
        incident = store.conn.execute("select id from incidents limit 1").fetchone()[0]
        for i in range(n):
            began = time.perf_counter()
            store.append("entry.logged", incident, {"text": f"probe {i}", "type": "note"})
            laps.append((time.perf_counter() - began) * 1000)
            time.sleep(0.002)
    return laps


def _texts(run: int, n: int, typist: bool) -> list[str]:
    if typist:
        return [f"t{run} n{k:02d} ok" for k in range(n)]  # short lines: 11 keys each
    return [f"line {run}-{k:03d}: error rate on /checkout at {k % 30}%" for k in range(n)]


def run() -> list[Figure]:
    rng = random.Random(12)
    with scratch() as tmp:
        folder = _make_room(tmp / "room")
        writer = other_writer(folder)
        try:
            time.sleep(0.5)
            if writer.poll() is not None:
                raise RuntimeError(f"the other writer died: {writer.stderr.read().decode()[-2000:]}")
            alone = _store_alone(folder)
            expected: list[str] = []
            on_screen_faults = 0
            burst_durable, burst_row, burst_rates = [], [], []
            for n in range(BURST_RUNS):
                texts = _texts(n, BURST_LINES, typist=False)
                stamps, info = asyncio.run(_session(folder, texts, typist=False, rng=rng))
                if stamps.errors:
                    raise RuntimeError(f"lines refused: {stamps.errors[:3]}")
                expected += texts
                on_screen_faults += faults(texts, info["on_screen"]) + info["pending"]
                durable, row = stamps.laps()
                burst_durable.append(durable)
                burst_row.append(row)
                burst_rates.append(info["keys"] / max(info["drain_s"], 1e-9))
            typist_durable, typist_row = [], []
            for n in range(TYPIST_RUNS):
                texts = _texts(n, TYPIST_LINES, typist=True)
                stamps, info = asyncio.run(_session(folder, texts, typist=True, rng=rng))
                if stamps.errors:
                    raise RuntimeError(f"lines refused: {stamps.errors[:3]}")
                expected += texts
                on_screen_faults += faults(texts, info["on_screen"]) + info["pending"]
                durable, row = stamps.laps(since=info["sent"])
                typist_durable.append(durable)
                typist_row.append(row)
        finally:
            writer.kill()
            writer.wait()
        other = sqlite3.connect(f"file:{folder / '.warroom' / 'record.db'}?mode=ro", uri=True)
        bob = other.execute("select count(*) from events where author = 'bob'").fetchone()[0]
        other.close()
        record_faults = faults(expected, _recorded(folder))

    def p(runs: list[list[float]], pct: float) -> float:
        return statistics.median(percentile(laps, pct) for laps in runs)

    alone50, alone99 = percentile(alone, 50), percentile(alone, 99)
    disk = f"Store.append alone p99 {alone99:.1f} ms"
    figures = []
    for label, runs_durable, runs_row, lines in (
            (f"{BURST_LINES} lines at full speed", burst_durable, burst_row, BURST_LINES),
            (f"typist 12 keys/s, {TYPIST_LINES} lines", typist_durable, typist_row, TYPIST_LINES)):
        for what, runs in (("durable", runs_durable), ("row", runs_row)):
            value = p(runs, 99)
            figures.append(Figure(name=f"typing, {label}: Enter to {what}, p99", value=value, unit="ms",
                                  against=f"50 ms (p50 {p(runs, 50):.1f}; {disk})", limit=TARGET_MS,
                                  target="< 50 ms", met=value < TARGET_MS))
    figures.append(Figure(name=f"typing: full-speed burst drained, keys/s", value=statistics.median(burst_rates),
                          unit="k/s", against="a fast typist, 12 keys/s", limit=12.0, target="(reported)",
                          met=True))
    bad = record_faults + on_screen_faults
    figures.append(Figure(name=f"typing: lines lost/merged/repeated ({len(expected)})", value=bad, unit="",
                          against=f"0 (other writer logged {bob})", limit=0.0, target="= 0", met=bad == 0))
    return figures


if __name__ == "__main__":
    for figure in run():
        print(figure)
