"""writer.py RECORD INCIDENT: a writer the crash test kills with SIGKILL, over and over.

A fork server, so each writer starts in a millisecond instead of an interpreter start:
this process imports warroom once and never opens the database itself. For each line
"spawn" on stdin it forks a child that opens RECORD (.warroom/record.db) with warroom.record.store.Store and appends
entry.logged events to INCIDENT as fast as it can, writing "id <uuid>" to stdout (one
os.write per line, so lines never interleave) only after Store.append has returned. This
process writes "pid <n>" when the child is started and "exit <n> <status>" once it has
been reaped, so every line the child wrote comes before its "exit" line. "quit" ends it.
"""

from __future__ import annotations

import os
import sys
import traceback

from warroom.record.clock import SystemClock
from warroom.record.store import Store


def child(db: str, incident: str) -> None:
    store = Store(db, clock=SystemClock(), author=f"writer-{os.getpid()}")
    n = 0
    while True:
        event = store.append("entry.logged", incident,
                             {"text": f"writer {os.getpid()} entry {n}: error rate at 30%", "type": "note"})
        os.write(1, f"id {event.id}\n".encode())
        n += 1


def main() -> None:
    db, incident = sys.argv[1], sys.argv[2]
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            return
        if command != "spawn":
            continue
        pid = os.fork()
        if pid == 0:
            try:
                child(db, incident)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(1)
        os.write(1, f"pid {pid}\n".encode())
        _, status = os.waitpid(pid, 0)
        os.write(1, f"exit {pid} {status}\n".encode())


if __name__ == "__main__":
    main()
