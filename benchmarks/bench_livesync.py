"""The war room across machines (issue 19): a team syncing at once, and live consoles.

Real git: a bare origin in a temp folder holding a war room with one open incident, and
clones of it.

1. Twenty clones each log 5 entries (Room.log, each clone its own author), then all twenty run
   `python -m warroom sync` at the same moment (threads released by one barrier), round after
   round until every clone's record holds all 100 entries (at most 4 rounds). Figures: the
   rounds it took (target <= 2) and the seconds (the rounds' wall times added), beside one
   `warroom sync` on its own; and the syncs that failed or said "rejected" (target 0).

2. Two consoles on two more clones, both syncing in the background every INTERVAL seconds
   (`sync_every` set on the room's config, as tests/test_livesync.py does). The typist's
   console runs here (make_app + run_test, headless); the other runs in a process of its own
   (this file with --observe) and reports, on CLOCK_MONOTONIC (one clock for every process of
   the machine), when each entry's row is in its timeline's DataTable. ENTRIES entries, each
   typed at a random moment of the sync cycle (0 to INTERVAL s after the previous one showed).
   Figure: Enter to the row in the other console, p99 (p50 beside it), against INTERVAL + 2 s
   + one sync round, the round measured in this run (Room.open + sync.sync, in-process, after
   logging one entry: what the background thread does; median of 3).

Run: .venv/bin/python benchmarks/run.py livesync   (or this file directly)
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from common import SIZE, Figure, cli_env, percentile, ready, scratch, send, settle, wait_for  # noqa: E402

CLONES = 20
PER_CLONE = 5
MAX_ROUNDS = 4
INTERVAL = 2.0
ENTRIES = 10
SYNC_RUNS = 3
GIT_ENV = {"GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.invalid",
           "GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.invalid"}
PREFIX = "live "


def _env(tmp: Path, user: str) -> dict[str, str]:
    return {**cli_env(tmp), **GIT_ENV, "WARROOM_USER": user}


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, env={**os.environ, **GIT_ENV})


def _warroom(tmp: Path, cwd: Path, *args: str, user: str = "bench") -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "warroom", *args], cwd=cwd, capture_output=True, text=True,
                          env=_env(tmp, user), timeout=300)


def _origin(tmp: Path) -> Path:
    """A bare origin holding a war room with one open incident."""
    bare = tmp / "origin.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    first = tmp / "first"
    for args, cwd in ((("init", str(first)), tmp), (("declare", "Checkout down", "--severity", "P1"), first)):
        if args[0] == "declare":
            _git(first, "init", "-q", "-b", "main")
            _git(first, "remote", "add", "origin", str(bare))
        done = _warroom(tmp, cwd, *args, user="ic")
        assert done.returncode == 0, done.stderr
    done = _warroom(tmp, first, "sync", user="ic")
    assert done.returncode == 0, done.stderr
    return bare


def _clone(origin: Path, where: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(origin), str(where)], check=True, capture_output=True,
                   env={**os.environ, **GIT_ENV})
    return where


def _entries(folder: Path) -> int:
    """The clones' entries as another process reads the record."""
    from warroom.paths import record_path

    conn = sqlite3.connect(f"file:{record_path(folder)}?mode=ro", uri=True)
    try:
        return conn.execute("select count(distinct id) from events where kind = 'entry.logged' and "
                            "json_extract(body, '$.text') like 'clone % entry %'").fetchone()[0]
    finally:
        conn.close()


# --- 1. twenty clones ------------------------------------------------------------------------


