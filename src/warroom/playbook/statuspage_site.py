"""The status page on disk: built whole into a temporary folder beside the target, then
swapped in at once, so a reader (a web server, `git add`) never sees half a site; and
rebuilt whenever the record changes (`--watch`).

The swap is one `renameat2(RENAME_EXCHANGE)` on Linux. Elsewhere (or on a file system that
refuses it) it is two renames, with a moment in between when the folder is missing: never
a mix of two builds. What the build does not make (a `.git`, a CNAME file) is carried over.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from warroom.errors import UsageError, WarroomError
from warroom.playbook import statuspage, statuspage_feeds, statuspage_html
from warroom.record.room import Room

MARKER = ".warroom-statuspage"  # says the folder is a page warroom built, safe to replace
_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def site_files(page: statuspage.Page, base_url: str = "") -> dict[str, str]:
    """Every file of the site: relative path -> text."""
    return {
        "index.html": statuspage_html.page_html(page),
        "history.atom": statuspage_feeds.atom(page, base_url),
        "api/v2/summary.json": statuspage_feeds.summary_json(page, base_url),
        "api/v2/status.json": statuspage_feeds.status_json(page, base_url),
        MARKER: "A status page built by `warroom statuspage build`; rebuilding replaces this folder.\n",
    }


def build(room: Room, target: Path, now: datetime, name: str, base_url: str = "") -> statuspage.Page:
    """Read the page from the record and put it at `target`. Raises UsageError for a target
    that is not ours to replace, WarroomError (exit 1) when the disk refuses."""
    page = statuspage.collect(room, now, name)
    write_site(target, site_files(page, base_url))
    return page


def check_target(target: Path) -> None:
    if not target.parent.is_dir():
        raise UsageError(f"{target}: its folder {target.parent} does not exist; create it or give another path")
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise UsageError(f"{target}: not a folder; give a new or empty folder for the status page")
    if target.is_dir() and any(target.iterdir()) and not (target / MARKER).is_file():
        raise UsageError(
            f"{target}: holds files that are not a status page warroom built; give a new or empty folder "
            f"(a build replaces the whole folder)"
        )


def write_site(target: Path, files: dict[str, str]) -> None:
    target = Path(os.path.abspath(target))
    check_target(target)
    try:
        fresh = Path(tempfile.mkdtemp(prefix=f".{target.name}.build-", dir=target.parent))
    except OSError as exc:
        raise WarroomError(f"{target.parent}: cannot write the status page there ({exc.strerror})") from None
    try:
        for relative, text in files.items():
            path = fresh / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8", errors="replace") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(fresh, 0o755)  # mkdtemp makes it 0700; a site is for serving
        old = _swap_in(fresh, target)
    except OSError as exc:
        shutil.rmtree(fresh, ignore_errors=True)
        raise WarroomError(
            f"{target}: the status page could not be written ({exc.strerror or exc}); the previous build is intact"
        ) from None
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    if old is not None:
        _carry_over(old, target, set(files) | {name.split("/")[0] for name in files})


def _swap_in(fresh: Path, target: Path) -> Path | None:
    """Put `fresh` at `target`; returns where the previous build now is (None: there was none)."""
    if not target.exists():
        os.rename(fresh, target)
        return None
    if _exchange(fresh, target):
        return fresh  # after the exchange the old build sits where the new one was made
    old = target.with_name(f"{fresh.name}.old")
    os.rename(target, old)
    os.rename(fresh, target)
    return old


def _carry_over(old: Path, target: Path, produced: set[str]) -> None:
    """What the build does not make (.git, CNAME, ...) moves into the new build; the old build
    goes only once nothing of that is left in it."""
    try:
        for entry in old.iterdir():
            if entry.name not in produced and not (target / entry.name).exists():
                os.rename(entry, target / entry.name)
        left = [entry.name for entry in old.iterdir() if entry.name not in produced]
    except OSError as exc:
        raise WarroomError(
            f"{target}: the new page is in place, but the files it does not make could not be moved over "
            f"({exc.strerror or exc}); they are in {old}"
        ) from None
    if left:
        raise WarroomError(f"{target}: the new page is in place; {', '.join(left)} stayed behind in {old}")
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders in one step (Linux renameat2); False where that is not available."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return bool(result == 0)


def watched_files(room: Room) -> list[Path]:
    """The files whose change means the record changed: the record, its WAL, the shared copy."""
    record = room.config.record_path
    return [record, record.with_name(record.name + "-wal"), room.exchange]


def watch(rebuild: Callable[[], None], files: list[Path], stop: Callable[[], bool] | None = None) -> None:
    """Call `rebuild` each time one of `files` changes (bursts coalesce: 200 ms), until
    interrupted (KeyboardInterrupt, the caller's Ctrl-C) or `stop` says so."""
    from watchfiles import watch as watch_paths

    names = {str(f.resolve()) for f in files}
    folders = sorted({str(f.parent.resolve()) for f in files if f.parent.is_dir()})

    def relevant(_change: object, path: str) -> bool:
        return str(Path(path).resolve()) in names

    for _changes in watch_paths(
        *folders,
        watch_filter=relevant,
        debounce=200,
        step=50,
        yield_on_timeout=True,
        rust_timeout=1000,
        recursive=False,  # the war room's folder holds .git, exports/, maybe the site itself
    ):
        if stop is not None and stop():
            return
        if _changes:
            rebuild()
