"""Sharing the record through git, with pushes that never race.

Every copy of a war room (each clone, on each machine) publishes the events it knows on a
ref of its own, `refs/warroom/<copy id>`, which only it writes: a commit holding one file,
an exchange copy of its record (exchange.py). A sync fetches everyone's refs, takes in what
they hold (read, validated row by row and added: a union, so nothing is ever removed or
changed, and a hostile ref adds valid events or is quarantined, never more), and moves its
own ref forward. No two copies write the same ref, so no push waits for another.

The branch people browse (`main`, with its readable `git log -p warroom.db`) is still
committed, merged and pushed, best effort: when someone pushed it first, the next sync
tries again; it never fails or delays a sync.

A remote that cannot be reached is a state, not a loss: the record and the local commit
keep everything, and the next sync sends it. Credentials are git's own (an SSH agent, a
credential helper); warroom never asks for one.
"""

from __future__ import annotations

import fcntl
import re
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from warroom.errors import StoreError, SyncError
from warroom.record.dbfile import signature
from warroom.record.queries import Quarantined
from warroom.share import exchange
from warroom.share.describe import counts, describe
from warroom.share.git import (
    FETCHED,
    REF_PREFIX,
    GitFailed,
    Repo,
    git_setup,
    is_git_repo,
)

if TYPE_CHECKING:
    from warroom.record.room import Room

# Files of a war room that `warroom sync` commits on the branch (anything else is the user's).
ROOM_FILES = (".gitattributes", ".gitignore", "warroom.toml", "runbooks", "templates")
REF_FILE = "warroom.db"  # the one file on a copy's ref
HEARTBEAT_SECONDS = 60  # a copy with nothing new still says it is here this often


@dataclass
class SyncReport:
    remote: str
    branch: str = ""
    dry_run: bool = False
    committed: str = ""  # the commit subject on the branch, if any
    received: Counter[str] = field(default_factory=Counter)  # events that came in (by kind)
    sent: Counter[str] = field(default_factory=Counter)  # events the remote lacked (by kind)
    quarantined: list[Quarantined] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    offline: str = ""  # why the remote could not be reached
    waiting: int = 0  # events the remote does not have yet
    published: bool = False  # the remote holds our copy's ref
    branch_pushed: bool = False

    def lines(self) -> list[str]:
        where = self.remote
        out = []
        if self.dry_run:
            out.append("dry run: nothing was changed")
            out.append(f"would commit: {self.committed or 'nothing new'}")
            out.append(f"would come in from {where}: {counts(self.received) or 'nothing'}")
            out.append(f"would go out to {where}: {counts(self.sent) or 'nothing'}")
        else:
            out.append(f"committed: {self.committed}" if self.committed else "committed: nothing new")
            out.append(f"came in from {where}: {counts(self.received) or 'nothing'}")
            if self.published:
                out.append(f"went out to {where}: {counts(self.sent) or 'nothing new'}")
        if self.quarantined:
            first = self.quarantined[0]
            out.append(
                f"quarantined {len(self.quarantined)} incoming event(s), not taken in "
                f"(first: {first.id[:36]}: {first.reason}); `warroom quarantine` lists them"
            )
        out.extend(self.notes)
        return out

    def add(self, received: Counter[str], quarantined: list[Quarantined]) -> None:
        self.received.update(received)
        seen = {(q.id, q.reason) for q in self.quarantined}
        self.quarantined.extend(q for q in quarantined if (q.id, q.reason) not in seen)


@dataclass(frozen=True)
class Peer:
    """Another copy of the war room, as its ref on the remote tells: who, and when it synced."""

    copy_id: str
    author: str
    at: float  # seconds since the epoch


