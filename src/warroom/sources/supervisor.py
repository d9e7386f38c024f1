"""Log sources: a local command's output or a followed file, as inert `LogLine`s.

- Lines are split here from 64 KiB reads (no StreamReader.readline limit): LF,
  CRLF and CR-only endings all end a line; a line of megabytes is capped (its
  first part kept, the rest counted in a ' …[+N chars]' marker), never fatal.
- Every line is decoded with replacement, made inert and redacted by
  `warroom.text.sanitize`; a private key that comes line by line is redacted whole, from
  its BEGIN line to its END line (each source keeps a `KeyBlocks` state); JSON lines
  (pino, bunyan, structlog, wrangler tail, generic) are summarised on one line; levels and
  timestamps are recognised (sources/parse.py, sources/fastpath.py).
- Lines reach `on_lines` in batches (at most one call per `flush_interval`, or
  every `max_batch` lines), so a flood costs the UI few calls; `lines` is a
  bounded deque, `total` counts every line received.
- Commands run with stdin from /dev/null in their own session (process group),
  so `stop()` ends the whole group and reaps it; with `restart = true` they come
  back with exponential backoff.
- Nothing here raises into the caller's loop: problems become status strings.

No textual here: plain callbacks only (the UI turns them into messages).
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

from warroom.config import LogConfig
from warroom.record.clock import Clock, SystemClock
from warroom.sources.fastpath import _ascii_clean, _Parser, _Splitter
from warroom.sources.follow import _FileFollower
from warroom.sources.jsonblocks import JsonBlocks
from warroom.sources.parse import _SEQ, READ_SIZE, LogLine
from warroom.sources.process import Spawned, signal_name, spawn
from warroom.text import durations
from warroom.text.redact import KeyBlocks
from warroom.text.sanitize import DEFAULT_LIMIT, sanitize

# --- the source ------------------------------------------------------------------------

StatusCallback = Callable[[str], None]
LinesCallback = Callable[[list[LogLine]], None]


class LogSource:
    """A log source from the local config: a command's output, or a followed file.

    `on_lines(batch)` and `on_status(text)` are plain callbacks called on the
    event loop that runs the source; the UI turns them into messages.
    """

    def __init__(
        self,
        config: LogConfig,
        *,
        on_lines: LinesCallback,
        on_status: StatusCallback,
        secrets: Iterable[str] = (),
        clock: Clock | None = None,
        env: dict[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        backoff_base: float = 1.0,
        backoff_max: float = 30.0,
        stable_after: float = 60.0,
        flush_interval: float = 0.05,
        max_batch: int = 5000,
        poll_interval: float = 0.25,
        initial_lines: int | None = None,
        stop_grace: float = 1.0,
        drain_timeout: float = 1.0,
        limit: int = DEFAULT_LIMIT,
    ) -> None:
        self.config = config
        self.name = config.name
        self.lines: deque[LogLine] = deque(maxlen=max(1, config.buffer))
        self.total = 0
        self.status = "not started"
        self.pid: int | None = None
        self.clock = clock or SystemClock()
        self.env = env
        self.cwd = os.fspath(cwd) if cwd is not None else None
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.stable_after = stable_after
        self.flush_interval = flush_interval
        self.max_batch = max_batch
        self.poll_interval = poll_interval
        # a followed file starts with its last lines, as many as the buffer keeps
        self.initial_lines = config.buffer if initial_lines is None else initial_lines
        self.partial_after = 2.0  # a followed file's unfinished last line shows after this quiet
        self.stop_grace = stop_grace
        self.drain_timeout = drain_timeout
        self.restarts = 0
        self._on_lines = on_lines
        self._on_status = on_status
        self._parser = _Parser(secrets, limit=limit)
        self._splitter = _Splitter()
        self._json_blocks = JsonBlocks()
        self._pending: list[LogLine] = []
        self._flush_handle: asyncio.TimerHandle | None = None
        self._last_flush = 0.0
        self._last_text = ""
        self._exit_code: int | None = None
        self._spawned: Spawned | None = None
        self._task: asyncio.Task[None] | None = None
        self._stop_event: asyncio.Event | None = None
        self._finished: asyncio.Event | None = None
        self._started: asyncio.Event | None = None
        self._stopping = False
        self._following = False
        self._callback_failed = False
        self._holding = False  # lines pile up in _pending, for one batch (a file's first tail)

    # --- public ---------------------------------------------------------------------

    @property
    def exit_code(self) -> int | None:
        """The last exit code (negative: killed by that signal; 127: command not found)."""
        return self._exit_code

    @property
    def running(self) -> bool:
        if self._following:
            return True
        spawned = self._spawned
        return spawned is not None and not spawned.exited.done()

    async def start(self) -> None:
        """Start the command (or the follow) in a task; returns once it has started or failed.
        After stop() (or a one-shot's end), start() runs it again; `lines` and `total` carry on."""
        if self._task is not None and not self._task.done():
            return
        self._splitter = _Splitter()
        self._parser.keys = KeyBlocks()
        self._json_blocks = JsonBlocks()
        self._stop_event = asyncio.Event()
        self._finished = asyncio.Event()
        self._started = asyncio.Event()
        self._stopping = False
        self._task = asyncio.get_running_loop().create_task(self._main(), name=f"log source {self.name}")
        waiter = asyncio.ensure_future(self._started.wait())
        try:
            await asyncio.wait({waiter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiter.cancel()

    async def wait(self) -> int:
        """Wait until the source is done (a one-shot command exited, or stop()); -> exit code.

        127 when the command was not found, 126 when it could not be run, -1 for a file.
        """
        if self._finished is None:
            await self.start()
        assert self._finished is not None
        await self._finished.wait()
        return self._exit_code if self._exit_code is not None else -1

    async def stop(self) -> None:
        """Stop: end the process group (TERM, then KILL after `stop_grace`), reap it, flush."""
        self._stopping = True
        if self._stop_event is not None:
            self._stop_event.set()
        try:
            await self._terminate()
        except Exception:  # noqa: BLE001 - defensive  # pragma: no cover
            pass
        task = self._task
        if task is not None and not task.done():
            done, _ = await asyncio.wait({task}, timeout=self.stop_grace + 5)
            if not done:  # pragma: no cover - the task ends once its process is gone
                task.cancel()
                await asyncio.wait({task}, timeout=5)
        self._flush()
        self._following = False
        self._set_status("stopped")
        if self._finished is not None:
            self._finished.set()

    # --- plumbing ---------------------------------------------------------------------

    def _set_status(self, text: str) -> None:
        if self._pending:  # the lines before the news that follows them ("exited with code 0")
            self._flush()
        self.status = text
        try:
            self._on_status(text)
        except Exception:  # noqa: BLE001 - a failing callback must not stop the source
            pass

    async def _main(self) -> None:
        try:
            if self.config.command:
                await self._run_command()
            elif self.config.file:
                await self._follow_file()
            else:
                self._set_status("nothing to run: give a command or a file")
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - never a traceback into the UI's loop
            self._set_status(f"error: {type(exc).__name__}: {sanitize(str(exc), limit=200)}")
        finally:
            self._flush()
            self._following = False
            if self._started is not None:
                self._started.set()
            if self._finished is not None:
                self._finished.set()

    async def _sleep(self, seconds: float) -> bool:
        """Sleep unless stopped; True when stop() was called."""
        assert self._stop_event is not None
        try:
            await asyncio.wait_for(self._stop_event.wait(), timeout=seconds)
            return True
        except TimeoutError:
            return self._stopping

    # --- commands ---------------------------------------------------------------------

    async def _run_command(self) -> None:
        attempt = 0
        while not self._stopping:
            began = time.monotonic()
            await self._run_once()
            if self._stopping or not self.config.restart:
                return
            if time.monotonic() - began >= self.stable_after:
                attempt = 0
            delay = min(self.backoff_base * (2**attempt), self.backoff_max)
            attempt += 1
            self._set_status(f"restarting in {durations.plain_seconds(delay)}")
            if await self._sleep(delay):
                return
            self.restarts += 1

    async def _run_once(self) -> None:
        argv = self.config.command
        name = sanitize(argv[0], limit=200)
        try:
            spawned = await spawn(argv, env=self.env, cwd=self.cwd)
        except FileNotFoundError:
            self._exit_code = 127
            if self.cwd is not None and not os.path.isdir(self.cwd):
                self._set_status(f"working folder not found: {sanitize(self.cwd, limit=200)}")
            else:
                self._set_status(f"command not found: {name}")
            return
        except PermissionError:
            self._exit_code = 126
            self._set_status(f"permission denied: {name}")
            return
        except OSError as exc:
            self._exit_code = 126
            self._set_status(f"cannot start {name}: {sanitize(exc.strerror or str(exc), limit=200)}")
            return
        finally:
            if self._started is not None:
                self._started.set()
        self._spawned = spawned
        self.pid = spawned.pid
        self._parser.keys = KeyBlocks()  # a new run is a new stream: no key left open from the last
        self._exit_code = None
        self._last_text = ""
        self._set_status(f"running (pid {spawned.pid})")
        reader = asyncio.ensure_future(self._read_stream(spawned.stdout))
        try:
            await asyncio.shield(spawned.exited)
            try:
                # the output ends when every writer has closed the pipe
                await asyncio.wait_for(asyncio.shield(reader), timeout=self.drain_timeout)
            except TimeoutError:
                spawned.kill_group()  # a background child still holds the pipe: it goes too
                try:
                    await asyncio.wait_for(asyncio.shield(reader), timeout=1.0)
                except TimeoutError:  # held by something outside the group
                    pass
        finally:
            if not reader.done():
                reader.cancel()
                self._feed(self._splitter.flush(), final=True)
            spawned.kill_group()  # no leftovers from this run
            if spawned.exited.done():
                spawned.close()
        code = spawned.returncode
        self._exit_code = code
        if self._stopping or code is None:
            return
        message = f"exited with code {code}" if code >= 0 else f"killed by {signal_name(-code)}"
        if self._last_text:
            message += f": {self._last_text}"
        self._set_status(message)

    async def _read_stream(self, reader: asyncio.StreamReader) -> None:
        read = reader.read
        while True:
            data = await read(READ_SIZE)
            if not data:
                break
            self._feed(self._splitter.feed(data))
        self._feed(self._splitter.flush(), final=True)

    async def _terminate(self) -> None:
        spawned = self._spawned
        if spawned is None:
            return
        if not spawned.exited.done():
            spawned.kill_group(signal.SIGTERM)
            try:
                await asyncio.wait_for(asyncio.shield(spawned.exited), timeout=self.stop_grace)
            except TimeoutError:
                pass
        spawned.kill_group(signal.SIGKILL)
        try:
            await asyncio.wait_for(asyncio.shield(spawned.exited), timeout=5.0)
        except TimeoutError:  # pragma: no cover - SIGKILL is not ignorable
            pass

    # --- lines ------------------------------------------------------------------------

    def _feed(self, blocks: list[tuple[bytes, int]], final: bool = False) -> None:
        batch: list[LogLine] = []
        for block, hidden in blocks:
            if hidden:
                text = block.decode("utf-8", "replace")
                batch.extend(self._json_blocks.end(self._parser, self.name, complete=False))
                batch.append(self._parser.parse(text, self.name, next(_SEQ), hidden))
                continue
            text = block.decode("utf-8", "replace")
            if self._json_blocks.wanted(text):
                batch.extend(self._json_blocks.feed(text, self._parser, self.name))
            else:
                batch.extend(self._parser.parse_block(text, self.name, _ascii_clean(block) or None))
        if final:
            batch.extend(self._json_blocks.end(self._parser, self.name, complete=False))
        if batch:
            self._deliver(batch)

    def _deliver(self, batch: list[LogLine]) -> None:
        self.lines.extend(batch)
        self.total += len(batch)
        for line in reversed(batch):
            if line.text.strip():
                self._last_text = line.text.strip()
                break
        self._pending.extend(batch)
        if self._holding:
            return
        now = time.monotonic()
        if len(self._pending) >= self.max_batch or now - self._last_flush >= self.flush_interval:
            self._flush()
        elif self._flush_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # pragma: no cover
                self._flush()
                return
            delay = max(0.0, self.flush_interval - (now - self._last_flush))
            self._flush_handle = loop.call_later(delay, self._flush)

    def _flush(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        self._last_flush = time.monotonic()
        try:
            self._on_lines(batch)
        except Exception as exc:  # noqa: BLE001 - a failing callback must not stop the source: said once
            if not self._callback_failed:
                self._callback_failed = True
                self._set_status(f"on_lines callback failed: {type(exc).__name__}")

    # --- files ------------------------------------------------------------------------

    async def _follow_file(self) -> None:
        path = Path(os.path.expanduser(self.config.file))
        if not path.is_absolute() and self.cwd is not None:
            path = Path(self.cwd) / path
        follower = _FileFollower(path, self.initial_lines, self._parser.limit)
        shown = sanitize(str(path), limit=300)
        self._following = True
        first = True
        last_data = time.monotonic()
        partial_shown = False  # an unfinished line was shown: the newline that ends it ends no other
        changed = asyncio.Event()
        watcher = asyncio.get_running_loop().create_task(self._watch(path, changed), name=f"watch {self.name}")
        try:
            while not self._stopping:
                changed.clear()  # before reading: a change while it reads wakes the next wait
                items = await asyncio.to_thread(follower.poll)
                got_data = False
                # the first tail (up to `buffer` lines) goes out as one batch: the last line
                # reaches the pane with the others, not a batch or two later
                self._holding = first
                for kind, value in items:
                    if kind == "data":
                        got_data = True
                        last_data = time.monotonic()
                        if partial_shown and value:
                            partial_shown = False
                            value = (
                                value[2:]
                                if value[:2] == b"\r\n"
                                else value[1:]
                                if value[:1] in (b"\n", b"\r")
                                else value
                            )
                        self._feed(self._splitter.feed(value))
                        await asyncio.sleep(0)  # let keypresses through between 64 KiB pieces
                    elif kind == "reset":
                        partial_shown = False
                        self._feed(self._splitter.flush(), final=True)
                        self._parser.keys = KeyBlocks()  # a new file (rotated) or read again
                    elif kind == "end":  # the file's last line, unfinished: shown, as tail shows it
                        partial_shown = bool(self._splitter.tail or self._splitter.dropped)
                        self._feed(self._splitter.flush(), final=True)
                    else:
                        self._set_status(value.replace("{path}", shown))
                if self._holding:
                    self._holding = False
                    self._flush()
                if first:
                    first = False
                    if self._started is not None:
                        self._started.set()
                if not got_data:
                    if (
                        self._splitter.tail or self._splitter.dropped
                    ) and time.monotonic() - last_data >= self.partial_after:
                        # a line left unfinished (a writer that crashed mid-line): show it;
                        # what may still come after it shows as a line of its own
                        partial_shown = True
                        self._feed(self._splitter.flush(), final=True)
                    if await self._sleep_until(changed, self.poll_interval):
                        break
        finally:
            watcher.cancel()
            self._holding = False
            self._following = False
            follower.close()

    async def _watch(self, path: Path, changed: asyncio.Event) -> None:
        """Sets `changed` when watchfiles sees the followed file change (written, truncated,
        replaced by a rotation), so the follower reads at once instead of at its next poll.
        The poll stays as the backstop: a folder that cannot be watched, a file that does not
        exist yet, a filesystem that sends no events. The follower reads what changed."""
        from watchfiles import awatch

        name = path.name
        try:
            async for _changes in awatch(
                path.parent,
                stop_event=self._stop_event,
                recursive=False,
                debounce=50,
                step=5,
                watch_filter=lambda _change, changed_path: os.path.basename(changed_path) == name,
            ):
                changed.set()
        except Exception:  # noqa: BLE001 - no watching (no folder yet, no inotify): polling goes on
            return

    async def _sleep_until(self, changed: asyncio.Event, seconds: float) -> bool:
        """Wait for the file to change, `seconds` at most; True when stop() was called."""
        if changed.is_set():
            return self._stopping
        assert self._stop_event is not None
        waits = [asyncio.ensure_future(changed.wait()), asyncio.ensure_future(self._stop_event.wait())]
        try:
            await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return self._stopping
