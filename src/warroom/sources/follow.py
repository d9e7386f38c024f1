"""Following a file as `tail -F` does: from its last lines, across rotation and truncation."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from warroom.sources.parse import READ_SIZE
from warroom.text.sanitize import (
    DEFAULT_LIMIT,
)


class _FileFollower:
    """Poll-based `tail -F`: reopens on rotation (inode changed), rereads on truncation.
    Runs in a worker thread; one poll at a time.

    The first open starts at the end, as `tail -n` does: the file is searched backwards,
    a block at a time, for the start of its last `initial_lines` lines, and only those are
    read (a file of a million lines costs what its last lines cost). The search gives up
    after SCAN_LIMIT bytes (lines that long are few), and a last line longer than that
    shows its end (as much as a line shows, `shown` characters), after a '…'. A file that
    appears later, or a new file after a rotation, is new: it is read whole."""

    MAX_PER_POLL = 4 << 20
    SCAN_BLOCK = 1 << 16
    SCAN_LIMIT = 32 << 20

    def __init__(self, path: Path, initial_lines: int, shown: int = DEFAULT_LIMIT) -> None:
        self.path = path
        self.initial_lines = initial_lines
        self.shown = max(64, shown - 16)
        self.handle: Any = None
        self.ident: tuple[int, int] | None = None
        self.position = 0
        self.first_open = True
        self.waiting = False

    def close(self) -> None:
        """Close the handle; the next poll opens the path again (reading it from its start)."""
        if self.handle is not None:
            try:
                self.handle.close()
            except OSError:
                pass
            self.handle = None

    def _read(self, limit: int) -> list[bytes]:
        chunks = []
        total = 0
        while total < limit:
            data = self.handle.read(READ_SIZE)
            if not data:
                break
            chunks.append(data)
            total += len(data)
        self.position += total
        return chunks

    def _open(self, stat: os.stat_result) -> list[bytes]:
        self.handle = open(self.path, "rb")  # noqa: SIM115 - kept open while following
        self.ident = (stat.st_dev, stat.st_ino)
        self.position = 0
        if self.first_open:
            self.first_open = False
            start, cut = self._tail_start(os.fstat(self.handle.fileno()).st_size)
            self.handle.seek(start)
            self.position = start
            chunks = self._read(self.MAX_PER_POLL)
            if cut and chunks:
                chunks.insert(0, "…".encode())  # the line's start is not shown
            return chunks
        return self._read(self.MAX_PER_POLL)

    def _tail_start(self, size: int) -> tuple[int, bool]:
        """Where the last `initial_lines` lines of the file start; and whether that is in the
        middle of a line (the last line alone is longer than the search goes)."""
        wanted = self.initial_lines
        if wanted <= 0 or size == 0:
            return size, False
        handle = self.handle
        handle.seek(size - 1)
        end = size - 1 if handle.read(1) == b"\n" else size  # the final newline starts no line
        found = 0
        block_end = end
        while block_end > 0:
            block_start = max(0, block_end - self.SCAN_BLOCK)
            handle.seek(block_start)
            block = handle.read(block_end - block_start)
            index = len(block)
            while True:
                index = block.rfind(b"\n", 0, index)
                if index < 0:
                    break
                found += 1
                if found == wanted:
                    return block_start + index + 1, False
            block_end = block_start
            if block_end > 0 and size - block_end >= self.SCAN_LIMIT:
                if not found:  # the last line alone is longer than the search: its end only
                    return max(0, size - self.shown), True
                # searched far enough: the lines that start in what was searched
                handle.seek(block_end)
                searched = handle.read(end - block_end)
                return block_end + searched.index(b"\n") + 1, False
        return 0, False

    def poll(self) -> list[tuple[str, Any]]:
        """-> items in order: ("data", bytes), ("reset", None) (a partial line ends
        here), ("status", text with {path})."""
        items: list[tuple[str, Any]] = []
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            if self.handle is not None:  # renamed away: drain what is left, wait for the new file
                return [("data", chunk) for chunk in self._read(self.MAX_PER_POLL)]
            if not self.waiting:
                self.waiting = True
                items.append(("status", "waiting for {path} (not found)"))
            return items
        except OSError as exc:
            return [("status", f"cannot read {{path}}: {exc.strerror}")]
        try:
            if self.handle is None:
                self.waiting = False
                rotated = not self.first_open
                chunks = self._open(stat)
                items.append(("status", "reopened {path} (rotated)" if rotated else "following {path}"))
                handle = self.handle  # opened by _open
                if (
                    not rotated
                    and chunks
                    and not chunks[-1].endswith(b"\n")
                    and handle is not None
                    and self.position >= os.fstat(handle.fileno()).st_size
                ):
                    items.extend(("data", chunk) for chunk in chunks)
                    items.append(("end", None))  # the last line has no newline (yet): show it
                    return items
            elif (stat.st_dev, stat.st_ino) != self.ident:
                # rotated: first what the old file got before the rename, then the new file
                items.extend(("data", chunk) for chunk in self._read(16 << 20))
                self.close()
                items.append(("reset", None))
                chunks = self._open(stat)
                items.append(("status", "reopened {path} (rotated)"))
            elif stat.st_size < self.position:
                self.handle.seek(0)
                self.position = 0
                items.extend([("reset", None), ("status", "{path} was truncated: reading from its start")])
                chunks = self._read(self.MAX_PER_POLL)
            else:
                chunks = self._read(self.MAX_PER_POLL)
            items.extend(("data", chunk) for chunk in chunks)
            return items
        except OSError as exc:
            self.close()
            return items + [("status", f"cannot read {{path}}: {exc.strerror}")]