def sync(room: Room, *, push: bool = True, dry_run: bool = False, remote: str = "origin") -> SyncReport:
    """Take in what git brought, fetch every copy's ref, take in theirs, publish ours, and
    update the branch, best effort. Raises SyncError with one line naming the remote or file
    and what to do; the record is intact when it does."""
    folder = room.config.root
    if not is_git_repo(folder):
        raise SyncError(
            f"{folder}: not a git repository; run `git init` there and `git remote add origin URL`, then `warroom sync`"
        )
    try:
        with _lock(room.store.path.parent / "sync.lock"):
            return _sync(room, push=push, dry_run=dry_run, remote=remote)
    except GitFailed as exc:
        raise SyncError(
            f"`git {' '.join(exc.args_[:2])}` failed ({exc.line}); the record is intact. "
            f"Fix that and run `warroom sync` again"
        ) from None


@contextmanager
def _lock(path: Path, patience: float = 120) -> Iterator[None]:
    """One sync at a time per record (the console's background sync and a `warroom sync`)."""
    handle = open(path, "a+")
    try:
        deadline = time.monotonic() + patience
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise SyncError("another sync of this war room is still running; try again in a moment") from None
                time.sleep(0.05)
        yield
    finally:
        handle.close()


def _sync(room: Room, *, push: bool, dry_run: bool, remote: str) -> SyncReport:
    repo = Repo(room.config.root, room.exchange, remote)
    report = SyncReport(remote=remote, branch=repo.branch, dry_run=dry_run)
    has_remote = repo.has_remote()
    with tempfile.TemporaryDirectory(prefix="warroom-sync-") as tmpdir:
        tmp = Path(tmpdir)
        if dry_run:
            return _dry_run(room, repo, tmp, report, has_remote)
        git_setup(room.config.root, room.exchange.name)
        if any(repo.git_path(name).exists() for name in ("rebase-merge", "rebase-apply")):
            raise SyncError(
                f"a rebase is in progress in {repo.top}; finish it (or `git rebase --abort`) "
                f"and run `warroom sync` again"
            )
        if repo.rev("MERGE_HEAD"):
            _finish_pull(room, repo, tmp, report)
        _take_in_worktree(room, report)
        if has_remote and _fetch(repo, report):
            _take_in_refs(room, repo, tmp, report)
        online = has_remote and not report.offline
        _publish(room, repo, tmp, report, push=push and online)
        if repo.branch:
            _update_branch(room, repo, tmp, report, push=push and has_remote and not report.offline)
        else:
            report.notes.append(
                "HEAD is detached: the branch was left alone (your copy's ref carries "
                "the record); `git switch main` to update it too"
            )
    if not has_remote:
        report.notes.append(
            f"no remote {remote!r}: committed locally only; add one with "
            f"`git remote add {remote} URL` and run `warroom sync` again"
        )
    elif report.offline:
        report.notes.append(
            f"{remote} could not be reached ({report.offline}); {report.waiting} event(s) "
            f"wait in the local record and go out with the next sync"
        )
    elif not push:
        report.notes.append("not pushed (--no-push)")
    return report


def _take_in_worktree(room: Room, report: SyncReport) -> None:
    """warroom.db as git left it (a pull, a checkout, a hand edit) can only add events."""
    before = len(room.notes)
    result = room.take_in()
    if result is not None:
        report.add(Counter(event.kind for event in result.added), result.quarantined)
    report.notes.extend(room.notes[before:])
    del room.notes[before:]


def _fetch(repo: Repo, report: SyncReport) -> bool:
    """Every copy's ref, and the branch; False (with report.offline) when the remote is out of reach."""
    specs = [f"+{REF_PREFIX}*:{FETCHED}{repo.remote}/*"]
    if repo.branch:
        specs.append(f"+refs/heads/{repo.branch}:{repo.tracking}")
    while True:
        try:
            repo.run("fetch", "--quiet", "--no-tags", "--prune", repo.remote, *specs, timeout=300)
            return True
        except GitFailed as exc:
            if len(specs) > 1 and "couldn't find remote ref" in exc.stderr.lower():
                specs = specs[:1]  # the remote has no such branch yet: the first push makes it
                continue
            report.offline = exc.line
            return False
        except SyncError as exc:  # a timeout
            report.offline = str(exc).split(";")[0]
            return False


