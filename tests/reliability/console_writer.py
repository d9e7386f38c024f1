"""console_writer.py ROOM SECONDS TAG: a console's write path without a screen.

Opens the war room as the console does (Room.open) and logs typed lines through the
console's own Recorder thread (room.log_typed, one job per line, as the timeline input
does) for SECONDS, with the 1 s reload poll the console runs. Prints "ok <text>" once a
line is durable (the job's on_done) and "error <message>" for anything the console would
have shown as an error notification. Exits 0 unless something went wrong.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from warroom.record.room import Room
from warroom.ui.controllers.recorder import Recorder


def main() -> int:
    folder, seconds, tag = Path(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
    room = Room.open(folder / "warroom.toml", author=tag)
    errors: list[str] = []
    lock = threading.Lock()

    def say(line: str) -> None:
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def on_error(message: str, job) -> None:
        errors.append(message)
        say(f"error {message}")

    recorder = Recorder(room, on_delta=lambda delta: None, on_error=on_error,
                        pick=lambda summaries: summaries[0].id if summaries else None)
    recorder.start()
    recorder.reload()
    incident = None
    deadline = time.monotonic() + seconds
    last_poll = time.monotonic()
    n = 0
    try:
        while time.monotonic() < deadline:
            if incident is None:
                recorder.wait_idle(30)
                incident = room.incident()
            text = f"{tag} line {n}"
            done = threading.Event()

            def on_done(_result, text=text, done=done) -> None:
                say(f"ok {text}")
                done.set()

            recorder.submit(lambda room, text=text: room.log_typed(incident, text), on_done=on_done,
                            on_error=lambda message, done=done: done.set(), label="log entry")
            if not done.wait(60):
                say(f"error {text}: not durable within 60 s")
                return 1
            n += 1
            if time.monotonic() - last_poll >= 1.0:
                recorder.reload()
                last_poll = time.monotonic()
    finally:
        recorder.wait_idle(30)
        recorder.stop()
        room.close()
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
