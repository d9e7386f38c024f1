"""Merge, canonical dump, git plumbing: warroom.db as a git artifact.

The record is an append-only set of events keyed by id, so merging two copies
is their union (commutative, associative, idempotent) and git never needs to
see a binary conflict: `warroom merge` is its merge driver and `warroom dump`
its textconv, so `git log -p warroom.db` reads as one line per event.

Trust: a copy from another machine can only add events. Incoming rows that do
not decode or fail `events.problem()`, and rows whose id names a different local
event, are quarantined (reported, not inserted); nothing in the database is
ever run or read as configuration.

This module is core: it imports neither textual nor httpx. It runs git as a
subprocess.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from warroom.events import MAX_BODY_BYTES, Event, from_row, problem
from warroom.store import BUSY_TIMEOUT_MS, Quarantined, StoreError, check_file, create

COLUMNS = ("id", "incident", "hlc", "author", "kind", "at", "body")
DB_NAME = "warroom.db"
TEMP_SUFFIX = ".warroom-tmp"
# "*": a merge killed mid-write also leaves its temp file's -wal and -shm behind.
GITIGNORE_LINES = ("*.db-wal", "*.db-shm", f"*{TEMP_SUFFIX}*")
MERGE_DRIVER_NAME = "warroom: union of the events of both copies"
# Files of a war room that `warroom sync` commits (anything else is the user's business).
ROOM_FILES = (".gitattributes", ".gitignore", "warroom.toml", "runbooks", "templates")

_INSERT = f"insert into main.events ({', '.join(COLUMNS)}) values (?,?,?,?,?,?,?)"


class SyncError(Exception):
    """A sync that could not finish: one line naming the remote or file and what to do.

    The local record and any local commit are intact when this is raised.
    """

    def __init__(self, message: str, report: "SyncReport | None" = None) -> None:
        super().__init__(message)
        self.report = report


# --- merging ---------------------------------------------------------------------------


@dataclass
class MergeResult:
    """What a merge took from the other copy."""

    added: int = 0
    already_present: int = 0
    quarantined: list[Quarantined] = field(default_factory=list)
    kinds: Counter = field(default_factory=Counter)  # added events by kind
    changed: bool = False                             # whether OURS was written
    _rows: list[tuple] = field(default_factory=list, repr=False)

    def summary(self) -> str:
        text = f"{self.added} new event(s), {self.already_present} already present"
        if self.quarantined:
            text += (f", {len(self.quarantined)} quarantined (first: {self.quarantined[0].id[:36]}: "
                     f"{self.quarantined[0].reason})")
        return text


def _sidecars(path: Path) -> tuple[Path, Path]:
    return path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")


def _is_empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except FileNotFoundError:
        return True


@contextmanager
def _no_litter(path: Path) -> Iterator[None]:
    """Remove the empty -wal/-shm a read-only open leaves beside a file that had none
    (git's temp copies, a textconv input): never litter a worktree or /tmp."""
    wal, shm = _sidecars(path)
    had = (wal.exists(), shm.exists())
    try:
        yield
    finally:
        if not had[0] and wal.exists():
            try:
                if wal.stat().st_size == 0:
                    wal.unlink()
            except OSError:
                pass
        if not had[1] and shm.exists() and not wal.exists():
            try:
                shm.unlink()
            except OSError:
                pass


def _checked(path: Path, what: str = "") -> None:
    """store.check_file, leaving nothing behind; `what` prefixes the error ("incoming copy")."""
    with _no_litter(path):
        try:
            check_file(path)
        except StoreError as exc:
            if what:
                raise type(exc)(f"{what}: {exc}") from None  # keeps RefusedFile's exit status
            raise


def _uri(path: Path, *, readonly: bool) -> str:
    """A file: URI; read-only copies nobody writes (no -wal beside them) open immutable,
    which creates no -wal/-shm files."""
    quoted = urllib.parse.quote(str(Path(path).resolve()))
    if not readonly:
        return f"file:{quoted}"
    if _sidecars(path)[0].exists():
        return f"file:{quoted}?mode=ro"
    return f"file:{quoted}?mode=ro&immutable=1"


def _decode(values: tuple) -> Event | None:
    try:
        return from_row(dict(zip(COLUMNS, values)))
    except (ValueError, TypeError, RecursionError):
        return None


def _incoming(conn: sqlite3.Connection, schema: str = "theirs") -> MergeResult:
    """Rows of `schema`.events that `main` lacks, validated; the bulk of the work is one SQL join.

    Only the new rows (and rows whose id exists in main with different columns) reach Python.
    """
    result = MergeResult()
    total = conn.execute(f"select count(*) from {schema}.events").fetchone()[0]
    differs = " or ".join(f"o.{c} is not t.{c}" for c in COLUMNS[1:])
    cursor = conn.execute(
        f"select t.id, t.incident, t.hlc, t.author, t.kind, t.at, "
        f"case when length(t.body) > {MAX_BODY_BYTES} then null else t.body end, length(t.body), "
        f"o.id is not null, o.incident, o.hlc, o.author, o.kind, o.at, o.body "
        f"from {schema}.events as t left join main.events as o on o.id = t.id "
        f"where o.id is null or {differs}")
    selected = equal = 0
    rows = result._rows
    quarantined = result.quarantined
    kinds = result.kinds
    loads = _DECODE
    for row in cursor:
        selected += 1
        tid, incident, hlc, author, kind, at, body, length, exists = row[:9]
        if exists:
            theirs = _decode(row[:7]) if body is not None else None
            if theirs is not None and theirs == _decode((tid, *row[9:])):
                equal += 1  # same event, stored with different JSON spacing or key order
            else:
                quarantined.append(Quarantined(str(tid)[:64], "id collides with a different local event"))
            continue
        if not (type(tid) is str and type(incident) is str and type(hlc) is str and type(author) is str
                and type(kind) is str and type(at) is str):
            quarantined.append(Quarantined(str(tid)[:64], "a column is not text"))
            continue
        if body is None:
            reason = f"body too large ({length} characters)" if length else "no body"
            quarantined.append(Quarantined(tid[:64], reason))
            continue
        if type(body) is not str:
            quarantined.append(Quarantined(tid[:64], "body is not text"))
            continue
        try:
            parsed = loads(body)
        except (ValueError, RecursionError):
            quarantined.append(Quarantined(tid[:64], "body is not valid JSON"))
            continue
        if type(parsed) is not dict:
            quarantined.append(Quarantined(tid[:64], "body is not a JSON object"))
            continue
        reason = problem(Event(tid, incident, hlc, author, kind, at, parsed))
        if reason:
            quarantined.append(Quarantined(tid[:64], reason))
            continue
        rows.append((tid, incident, hlc, author, kind, at, body))
        kinds[kind] += 1
    result.added = len(rows)
    result.already_present = total - selected + equal
    return result


def _connect_rw(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(_uri(path, readonly=False), uri=True, isolation_level=None,
                           timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"pragma busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def _attach(conn: sqlite3.Connection, path: Path, schema: str) -> None:
    conn.execute("attach database ? as " + schema, (_uri(path, readonly=True),))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError:
            pass


def merge_files(ours: Path | str, theirs: Path | str, base: Path | str | None = None) -> MergeResult:
    """Write into OURS the union of the events of OURS and THEIRS (git's %A and %B).

    BASE is accepted for the merge-driver signature and not needed: a union has no base.
    Either side may be missing or empty (git's add/add). A THEIRS that is not a warroom
    database is refused with StoreError and OURS is left untouched. OURS is replaced
    atomically (a temp file beside it, fsync, rename) unless it is a live database (a -wal
    beside it: a console may have it open), which is merged in place in one transaction.
    When THEIRS adds nothing, OURS is not written at all.
    """
    ours, theirs = Path(ours), Path(theirs)
    if _is_empty(theirs):
        return MergeResult()
    _checked(theirs, "the incoming copy")
    ours_empty = _is_empty(ours)
    live = not ours_empty and _sidecars(ours)[0].exists()
    if not ours_empty:
        _checked(ours)
    if live:
        return _merge_in_place(ours, theirs)
    return _merge_via_temp(ours, theirs, ours_empty)


def _merge_in_place(ours: Path, theirs: Path) -> MergeResult:
    conn = _connect_rw(ours)
    try:
        _attach(conn, theirs, "theirs")
        conn.execute("pragma synchronous=full")
        conn.execute("begin immediate")
        try:
            result = _incoming(conn)
            if result._rows:
                conn.executemany(_INSERT, result._rows)
                result.changed = True
            conn.execute("commit")
        except BaseException:
            if conn.in_transaction:
                conn.execute("rollback")
            raise
        return result
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{ours}: cannot merge into it ({exc}); it was left as it was") from None
    finally:
        conn.close()


def _merge_via_temp(ours: Path, theirs: Path, ours_empty: bool) -> MergeResult:
    tmp = ours.with_name(f"{ours.name}.{os.getpid()}{TEMP_SUFFIX}")
    litter = (tmp, *_sidecars(tmp), tmp.with_name(tmp.name + "-journal"),
              tmp.with_name(tmp.name + ".creating"))
    _remove(*litter)
    replaced = False
    try:
        if ours_empty:
            create(tmp)
        else:
            shutil.copyfile(ours, tmp)
            shutil.copymode(ours, tmp)
        conn = _connect_rw(tmp)
        try:
            _attach(conn, theirs, "theirs")
            result = _incoming(conn)
            if not result._rows and not ours_empty:
                return result  # nothing new: OURS stays byte for byte as it was
            # A private temp file: no journal, no syncs while building; one fsync at the end.
            conn.execute("pragma main.journal_mode=off")
            conn.execute("pragma main.synchronous=off")
            conn.execute("pragma main.cache_size=-65536")
            conn.execute("begin")
            conn.executemany(_INSERT, result._rows)
            conn.execute("commit")
            conn.execute("detach database theirs")
            conn.execute("pragma main.journal_mode=wal")  # as store.create leaves a record
        finally:
            conn.close()
        _fsync(tmp)
        os.replace(tmp, ours)
        replaced = True
        try:
            dir_fd = os.open(ours.parent, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
        except OSError:
            pass
        result.changed = True
        return result
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{ours}: cannot merge ({exc}); it was left as it was") from None
    except OSError as exc:
        raise StoreError(f"{ours}: cannot write the merged copy ({exc.strerror or exc}); "
                         f"it was left as it was") from None
    finally:
        _remove(*(litter[1:] if replaced else litter))


# --- the canonical dump ------------------------------------------------------------------

# Characters a terminal or a line splitter may act on, kept inside JSON strings: written as
# \uXXXX escapes, which keeps each line valid JSON with the same meaning (JSON itself escapes
# only U+0000..U+001F, quotes and backslashes).
_UNSAFE = re.compile("[\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
                     "\ufeff\ufff9-\ufffb\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _inert(line: str) -> str:
    if _UNSAFE.search(line):
        return _UNSAFE.sub(_escape, line)
    return line


_ENCODER = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_DECODE = json.JSONDecoder().decode


def _canonical_row(values: tuple) -> str:
    """Event.canonical() of a stored row (same bytes), or a stable line for an undecodable one."""
    eid, incident, hlc, author, kind, at, body = values
    if (type(body) is str and len(body) <= MAX_BODY_BYTES and type(eid) is str and type(incident) is str
            and type(hlc) is str and type(author) is str and type(kind) is str and type(at) is str):
        try:
            parsed = _DECODE(body)
        except (ValueError, RecursionError):
            parsed = None
        if type(parsed) is dict:
            # The dict Event.canonical() encodes, with the same encoder settings.
            return _inert(_ENCODER.encode({"id": eid, "incident": incident, "hlc": hlc, "author": author,
                                           "kind": kind, "at": at, "body": parsed}))
    event = _decode(values)
    if event is not None:
        return _inert(event.canonical())
    shown = body[:200] if isinstance(body, str) else repr(body)[:200]
    return _inert(_ENCODER.encode({"id": str(eid)[:64], "kind": str(kind)[:64], "hlc": str(hlc)[:32],
                                   "undecodable": shown}))


def dump(path: Path | str) -> Iterator[str]:
    """The record as canonical text: one line (no newline) per event, sorted by (hlc, author, id).

    Each line is Event.canonical() (sorted keys, compact, UTF-8), with characters a terminal
    could act on written as JSON \\u escapes. The same events always give the same lines,
    whatever the file's page layout. Reads the file read-only; a missing or empty file
    (git's side of an added or deleted file) dumps as nothing.
    """
    path = Path(path)
    if _is_empty(path):
        return
    _checked(path)
    with _no_litter(path):
        try:
            conn = sqlite3.connect(_uri(path, readonly=True), uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open ({exc})") from None
        try:
            cursor = conn.execute(f"select {', '.join(COLUMNS)} from events order by hlc, author, id")
            for row in cursor:
                yield _canonical_row(row)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: cannot read ({exc})") from None
        finally:
            conn.close()


def dump_text(path: Path | str) -> str:
    return "".join(line + "\n" for line in dump(path))


# --- git ---------------------------------------------------------------------------------


class _GitFailed(Exception):
    def __init__(self, args: tuple[str, ...], proc: subprocess.CompletedProcess) -> None:
        self.args_ = args
        self.proc = proc
        self.stderr = proc.stderr or ""
        self.stdout = proc.stdout or ""
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.lower().startswith(("fatal:", "error:"))]
        self.line = (errors or lines or [f"exit status {proc.returncode}"])[0]
        super().__init__(f"git {' '.join(args[:2])}: {self.line}")


def _git_env() -> dict[str, str]:
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    env["LANGUAGE"] = "C"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    if not sys.stdin or not sys.stdin.isatty():
        env.setdefault("GIT_TERMINAL_PROMPT", "0")
    return env


def _git(folder: Path, *args: str, check: bool = True, timeout: float = 120,
         stdout=None, extra: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    command = ["git", *extra, *args]
    try:
        proc = subprocess.run(command, cwd=folder, env=_git_env(), text=stdout is None,
                              stdout=stdout if stdout is not None else subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout)
    except FileNotFoundError:
        raise SyncError("git is not installed or not on PATH; install git to share the record") from None
    except subprocess.TimeoutExpired:
        raise SyncError(f"`git {' '.join(args[:2])}` did not finish within {timeout:.0f} s "
                        f"(a slow or unreachable remote?); nothing was lost, run `warroom sync` again") from None
    if isinstance(proc.stderr, bytes):
        proc.stderr = proc.stderr.decode("utf-8", "replace")
    if check and proc.returncode != 0:
        raise _GitFailed(tuple(args), proc)
    return proc


def is_git_repo(folder: Path | str) -> bool:
    """True when `folder` is inside a git work tree."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    try:
        proc = subprocess.run(["git", "rev-parse", "--is-inside-work-tree"], cwd=folder, env=_git_env(),
                              capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def _ensure_lines(path: Path, lines: Iterable[str]) -> bool:
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    have = {line.strip() for line in existing.splitlines()}
    missing = [line for line in lines if line not in have]
    if not missing:
        return False
    prefix = "" if not existing or existing.endswith("\n") else "\n"
    tmp = path.with_name(path.name + TEMP_SUFFIX)
    tmp.write_text(existing + prefix + "\n".join(missing) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return True


def driver_commands() -> dict[str, str]:
    """The git config this clone needs. `-P`: never import a `warroom` package from the
    repository being merged (a pulled tree must not be able to run code)."""
    python = shlex.quote(sys.executable)
    return {
        "merge.warroom.name": MERGE_DRIVER_NAME,
        "merge.warroom.driver": f"{python} -P -m warroom merge %O %A %B",
        "diff.warroom.textconv": f"{python} -P -m warroom dump",
    }


def git_setup(folder: Path | str, db_name: str = DB_NAME) -> list[str]:
    """Write .gitattributes and .gitignore lines and register the merge driver and textconv
    in the repository's local git config (merge drivers are per clone). Idempotent.
    Returns what it changed."""
    folder = Path(folder)
    changed = []
    if _ensure_lines(folder / ".gitattributes", [f"{db_name} merge=warroom diff=warroom"]):
        changed.append(".gitattributes")
    if _ensure_lines(folder / ".gitignore", GITIGNORE_LINES):
        changed.append(".gitignore")
    if is_git_repo(folder):
        for key, value in driver_commands().items():
            current = _git(folder, "config", "--local", "--get", key, check=False).stdout.strip()
            if current != value:
                try:
                    _git(folder, "config", "--local", key, value)
                except _GitFailed as exc:
                    raise SyncError(f"cannot write the git config of {folder} ({exc.line})") from None
                changed.append(key)
    return changed


# --- sync --------------------------------------------------------------------------------


@dataclass
class SyncReport:
    remote: str
    branch: str = ""
    dry_run: bool = False
    committed: str = ""                                   # the commit subject, if any
    local: Counter = field(default_factory=Counter)       # local events committed (by kind)
    received: Counter = field(default_factory=Counter)    # events that came in (by kind)
    pushed: Counter = field(default_factory=Counter)      # events the remote lacked (by kind)
    quarantined: list[Quarantined] = field(default_factory=list)
    retries: int = 0
    pushed_ok: bool = False
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        where = f"{self.remote}/{self.branch}" if self.branch else self.remote
        out = []
        if self.dry_run:
            out.append("dry run: nothing was changed")
            out.append(f"would commit: {_counts(self.local) or 'nothing'}")
            out.append(f"would come in from {where}: {_counts(self.received) or 'nothing'}")
            out.append(f"would go out to {where}: {_counts(self.pushed) or 'nothing'}")
        else:
            out.append(f"committed: {self.committed}" if self.committed else "committed: nothing new")
            out.append(f"came in from {where}: {_counts(self.received) or 'nothing'}")
            if self.pushed_ok:
                out.append(f"went out to {where}: {_counts(self.pushed) or 'nothing new'}"
                           + (f" (after {self.retries} retr{'y' if self.retries == 1 else 'ies'})"
                              if self.retries else ""))
        if self.quarantined:
            first = self.quarantined[0]
            out.append(f"quarantined {len(self.quarantined)} incoming event(s), not merged "
                       f"(first: {first.id[:36]}: {first.reason})")
        out.extend(self.notes)
        return out


def _counts(counter: Counter) -> str:
    total = sum(counter.values())
    if not total:
        return ""
    detail = ", ".join(f"{n} {kind}" for kind, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
    return f"{total} event{'s' if total != 1 else ''} ({detail})"


class _Repo:
    def __init__(self, folder: Path, db: Path, remote: str) -> None:
        self.folder = folder
        self.db = db
        self.remote = remote
        top = _git(folder, "rev-parse", "--show-toplevel").stdout.strip()
        self.top = Path(top).resolve()
        try:
            self.rel = db.resolve().relative_to(self.top).as_posix()
        except ValueError:
            raise SyncError(f"{db}: the database is outside the git repository {self.top}; "
                            f"move it into the war room folder") from None
        proc = _git(folder, "symbolic-ref", "-q", "--short", "HEAD", check=False)
        self.branch = proc.stdout.strip()
        if proc.returncode != 0 or not self.branch:
            raise SyncError(f"{folder}: HEAD is detached; check out a branch (`git switch main`) "
                            f"and run `warroom sync` again")
        self.tracking = f"refs/remotes/{remote}/{self.branch}"

    def run(self, *args: str, **kwargs) -> subprocess.CompletedProcess:
        return _git(self.top, *args, **kwargs)

    def rev(self, name: str) -> str | None:
        proc = self.run("rev-parse", "-q", "--verify", f"{name}^{{commit}}", check=False)
        return proc.stdout.strip() or None if proc.returncode == 0 else None

    def has_remote(self) -> bool:
        return self.remote in self.run("remote").stdout.split()

    def git_path(self, name: str) -> Path:
        return Path(self.run("rev-parse", "--git-path", name).stdout.strip())

    def is_ancestor(self, older: str, newer: str) -> bool:
        return self.run("merge-base", "--is-ancestor", older, newer, check=False).returncode == 0

    def blob(self, spec: str, dest: Path) -> Path | None:
        """Write the blob `spec` (e.g. HEAD:warroom.db) to dest; None when it does not exist."""
        if self.run("cat-file", "-e", spec, check=False).returncode != 0:
            return None
        with open(dest, "wb") as handle:
            self.run("cat-file", "blob", spec, stdout=handle)
        return dest

    def fetch(self, dry_run: bool = False) -> str | None:
        """The remote branch's commit (None when the remote has no such branch yet)."""
        ref = f"refs/heads/{self.branch}"
        spec = ref if dry_run else f"+{ref}:{self.tracking}"
        args = ["fetch", "--quiet", "--no-tags"] + (["--refmap="] if dry_run else []) + [self.remote, spec]
        try:
            self.run(*args, timeout=300)
        except _GitFailed as exc:
            if "couldn't find remote ref" in exc.stderr.lower():
                return None
            raise SyncError(f"cannot fetch from remote {self.remote!r} ({exc.line}); the local record is "
                            f"intact{'' if dry_run else ' and committed'}. Check the network or "
                            f"`git remote -v`, then run `warroom sync` again") from None
        return self.rev("FETCH_HEAD" if dry_run else self.tracking)

    def room_paths(self) -> list[str]:
        names = [self.rel] + [
            (self.folder / name).resolve().relative_to(self.top).as_posix() for name in ROOM_FILES]
        return [n for n in dict.fromkeys(names) if (self.top / n).exists()]

    def stage(self, paths: list[str]) -> bool:
        """Stage the war room's files; True when that changes anything. The record is added with
        -f: a global `*.db` ignore rule must not keep it out of the shared history."""
        self.run("add", "-f", "--", self.rel)
        others = [p for p in paths if p != self.rel]
        if others:
            self.run("add", "-A", "--", *others)
        return self.run("diff", "--cached", "--quiet", "--", *paths, check=False).returncode != 0

    def commit(self, message: str, paths: list[str] | None) -> None:
        args = ["commit", "--quiet", "--no-verify", "-m", message]
        if paths is not None:
            args += ["--", *paths]
        proc = self.run(*args, check=False)
        if proc.returncode != 0 and ("tell me who you are" in proc.stderr.lower()
                                     or "auto-detect" in proc.stderr.lower()
                                     or "empty ident" in proc.stderr.lower()):
            from warroom.store import default_author

            name = default_author()
            email = re.sub(r"[^A-Za-z0-9._-]+", "-", name) + "@warroom.invalid"
            proc = self.run(*args, check=False, extra=("-c", f"user.name={name}", "-c", f"user.email={email}"))
        if proc.returncode != 0:
            raise SyncError(f"git commit failed in {self.top} ({_GitFailed(tuple(args), proc).line}); "
                            f"the record is intact")

    def conflicted(self) -> list[str]:
        return [line for line in self.run("diff", "--name-only", "--diff-filter=U").stdout.splitlines() if line]


def _quiesce(conn: sqlite3.Connection, db: Path, patience: float = 30.0) -> None:
    """Hold the record's write lock with the WAL folded into the file: the file on disk is then
    complete (fit to commit) and no writer can touch it until we roll back."""
    wal = _sidecars(db)[0]
    deadline = time.monotonic() + patience
    conn.execute(f"pragma busy_timeout={int(patience * 1000 / 4)}")
    while time.monotonic() < deadline:
        try:
            conn.execute("pragma main.wal_checkpoint(TRUNCATE)").fetchone()
            conn.execute("begin immediate")
        except sqlite3.OperationalError:
            time.sleep(0.05)
            continue
        try:
            if not wal.exists() or wal.stat().st_size == 0:
                return
        except OSError:
            return
        conn.execute("rollback")
        time.sleep(0.02)
    raise SyncError(f"{db}: another process kept writing to the record; could not get a quiet "
                    f"moment to commit it. Nothing was lost; run `warroom sync` again")


def _ids_missing(conn: sqlite3.Connection, source: str, *absent_from: str) -> list[tuple]:
    """(kind, incident, body) of events in `source` that none of `absent_from` have."""
    where = " and ".join(f"not exists (select 1 from {s}.events x where x.id = e.id)" for s in absent_from)
    return conn.execute(f"select kind, incident, body from {source}.events e where {where}").fetchall()


def _short_ids(conn: sqlite3.Connection) -> dict[str, str]:
    """INC-xxxx as the fold names incidents (prefix of the id, lengthened while ambiguous)."""
    ids = [row[0] for row in conn.execute("select id from main.events where kind = 'incident.declared'")
           if isinstance(row[0], str)]
    keys = {i: i.replace("-", "") for i in ids}
    ordered = sorted(keys.values())
    names = {}
    for incident, key in keys.items():
        length = 4
        for other in ordered:
            if other != key:
                while length < len(key) and other.startswith(key[:length]):
                    length += 1
        names[incident] = f"INC-{key[:length]}"
    return names


_NOUNS = {
    "entry.logged": ("entry", "entries"), "entry.edited": ("edit", "edits"),
    "entry.deleted": ("deletion", "deletions"), "entry.restored": ("restore", "restores"),
    "incident.field": ("field", "fields"), "role.assigned": ("role change", "role changes"),
    "update.posted": ("status update", "status updates"), "update.snoozed": ("snooze", "snoozes"),
    "action.added": ("action item", "action items"), "action.done": ("action done", "actions done"),
    "check.flipped": ("check flip", "check flips"), "command.ran": ("command", "commands"),
}


def _word(text: object) -> str:
    return re.sub(r"[^A-Za-z0-9 ._-]", "", str(text))[:24]


def describe(events: list[tuple], names: dict[str, str]) -> tuple[str, str]:
    """A commit subject and body for new (kind, incident, body) rows:
    'warroom: 3 entries, status identified on INC-7f3a'."""
    per: dict[str, list[tuple]] = {}
    for kind, incident, body in events:
        per.setdefault(str(incident), []).append((kind, body))
    parts = []
    for incident, items in sorted(per.items(), key=lambda kv: names.get(kv[0], kv[0])):
        counts = Counter(kind for kind, _ in items)
        last: dict[str, dict] = {}
        for kind, body in items:
            try:
                parsed = json.loads(body) if isinstance(body, str) else {}
            except (ValueError, RecursionError):
                parsed = {}
            last[kind] = parsed if isinstance(parsed, dict) else {}
        words = []
        if "incident.declared" in counts:
            words.append(f"declared {_word(last['incident.declared'].get('severity', ''))}".strip())
        for kind, (one, many) in _NOUNS.items():
            if kind in counts:
                words.append(f"{counts[kind]} {one if counts[kind] == 1 else many}")
        if "incident.acknowledged" in counts:
            words.append("acknowledged")
        if "incident.severity" in counts:
            words.append(f"severity {_word(last['incident.severity'].get('severity', ''))}")
        if "incident.status" in counts:
            words.append(f"status {_word(last['incident.status'].get('status', ''))}")
        for kind in sorted(set(counts) - set(_NOUNS) - {"incident.declared", "incident.acknowledged",
                                                         "incident.severity", "incident.status"}):
            words.append(f"{counts[kind]} {_word(kind)}")
        parts.append(", ".join(words) + f" on {names.get(incident, 'INC-' + _word(incident)[:8])}")
    subject = "warroom: " + "; ".join(parts)
    if len(subject) > 100:
        subject = subject[:99] + "…"
    body = "\n".join(f"{n} {kind}" for kind, n in sorted(Counter(k for k, _, _ in events).items()))
    return subject, body


def _empty_db(path: Path) -> Path:
    create(path)
    return path


def _open_sides(repo: _Repo, tmp: Path, theirs_rev: str | None, readonly: bool) -> sqlite3.Connection:
    """The live record as main, HEAD's committed copy as `head`, the remote's as `theirs`."""
    head = repo.blob(f"HEAD:{repo.rel}", tmp / "head.db") if repo.rev("HEAD") else None
    head = head if head and not _is_empty(head) else _empty_db(tmp / "head-empty.db")
    _checked(head, f"the committed copy (HEAD:{repo.rel})")
    theirs = None
    if theirs_rev:
        theirs = repo.blob(f"{theirs_rev}:{repo.rel}", tmp / "theirs.db")
    if theirs is None or _is_empty(theirs):
        theirs = _empty_db(tmp / "theirs-empty.db")
    try:
        _checked(theirs, f"the copy on {repo.remote}/{repo.branch}")
    except StoreError as exc:
        raise SyncError(f"{exc}; nothing was merged, the local record is intact") from None
    if readonly:
        conn = sqlite3.connect(_uri(repo.db, readonly=True), uri=True, isolation_level=None,
                               timeout=BUSY_TIMEOUT_MS / 1000)
    else:
        conn = _connect_rw(repo.db)
        conn.execute("pragma synchronous=full")
    _attach(conn, head, "head")
    _attach(conn, theirs, "theirs")
    return conn


def _absorb(conn: sqlite3.Connection, report: SyncReport, received: bool = True) -> None:
    """Inside the caller's write transaction: insert the other copy's new, valid events."""
    result = _incoming(conn, "theirs")
    if result._rows:
        conn.executemany(_INSERT, result._rows)
    if received:
        report.received.update(result.kinds)
    seen = {q.id for q in report.quarantined}
    report.quarantined.extend(q for q in result.quarantined if q.id not in seen)


def _finish_interrupted_merge(repo: _Repo, tmp: Path, report: SyncReport) -> None:
    """A `git pull` without the driver left warroom.db conflicted: union the stages into the
    record (in place, in one transaction) and conclude the merge."""
    conflicted = repo.conflicted()
    if repo.rel in conflicted:
        try:
            _checked(repo.db)
        except StoreError as exc:
            raise SyncError(f"{exc}; the merge left it unusable: run `git merge --abort` to get your "
                            f"committed record back, then `warroom sync`") from None
        conn = _connect_rw(repo.db)
        try:
            conn.execute("pragma synchronous=full")
            for stage in (2, 3):
                side = repo.blob(f":{stage}:{repo.rel}", tmp / f"stage{stage}.db")
                if side is None or _is_empty(side):
                    continue
                try:
                    _checked(side, f"the {'local' if stage == 2 else 'incoming'} side of the merge")
                except StoreError as exc:
                    raise SyncError(f"{exc}; resolve with `git merge --abort` (the record is intact)") from None
                _attach(conn, side, "theirs")
                _quiesce(conn, repo.db)
                _absorb(conn, report, received=stage == 3)
                conn.execute("commit")
                conn.execute("detach database theirs")
            _quiesce(conn, repo.db)
            repo.run("add", "--", repo.rel)
            conn.execute("rollback")
        finally:
            conn.close()
        conflicted = repo.conflicted()
    if conflicted:
        raise SyncError(f"a merge is in progress with conflicts in {', '.join(conflicted[:3])}; "
                        f"resolve them (or `git merge --abort`) and run `warroom sync` again")
    repo.commit("warroom: finish merge (union of the records)", None)
    report.notes.append("finished the merge a plain `git pull` had left conflicted")


def _integrate(repo: _Repo, tmp: Path, theirs_rev: str | None, report: SyncReport) -> None:
    """The critical section: absorb the remote's events into the live record, commit local
    changes, merge the remote branch. Other writers wait on the record's lock meanwhile, so
    git never commits or replaces a file that is being written."""
    incoming = theirs_rev is not None and not (repo.rev("HEAD") and repo.is_ancestor(theirs_rev, "HEAD"))
    conn = _open_sides(repo, tmp, theirs_rev, readonly=False)
    try:
        _quiesce(conn, repo.db)
        if incoming:
            before = sum(report.received.values())
            _absorb(conn, report)
            absorbed = sum(report.received.values()) - before
            conn.execute("commit")
            _quiesce(conn, repo.db)
        else:
            absorbed = 0
        local = _ids_missing(conn, "main", "head", "theirs")
        paths = repo.room_paths()
        if repo.stage(paths):
            if local:
                subject, body = describe(local, _short_ids(conn))
            elif repo.rev("HEAD") is None:
                subject, body = "warroom: start the war room", ""
            elif absorbed:
                subject, body = f"warroom: {absorbed} event(s) from {repo.remote}/{repo.branch}", ""
            else:
                subject, body = "warroom: update war room files", ""
            if absorbed and local:
                body += f"\n\n+{absorbed} event(s) merged from {repo.remote}/{repo.branch}"
            repo.commit(subject + ("\n\n" + body.strip() if body.strip() else ""), paths)
            report.committed = report.committed or subject  # a retry's commit: keep the first
            report.local.update(Counter(kind for kind, _, _ in local))
        finish = _merge_remote(repo, theirs_rev) if incoming else False
        report.pushed = Counter(row[0] for row in _ids_missing(conn, "main", "theirs"))
        if conn.in_transaction:
            conn.execute("rollback")
    finally:
        conn.close()
    if finish:
        # Only the record conflicted (the driver is missing or failed). The record already holds
        # the union (we absorbed the remote's events above); make sure of it and conclude.
        _finish_interrupted_merge(repo, tmp, report)


def _merge_remote(repo: _Repo, theirs_rev: str) -> bool:
    """git merge; True when only the record conflicted and the merge must be finished by us."""
    args = ["merge", "--no-edit", "--quiet", "-m", f"warroom: merge {repo.remote}/{repo.branch}"]
    if repo.run("merge-base", "HEAD", theirs_rev, check=False).returncode != 0:
        # Two war rooms started apart (both `warroom init`, one remote): only a war room may be
        # merged in that way, never an unrelated project.
        if repo.run("cat-file", "-e", f"{theirs_rev}:{repo.rel}", check=False).returncode != 0:
            raise SyncError(f"{repo.remote}/{repo.branch} shares no history with this war room and holds "
                            f"no {repo.rel}; check `git remote -v`. Your record is committed locally")
        args.append("--allow-unrelated-histories")
    proc = repo.run(*args, theirs_rev, check=False)
    if proc.returncode == 0:
        return False
    conflicted = repo.conflicted()
    if not conflicted:
        _abort_merge(repo)
        raise SyncError(f"git could not merge {repo.remote}/{repo.branch} ({_GitFailed(tuple(args), proc).line}); "
                        f"your record is committed locally; fix that and run `warroom sync` again")
    others = [name for name in conflicted if name != repo.rel]
    if others:
        _abort_merge(repo)
        raise SyncError(f"{repo.remote}/{repo.branch} changes {', '.join(others[:3])} in a way that conflicts "
                        f"with yours; your record is committed locally. Run `git merge {repo.remote}/"
                        f"{repo.branch}`, resolve those files, commit, then `warroom sync`")
    return True


def _abort_merge(repo: _Repo) -> None:
    if repo.rev("MERGE_HEAD"):
        repo.run("merge", "--abort", check=False)


def sync(folder: Path | str, *, push: bool = True, dry_run: bool = False, remote: str = "origin",
         retries: int = 3, db: Path | str | None = None) -> SyncReport:
    """Checkpoint, commit, fetch, merge (union), push; retry when a push races another.

    Raises SyncError with one line naming the remote and what to do; the record and any
    local commit are intact when it does, and the next sync picks up from there.
    """
    try:
        return _sync(Path(folder).resolve(), push=push, dry_run=dry_run, remote=remote, retries=retries, db=db)
    except _GitFailed as exc:
        raise SyncError(f"`git {' '.join(exc.args_[:2])}` failed ({exc.line}); the record is intact. "
                        f"Fix that and run `warroom sync` again") from None


def _sync(folder: Path, *, push: bool, dry_run: bool, remote: str, retries: int,
          db: Path | str | None) -> SyncReport:
    if not is_git_repo(folder):
        raise SyncError(f"{folder}: not a git repository; run `git init` there and "
                        f"`git remote add origin URL`, then `warroom sync`")
    db_path = Path(db).resolve() if db else folder / DB_NAME
    _checked(db_path)
    repo = _Repo(folder, db_path, remote)
    report = SyncReport(remote=remote, branch=repo.branch, dry_run=dry_run)
    has_remote = repo.has_remote()
    with tempfile.TemporaryDirectory(prefix="warroom-sync-") as tmpdir:
        tmp = Path(tmpdir)
        if dry_run:
            return _dry_run(repo, tmp, has_remote, report)
        git_setup(folder, db_path.name)
        if any(repo.git_path(name).exists() for name in ("rebase-merge", "rebase-apply")):
            raise SyncError(f"a rebase is in progress in {repo.top}; finish it (or `git rebase --abort`) "
                            f"and run `warroom sync` again")
        if repo.rev("MERGE_HEAD"):
            _finish_interrupted_merge(repo, tmp, report)
        if not has_remote:
            _integrate(repo, tmp, None, report)
            report.notes.append(f"no remote {remote!r}: committed locally only; add one with "
                                f"`git remote add {remote} URL` and run `warroom sync` again")
            return report
        for attempt in range(retries + 1):
            try:
                theirs_rev = repo.fetch()
            except SyncError as exc:
                _integrate(repo, tmp, None, report)  # keep local work committed
                exc.report = report
                raise
            _integrate(repo, tmp, theirs_rev, report)
            if not push:
                report.notes.append("not pushed (--no-push)")
                return report
            outcome = _push(repo, set_upstream=theirs_rev is None or not _has_upstream(repo))
            if outcome == "ok":
                report.pushed_ok = True
                return report
            report.retries += 1
        raise SyncError(f"pushing to {remote!r} was rejected {retries + 1} times because others kept "
                        f"pushing first; your record is committed locally, run `warroom sync` again",
                        report)


def _has_upstream(repo: _Repo) -> bool:
    return repo.run("rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}", check=False).returncode == 0


_RACED = ("(fetch first)", "(non-fast-forward)", "failed to update ref", "cannot lock ref",
          "incorrect old value")


def _push(repo: _Repo, set_upstream: bool) -> str:
    """'ok', or 'raced' when someone pushed first; raises SyncError for anything else."""
    ref = f"refs/heads/{repo.branch}"
    args = ["push", "--porcelain"] + (["-u"] if set_upstream else []) + [repo.remote, f"{ref}:{ref}"]
    proc = repo.run(*args, check=False, timeout=300)
    if proc.returncode == 0:
        return "ok"
    text = ((proc.stdout or "") + "\n" + (proc.stderr or "")).lower()
    # Someone pushed first: refused as not a fast-forward, or (a closer race) the remote could
    # not move the branch from the commit this push expected.
    if any(sign in text for sign in _RACED):
        return "raced"
    line = _GitFailed(tuple(args), proc).line
    for row in (proc.stdout or "").splitlines():
        if row.startswith("!"):
            line = row.split("\t")[-1].strip() or line
    raise SyncError(f"cannot push to remote {repo.remote!r} ({line}); your record is committed locally. "
                    f"Check the network, access rights or `git remote -v`, then run `warroom sync` again")


def _dry_run(repo: _Repo, tmp: Path, has_remote: bool, report: SyncReport) -> SyncReport:
    theirs_rev = repo.fetch(dry_run=True) if has_remote else None
    conn = _open_sides(repo, tmp, theirs_rev, readonly=True)
    try:
        report.local = Counter(row[0] for row in _ids_missing(conn, "main", "head"))
        incoming = _incoming(conn, "theirs")
        report.received = incoming.kinds
        report.quarantined = incoming.quarantined
        report.pushed = Counter(row[0] for row in _ids_missing(conn, "main", "theirs"))
    finally:
        conn.close()
    if not has_remote:
        report.notes.append(f"no remote {repo.remote!r}; `git remote add {repo.remote} URL` to share the record")
    elif theirs_rev is None:
        report.notes.append(f"{repo.remote} has no branch {repo.branch!r} yet; the first sync creates it")
    return report


# --- the commands ------------------------------------------------------------------------


def _clean(text: str) -> str:
    try:
        from warroom.sanitize import sanitize
    except ImportError:
        return _inert(text)
    return sanitize(text, limit=max(20_000, len(text)), multiline=True)


def _room_paths(args) -> tuple[Path, Path]:
    """(war room folder, database) from --dir / --db or the nearest warroom.toml."""
    from warroom import config as config_mod
    from warroom.room import UsageError

    if getattr(args, "dir", None):
        config_path = Path(args.dir) / config_mod.CONFIG_NAME
        if not config_path.is_file():
            raise UsageError(f"{config_path}: no such file; is {args.dir} a war room? (`warroom init {args.dir}`)")
    else:
        config_path = config_mod.find()
        if config_path is None:
            if getattr(args, "db", None):
                db = Path(args.db)
                return db.resolve().parent, db
            raise UsageError("no warroom.toml here or in any parent folder; run `warroom init DIR` "
                             "or cd into a war room")
    config = config_mod.load(config_path)
    db = Path(args.db) if getattr(args, "db", None) else config.db_path
    return config.root, db


def cmd_merge(args) -> int:
    result = merge_files(Path(args.ours), Path(args.theirs), Path(args.base))
    if result.added or result.quarantined:
        print(_clean(f"warroom merge: {result.summary()}"), file=sys.stderr)
    return 0


def cmd_dump(args) -> int:
    path = Path(args.file) if args.file else _room_paths(args)[1]
    out = sys.stdout.buffer
    batch: list[str] = []
    for line in dump(path):
        batch.append(_clean(line))
        if len(batch) >= 2000:
            out.write(("\n".join(batch) + "\n").encode("utf-8", "replace"))
            batch.clear()
    if batch:
        out.write(("\n".join(batch) + "\n").encode("utf-8", "replace"))
    out.flush()
    return 0


def cmd_sync(args) -> int:
    folder, db = _room_paths(args)
    try:
        report = sync(folder, push=not args.no_push, dry_run=args.dry_run, remote=args.remote, db=db)
    except SyncError as exc:
        if exc.report and exc.report.committed:
            print(_clean(f"committed: {exc.report.committed}"))
        print(_clean(f"warroom: {exc}"), file=sys.stderr)
        return 1
    for line in report.lines():
        print(_clean(line))
    return 0


def cmd_git_setup(args) -> int:
    from warroom.room import UsageError

    try:
        folder, db = _room_paths(args)
    except UsageError:
        folder, db = Path.cwd(), Path.cwd() / DB_NAME
    if not is_git_repo(folder):
        raise UsageError(f"{folder}: not a git repository; run `git init` (or clone the team's war room) first")
    try:
        changed = git_setup(folder, db.name)
    except SyncError as exc:
        raise UsageError(str(exc)) from None
    print(f"git set up in {folder}: " + (", ".join(changed) if changed else "already up to date")
          + f"; {db.name} merges as a union and diffs as text")
    return 0