def _take_in_refs(room: Room, repo: Repo, tmp: Path, report: SyncReport) -> None:
    """Import each fetched copy (and the branch's warroom.db) whose commit is new to us."""
    sources: list[tuple[str, str, str, str]] = []  # (source, commit, path in it, who)
    for name, (commit, author, _when) in sorted(repo.refs(f"{FETCHED}{repo.remote}/").items()):
        copy_id = name.rsplit("/", 1)[-1]
        sources.append(
            (
                f"ref:{repo.remote}/{copy_id}",
                commit,
                REF_FILE,
                f"{author[:40] or 'someone'}'s copy ({copy_id[:8]}) on {repo.remote}",
            )
        )
    if repo.branch:
        theirs = repo.rev(repo.tracking)
        if theirs:
            sources.append((f"branch:{repo.remote}/{repo.branch}", theirs, repo.rel, f"{repo.remote}/{repo.branch}"))
    for index, (source, commit, inside, label) in enumerate(sources):
        if room.store.imported(source) == commit:
            continue
        blob = repo.blob(f"{commit}:{inside}", tmp / f"in-{index}.db")
        if blob is None:
            report.notes.append(f"{label} holds no {inside}; skipped")
            room.store.remember(source, commit)
            continue
        try:
            result = room.store.import_file(blob, source, signature=commit)
        except StoreError as exc:
            reason = str(exc).replace(f"{blob}: ", "").split(";")[0]
            report.notes.append(
                f"{label} was not taken in ({reason}); the rest of the sync went on and your record is intact"
            )
            room.store.remember(source, commit)
            continue
        report.add(Counter(event.kind for event in result.added), result.quarantined)


def _publish(room: Room, repo: Repo, tmp: Path, report: SyncReport, *, push: bool) -> None:
    """Our copy's ref: a new commit when the record changed (or, as a sign of life, once a
    HEARTBEAT), pushed with force: only this copy ever writes it."""
    store = room.store
    mine = f"{REF_PREFIX}{store.copy_id}"
    fetched = f"{FETCHED}{repo.remote}/{store.copy_id}"
    path = tmp / "publish.db"
    exchange.write(store.path, path)
    blob = repo.run("hash-object", "-w", "--", str(path)).stdout.strip()
    tip = repo.rev(mine)
    if tip is not None:
        tip_blob = repo.run("rev-parse", "-q", "--verify", f"{tip}:{REF_FILE}", check=False).stdout.strip()
        when = int(repo.run("show", "-s", "--format=%ct", tip).stdout.strip() or 0)
    else:
        tip_blob, when = "", 0
    if blob != tip_blob or time.time() - when > HEARTBEAT_SECONDS:
        tree = repo.run("mktree", input=f"100644 blob {blob}\t{REF_FILE}\n").stdout.strip()
        who = _identity(store.author)
        commit = repo.run(
            "commit-tree",
            tree,
            *(["-p", tip] if tip else []),
            "-m",
            f"warroom: {store.author[:60]}'s copy of the record",
            env=who,
        ).stdout.strip()
        repo.run("update-ref", "-m", "warroom sync", mine, commit, tip or "")
        tip = commit
    top, waiting = store.unpublished(repo.remote)
    if not push:
        report.waiting = len(waiting)
        return
    assert tip is not None  # published above, or already there
    if repo.rev(fetched) != tip:
        proc = repo.run("push", "--porcelain", repo.remote, f"+{mine}:{mine}", check=False, timeout=300)
        if proc.returncode != 0:
            report.offline = report.offline or GitFailed(("push",), proc).line
            report.waiting = len(waiting)
            return
        repo.run("update-ref", fetched, tip)
    store.published(repo.remote, top)
    report.published = True
    report.sent.update(Counter(waiting))