def bench_twenty(tmp: Path, origin: Path) -> list[Figure]:
    from warroom.record.room import Room

    clones = [_clone(origin, tmp / f"c{n}") for n in range(CLONES)]
    for n, folder in enumerate(clones):
        with Room.open(folder / "warroom.toml", author=f"user{n}") as room:
            incident = room.incident()
            for k in range(PER_CLONE):
                room.log(incident, f"clone {n} entry {k}")
    # one sync on its own, for scale: a clone's first (it sends its 5 entries and takes in nothing new)
    alone = tmp / "alone"
    _clone(origin, alone)
    began = time.perf_counter()
    done = _warroom(tmp, alone, "sync", user="alone")
    alone_s = time.perf_counter() - began
    assert done.returncode == 0, done.stderr

    def round_of_syncs() -> tuple[float, list[subprocess.CompletedProcess]]:
        results: list = [None] * CLONES
        barrier = threading.Barrier(CLONES + 1)

        def run(index: int) -> None:
            barrier.wait()
            results[index] = _warroom(tmp, clones[index], "sync", user=f"user{index}")

        threads = [threading.Thread(target=run, args=(i,)) for i in range(CLONES)]
        for thread in threads:
            thread.start()
        barrier.wait()
        began = time.perf_counter()
        for thread in threads:
            thread.join()
        return time.perf_counter() - began, results

    want = CLONES * PER_CLONE
    seconds, bad, rounds, converged = 0.0, 0, 0, False
    while rounds < MAX_ROUNDS and not converged:
        took, results = round_of_syncs()
        rounds += 1
        seconds += took
        bad += sum(1 for r in results if r.returncode != 0 or "rejected" in (r.stdout + r.stderr).lower())
        converged = all(_entries(folder) == want for folder in clones)
    held = min(_entries(folder) for folder in clones)
    return [
        Figure(name=f"{CLONES} clones syncing at once: rounds to converge", value=rounds, unit="",
               against=f"2 rounds (fewest held: {held}/{want})", limit=2.0, target="<= 2",
               met=converged and rounds <= 2),
        Figure(name=f"{CLONES} clones syncing at once: seconds to converge", value=seconds, unit="s",
               against=f"{CLONES} x one `warroom sync` alone ({alone_s:.2f} s)", limit=CLONES * alone_s,
               target="(reported)", met=converged),
        Figure(name=f"{CLONES} clones syncing at once: failed or rejected", value=bad, unit="",
               against=f"0 (of {CLONES * rounds} syncs)", limit=0.0, target="= 0", met=bad == 0),
    ]


# --- 2. console to console -------------------------------------------------------------------


def _one_round(tmp: Path, folder: Path) -> float:
    """What the background thread does once: open the record, sync (after one new entry)."""
    from warroom.share import sync
    from warroom.record.room import Room

    with Room.open(folder / "warroom.toml", author="alice") as room:
        room.log(room.incident(), "a round's worth")
    began = time.perf_counter()
    with Room.open(folder / "warroom.toml", author="alice") as room:
        sync.sync(room)
    return time.perf_counter() - began


class Observer:
    """The other console, in a process of its own; what it saw, by text, on CLOCK_MONOTONIC."""

    def __init__(self, tmp: Path, folder: Path) -> None:
        self.seen: dict[str, float] = {}
        self.ready = threading.Event()
        self.proc = subprocess.Popen([sys.executable, __file__, "--observe", str(folder), str(INTERVAL)],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=_env(tmp, "bob"))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                continue
            if message.get("ready"):
                self.ready.set()
            elif "seen" in message:
                self.seen.setdefault(message["seen"], message["at"])

    def stop(self) -> None:
        try:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=15)
        except Exception:
            self.proc.kill()
            self.proc.wait()


