"""Crash: a writer logging as fast as it can is killed with SIGKILL at random moments.

Proves: every entry the writer reported as logged (Store.append returned, then it printed
the id) is in the file; `PRAGMA integrity_check` is ok; the console opens the file and
shows every one of those entries.

    make test                                  # 50 kills, 20-100 ms after each start (a few seconds)
    make soak                                  # 500 kills, 5-60 ms after each start
    .venv/bin/python -m pytest tests/reliability/test_crash.py -m soak
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
from pathlib import Path

import pytest
from reliability_support import (
    HERE,
    PYTHON,
    console_shows,
    env,
    event_ids,
    integrity,
    make_room,
    record,
)


def kill_writers(room_dir: Path, incident: str, kills: int, low: float, high: float, seed: int) -> tuple[set[str], int]:
    """Start a writer `kills` times and SIGKILL it after a random delay; -> (ids it reported, kills
    that landed while it was running)."""
    import time

    rng = random.Random(seed)
    server = subprocess.Popen([PYTHON, str(HERE / "writer.py"), str(record(room_dir)), incident],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env(), text=True, bufsize=1)
    reported: set[str] = set()
    landed = 0
    try:
        for _ in range(kills):
            server.stdin.write("spawn\n")
            server.stdin.flush()
            first = server.stdout.readline().split()
            assert first[:1] == ["pid"], f"writer server said {first!r}; stderr: {server.stderr.read()}"
            pid = int(first[1])
            time.sleep(rng.uniform(low, high))
            os.kill(pid, signal.SIGKILL)
            while True:
                line = server.stdout.readline()
                assert line, f"writer server ended early; stderr: {server.stderr.read()}"
                word, _, rest = line.strip().partition(" ")
                if word == "id":
                    reported.add(rest)
                elif word == "exit":
                    child, status = map(int, rest.split())
                    assert child == pid
                    assert os.WIFSIGNALED(status), f"the writer died on its own (status {status})"
                    landed += os.WTERMSIG(status) == signal.SIGKILL
                    break
        server.stdin.write("quit\n")
        server.stdin.flush()
        assert server.wait(timeout=30) == 0
        err = server.stderr.read()
        assert "Traceback" not in err, err
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return reported, landed


def check_after_kills(room_dir: Path, reported: set[str], kills: int) -> None:
    db = record(room_dir)
    assert integrity(db) == "ok"
    present = event_ids(db)
    lost = reported - present
    assert not lost, f"{len(lost)} entries reported as logged are missing, e.g. {sorted(lost)[:3]}"
    # Beyond those, at most one per kill (committed, killed before it could print) + the declaration.
    assert len(present - reported) <= kills + 1
    # Each entry's timeline row was committed with it: the derived rows match the events.
    from reliability_support import rows

    shown = {row[0] for row in rows(db, "select id from entries")}
    assert present <= shown
    rows = console_shows(room_dir, reported)
    assert rows >= len(reported) + 1  # + the declaration


def test_sigkill_at_random_moments_loses_nothing(tmp_path: Path):
    room_dir = tmp_path / "room"
    incident = make_room(room_dir)
    reported, landed = kill_writers(room_dir, incident, kills=50, low=0.02, high=0.1, seed=1)
    assert landed == 50
    assert len(reported) > 50, "the writers hardly wrote anything: the kills proved little"
    check_after_kills(room_dir, reported, 50)


@pytest.mark.soak
def test_soak_500_kills(tmp_path: Path):
    room_dir = tmp_path / "room"
    incident = make_room(room_dir)
    reported, landed = kill_writers(room_dir, incident, kills=500, low=0.005, high=0.06, seed=2)
    assert landed == 500
    check_after_kills(room_dir, reported, 500)