def _identity(author: str) -> dict[str, str]:
    email = re.sub(r"[^A-Za-z0-9._-]+", "-", author)[:60] + "@warroom.invalid"
    return {
        "GIT_AUTHOR_NAME": author[:100] or "warroom",
        "GIT_AUTHOR_EMAIL": email,
        "GIT_COMMITTER_NAME": author[:100] or "warroom",
        "GIT_COMMITTER_EMAIL": email,
    }


def _update_branch(room: Room, repo: Repo, tmp: Path, report: SyncReport, *, push: bool) -> None:
    """warroom.db written afresh from the record and committed; the remote's branch merged
    (the merge driver unions the copies); pushed once. Never an error when raced."""
    store = room.store
    head = repo.blob(f"HEAD:{repo.rel}", tmp / "head.db") if repo.rev("HEAD") else None
    try:
        local = store.missing(head)
    except StoreError:
        local = store.missing(None)
    _write_worktree_copy(room)
    paths = repo.room_paths(ROOM_FILES)
    if repo.stage(paths):
        names = {s.id: s.short_id for s in room.summaries()}
        if local:
            subject, body = describe(local, names)
        elif repo.rev("HEAD") is None:
            subject, body = "warroom: start the war room", ""
        else:
            subject, body = "warroom: update war room files", ""
        repo.commit(subject + ("\n\n" + body.strip() if body.strip() else ""), paths)
        report.committed = subject
    theirs = repo.rev(repo.tracking)
    if theirs and not (repo.rev("HEAD") and repo.is_ancestor(theirs, "HEAD")):
        if _merge_branch(repo, theirs, report):
            _take_in_worktree(room, report)
            _write_worktree_copy(room)
            if repo.stage([repo.rel]):
                repo.commit("warroom: the union of the records", [repo.rel])
    if push and repo.rev("HEAD") and not (theirs and repo.is_ancestor("HEAD", theirs)):
        ref = f"refs/heads/{repo.branch}"
        proc = repo.run("push", "--porcelain", repo.remote, f"{ref}:{ref}", check=False, timeout=300)
        report.branch_pushed = proc.returncode == 0
        if proc.returncode == 0 and not theirs:
            repo.run("branch", "--set-upstream-to", f"{repo.remote}/{repo.branch}", check=False)


def _write_worktree_copy(room: Room) -> None:
    exchange.write(room.store.path, room.exchange)
    room.store.remember(f"file:{room.exchange.name}", signature(room.exchange))


def _merge_branch(repo: Repo, theirs: str, report: SyncReport) -> bool:
    """git merge of the remote's branch; False (and the merge undone, with a note) when files
    other than the record conflict: the record itself travels on the refs anyway."""
    args = ["merge", "--no-edit", "--quiet", "-m", f"warroom: merge {repo.remote}/{repo.branch}"]
    if repo.rev("HEAD") and repo.run("merge-base", "HEAD", theirs, check=False).returncode != 0:
        # Two war rooms started apart (both `warroom init`, one remote): only a war room may be
        # merged in that way, never an unrelated project.
        if repo.run("cat-file", "-e", f"{theirs}:{repo.rel}", check=False).returncode != 0:
            report.notes.append(
                f"{repo.remote}/{repo.branch} shares no history with this war room and holds "
                f"no {repo.rel}; the branch was left alone (check `git remote -v`)"
            )
            return False
        args.append("--allow-unrelated-histories")
    proc = repo.run(*args, theirs, check=False, extra=repo.identity())
    if proc.returncode == 0:
        return True
    conflicted = repo.conflicted()
    others = [name for name in conflicted if name != repo.rel]
    if conflicted and not others:
        # Only the record conflicted (the merge driver is missing or failed): its union is in
        # the record already; write it and conclude.
        return _conclude(repo)
    if repo.rev("MERGE_HEAD"):
        repo.run("merge", "--abort", check=False)
    what = f"{', '.join(others[:3])} conflict with yours" if others else GitFailed(tuple(args), proc).line
    report.notes.append(
        f"{repo.remote}/{repo.branch} was not merged ({what}); the record still went "
        f"out on your copy's ref. Run `git merge {repo.remote}/{repo.branch}`, resolve, "
        f"commit, then `warroom sync`"
    )
    return False