async def _type_and_watch(folder: Path, observer: Observer, rng: random.Random) -> list[float]:
    from warroom.record.room import Room
    from common import console_app

    room = Room.open(folder / "warroom.toml", author="alice")
    object.__setattr__(room.config, "sync_every", INTERVAL)
    laps: list[float] = []
    with console_app(room, watch=True, sync=True) as app:
        async with app.run_test(size=SIZE):
            await ready(app)
            await wait_for(lambda: app.live is not None and app.live.status.last is not None, 60,
                           "the typist's first background sync", step=0.05)
            await wait_for(lambda: observer.ready.is_set() or observer.proc.poll() is not None, 120,
                           "the other console", step=0.05)
            if observer.proc.poll() is not None:
                raise RuntimeError(f"the other console ended: {observer.proc.stderr.read()[-3000:]}")
            send(app, "n")
            await wait_for(lambda: app.focused is not None and app.focused.id == "entry-input", 10, "`n` focus")
            entry_input = app.focused
            for k in range(ENTRIES):
                await asyncio.sleep(rng.uniform(0, INTERVAL))  # anywhere in the other's sync cycle
                text = f"{PREFIX}{k:02d}: pool saturated on db-2"
                entry_input.value = text
                typed = time.monotonic()
                send(app, "enter")
                await wait_for(lambda: text in observer.seen or observer.proc.poll() is not None,
                               INTERVAL + 60, f"{text!r} in the other console", step=0.02)
                if text not in observer.seen:
                    raise RuntimeError(f"the other console ended: {observer.proc.stderr.read()[-3000:]}")
                laps.append(observer.seen[text] - typed)
            await settle(app)
    return laps


def bench_consoles(tmp: Path, origin: Path) -> list[Figure]:
    one, two = _clone(origin, tmp / "one"), _clone(origin, tmp / "two")
    for folder, user in ((one, "alice"), (two, "bob")):
        done = _warroom(tmp, folder, "sync", user=user)
        assert done.returncode == 0, done.stderr
    round_s = statistics.median(_one_round(tmp, one) for _ in range(SYNC_RUNS))
    saved = {name: os.environ.get(name) for name in GIT_ENV}
    os.environ.update(GIT_ENV)  # the typist's background sync commits in-process
    observer = Observer(tmp, two)
    try:
        laps = asyncio.run(_type_and_watch(one, observer, random.Random(19)))
    finally:
        observer.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    p50, p99 = percentile(laps, 50), percentile(laps, 99)
    limit = INTERVAL + 2 + round_s
    return [Figure(name=f"entry typed to row in another console, p99 (n={len(laps)})", value=p99, unit="s",
                   against=f"interval {INTERVAL:g} s + 2 s + one round {round_s:.2f} s (p50 {p50:.2f})",
                   limit=limit, target="<= limit", met=p99 <= limit)]


def run() -> list[Figure]:
    with scratch() as tmp:
        origin = _origin(tmp)
        return bench_twenty(tmp, origin) + bench_consoles(tmp, origin)


# --- the other console (a process of its own) -------------------------------------------------


def _say(**message) -> None:
    os.write(1, (json.dumps(message) + "\n").encode())  # past whatever Textual does with sys.stdout


async def _observe(folder: Path, every: float) -> None:
    from warroom.record.room import Room
    from common import console_app

    room = Room.open(folder / "warroom.toml", author="bob")
    object.__setattr__(room.config, "sync_every", every)
    with console_app(room, watch=True, sync=True) as app:
        async with app.run_test(size=SIZE):
            await ready(app)
            from warroom.ui.panes.timeline import TimelinePane

            timeline = app.query_one(TimelinePane)
            apply_rows, show_page = timeline.apply_rows, timeline.show_page

            def seen(entries) -> None:
                now = time.monotonic()
                for entry in entries:
                    if entry.text.startswith(PREFIX) and entry.id in timeline.rows:
                        _say(seen=entry.text, at=now)

            def hooked_apply(incident_id, changed, total):
                apply_rows(incident_id, changed, total)
                seen(changed.values())

            def hooked_page(incident_id, entries, has_older, total):
                show_page(incident_id, entries, has_older, total)
                seen(entries)

            timeline.apply_rows, timeline.show_page = hooked_apply, hooked_page
            await wait_for(lambda: app.live is not None and app.live.status.last is not None, 60,
                           "the first background sync", step=0.05)
            _say(ready=True)
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, sys.stdin.read)  # until the typist's side closes it


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--observe":
        os.environ.update(GIT_ENV)
        asyncio.run(_observe(Path(sys.argv[2]), float(sys.argv[3])))
    else:
        for figure in run():
            print(figure)
