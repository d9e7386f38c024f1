"""git plumbing for sharing the record: running git, the clone's setup, refs and blobs.

Core: it imports neither textual nor httpx; it runs git as a subprocess, never a shell.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from warroom.errors import SyncError
from warroom.paths import GITIGNORE_LINES
from warroom.text.sanitize import sanitize

DB_NAME = "warroom.db"
MERGE_DRIVER_NAME = "warroom: union of the events of both copies"
# Every copy of the war room publishes its record on a ref of its own, written only by it;
# what the remote holds of them is fetched under FETCHED/<remote>/.
REF_PREFIX = "refs/warroom/"
FETCHED = "refs/warroom-fetched/"


class GitFailed(Exception):
    def __init__(self, args: tuple[str, ...], proc: subprocess.CompletedProcess[Any]) -> None:
        self.args_ = args
        self.proc = proc
        self.stderr = proc.stderr or ""
        self.stdout = proc.stdout or ""
        if isinstance(self.stdout, bytes):
            self.stdout = self.stdout.decode("utf-8", "replace")
        lines = [line.strip() for line in self.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.lower().startswith(("fatal:", "error:"))]
        line = (errors or lines or [f"exit status {proc.returncode}"])[0]
        remote = [text for text in lines if text.startswith("remote:")]
        if remote and remote[0] != line:
            line = f"{line} ({remote[0]})"  # a refusing server says why only there
        # git's stderr carries the remote's own words: one inert line, wherever it goes.
        self.line = sanitize(line, limit=400)
        super().__init__(f"git {' '.join(args[:2])}: {self.line}")


def git_env() -> dict[str, str]:
    env = dict(os.environ)
    env["LC_ALL"] = "C"
    env["LANGUAGE"] = "C"
    env.pop("GIT_DIR", None)
    env.pop("GIT_WORK_TREE", None)
    env.pop("GIT_INDEX_FILE", None)
    # Never ask for a password: credentials are git's own (an SSH agent, a credential helper),
    # and a prompt would hang a sync running behind the console.
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


def git(
    folder: Path,
    *args: str,
    check: bool = True,
    timeout: float = 120,
    stdout: int | None = None,
    extra: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> subprocess.CompletedProcess[Any]:
    command = ["git", *extra, *args]
    try:
        proc = subprocess.run(
            command,
            cwd=folder,
            env={**git_env(), **(env or {})},
            text=stdout is None,
            stdout=stdout if stdout is not None else subprocess.PIPE,
            stderr=subprocess.PIPE,
            **({"input": input} if input is not None else {"stdin": subprocess.DEVNULL}),
            timeout=timeout,
        )
    except FileNotFoundError:
        raise SyncError("git is not installed or not on PATH; install git to share the record") from None
    except subprocess.TimeoutExpired:
        raise SyncError(
            f"`git {' '.join(args[:2])}` did not finish within {timeout:.0f} s "
            f"(a slow or unreachable remote?); nothing was lost, run `warroom sync` again"
        ) from None
    if isinstance(proc.stderr, bytes):
        proc.stderr = proc.stderr.decode("utf-8", "replace")
    if check and proc.returncode != 0:
        raise GitFailed(tuple(args), proc)
    return proc


def is_git_repo(folder: Path | str) -> bool:
    """True when `folder` is inside a git work tree."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    try:
        proc = subprocess.run(
            ["git", "rev-parse", "--is-inside-work-tree"],
            cwd=folder,
            env=git_env(),
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return proc.returncode == 0 and proc.stdout.strip() == "true"


def ensure_lines(path: Path, lines: Iterable[str]) -> bool:
    """Append to the file at `path` the `lines` it lacks (whole lines); True when it changed."""
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    have = {line.strip() for line in existing.splitlines()}
    missing = [line for line in lines if line not in have]
    if not missing:
        return False
    prefix = "" if not existing or existing.endswith("\n") else "\n"
    tmp = path.with_name(path.name + ".warroom-tmp")
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
    if ensure_lines(folder / ".gitattributes", [f"{db_name} merge=warroom diff=warroom"]):
        changed.append(".gitattributes")
    if ensure_lines(folder / ".gitignore", GITIGNORE_LINES):
        changed.append(".gitignore")
    if is_git_repo(folder):
        for key, value in driver_commands().items():
            current = git(folder, "config", "--local", "--get", key, check=False).stdout.strip()
            if current != value:
                try:
                    git(folder, "config", "--local", key, value)
                except GitFailed as exc:
                    raise SyncError(f"cannot write the git config of {folder} ({exc.line})") from None
                changed.append(key)
    return changed


class Repo:
    """The git repository a war room lives in, seen from the war room's folder."""

    def __init__(self, folder: Path, db: Path, remote: str) -> None:
        self.folder = folder
        self.db = db
        self.remote = remote
        top = git(folder, "rev-parse", "--show-toplevel").stdout.strip()
        self.top = Path(top).resolve()
        try:
            self.rel = db.resolve().relative_to(self.top).as_posix()
        except ValueError:
            raise SyncError(
                f"{db}: the shared copy is outside the git repository {self.top}; move it into the war room folder"
            ) from None
        proc = git(folder, "symbolic-ref", "-q", "--short", "HEAD", check=False)
        self.branch = proc.stdout.strip() if proc.returncode == 0 else ""  # "" when detached
        self.tracking = f"refs/remotes/{remote}/{self.branch}"

    def run(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[Any]:
        return git(self.top, *args, **kwargs)

    def rev(self, name: str) -> str | None:
        proc = self.run("rev-parse", "-q", "--verify", f"{name}^{{commit}}", check=False)
        return (proc.stdout.strip() or None) if proc.returncode == 0 else None

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

    def refs(self, prefix: str) -> dict[str, tuple[str, str, int]]:
        """name -> (commit, author name, commit time) of the refs under `prefix`."""
        out = self.run(
            "for-each-ref", "--format=%(refname)%00%(objectname)%00%(authorname)%00%(committerdate:unix)", prefix
        ).stdout
        found = {}
        for line in out.splitlines():
            parts = line.split("\0")
            if len(parts) == 4:
                try:
                    found[parts[0]] = (parts[1], parts[2], int(parts[3] or 0))
                except ValueError:
                    continue
        return found

    def room_paths(self, names: Iterable[str]) -> list[str]:
        paths = [self.rel] + [(self.folder / name).resolve().relative_to(self.top).as_posix() for name in names]
        return [n for n in dict.fromkeys(paths) if (self.top / n).exists()]

    def stage(self, paths: list[str]) -> bool:
        """Stage the war room's files; True when that changes anything. The shared copy is added
        with -f: a global `*.db` ignore rule must not keep it out of the shared history."""
        self.run("add", "-f", "--", self.rel)
        others = [p for p in paths if p != self.rel]
        if others:
            self.run("add", "-A", "--", *others)
        return self.run("diff", "--cached", "--quiet", "--", *paths, check=False).returncode != 0

    def identity(self) -> tuple[str, ...]:
        """`-c user.name=... -c user.email=...` when this clone has no identity of its own."""
        name = self.run("config", "user.name", check=False).stdout.strip()
        email = self.run("config", "user.email", check=False).stdout.strip()
        if name and email:
            return ()
        from warroom.record.store import default_author

        who = name or default_author()
        return (
            "-c",
            f"user.name={who}",
            "-c",
            f"user.email={email or re.sub(r'[^A-Za-z0-9._-]+', '-', who) + '@warroom.invalid'}",
        )

    def commit(self, message: str, paths: list[str] | None) -> None:
        args = ["commit", "--quiet", "--no-verify", "-m", message]
        if paths is not None:
            args += ["--", *paths]
        proc = self.run(*args, check=False, extra=self.identity())
        if proc.returncode != 0:
            raise SyncError(
                f"git commit failed in {self.top} ({GitFailed(tuple(args), proc).line}); the record is intact"
            )

    def conflicted(self) -> list[str]:
        return [line for line in self.run("diff", "--name-only", "--diff-filter=U").stdout.splitlines() if line]