def _conclude(repo: Repo) -> bool:
    repo.run("add", "-f", "--", repo.rel)
    repo.commit("warroom: finish merge (union of the records)", None)
    return True


def _finish_pull(room: Room, repo: Repo, tmp: Path, report: SyncReport) -> None:
    """A `git pull` without the merge driver left warroom.db conflicted: take in both sides,
    write the union and conclude the merge."""
    conflicted = repo.conflicted()
    others = [name for name in conflicted if name != repo.rel]
    if others:
        raise SyncError(
            f"a merge is in progress with conflicts in {', '.join(others[:3])}; resolve them "
            f"(or `git merge --abort`) and run `warroom sync` again"
        )
    if repo.rel in conflicted:
        for stage in (2, 3):
            side = repo.blob(f":{stage}:{repo.rel}", tmp / f"stage{stage}.db")
            if side is None or side.stat().st_size == 0:
                continue
            try:
                result = room.store.import_file(side, f"merge-stage-{stage}")
            except StoreError as exc:
                report.notes.append(
                    f"the {'local' if stage == 2 else 'incoming'} side of the merge was not "
                    f"taken in ({str(exc).replace(f'{side}: ', '').split(';')[0]})"
                )
                continue
            report.add(Counter(e.kind for e in result.added) if stage == 3 else Counter(), result.quarantined)
        _write_worktree_copy(room)
    _conclude(repo)
    report.notes.append("finished the merge a plain `git pull` had left conflicted")


def _dry_run(room: Room, repo: Repo, tmp: Path, report: SyncReport, has_remote: bool) -> SyncReport:
    """What a sync would commit, take in and send; the record, the files and the refs the
    user sees stay as they are (only the cache of the remote's refs is brought up to date)."""
    if has_remote and _fetch(repo, report):
        for index, (_name, (commit, _author, _when)) in enumerate(repo.refs(f"{FETCHED}{repo.remote}/").items()):
            blob = repo.blob(f"{commit}:{REF_FILE}", tmp / f"dry-{index}.db")
            if blob is not None:
                try:
                    report.received.update(row[0] for row in room.store.missing(blob, theirs_new=True))
                except StoreError:
                    continue
    report.sent.update(room.store.unpublished(repo.remote)[1])
    # "would commit" is what the branch's commit would hold (the record's events HEAD lacks), in
    # the words the commit would use; `sent` is what would go out on this copy's ref.
    head = repo.blob(f"HEAD:{repo.rel}", tmp / "dry-head.db") if repo.rev("HEAD") else None
    try:
        local = room.store.missing(head)
    except StoreError:
        local = room.store.missing(None)
    if local:
        report.committed = describe(local, {s.id: s.short_id for s in room.summaries()})[0]
    if not has_remote:
        report.notes.append(f"no remote {repo.remote!r}; `git remote add {repo.remote} URL` to share the record")
    return report


def peers(room: Room, remote: str = "origin") -> list[Peer]:
    """The other copies that have synced with `remote`, newest first, read from the refs the
    last fetch brought (no traffic of its own)."""
    if not is_git_repo(room.config.root):
        return []
    repo = Repo(room.config.root, room.exchange, remote)
    mine = room.store.copy_id
    found = [
        Peer(name.rsplit("/", 1)[-1], author, when)
        for name, (_commit, author, when) in repo.refs(f"{FETCHED}{remote}/").items()
    ]
    return sorted((p for p in found if p.copy_id != mine), key=lambda p: -p.at)
