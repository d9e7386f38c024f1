"""Running the demo: `warroom demo`, `make demo`, and `python -m warroom.demo ...` (see shop.py's
docstring for the subcommands the demo's config and runbooks call back into)."""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from warroom.demo.shop import DemoService
from warroom.demo.story import build_demo
from warroom.demo.streams import LOG_SOURCES, restart_worker, run_logs

if TYPE_CHECKING:
    from warroom.record.room import Room


def _python_on_path() -> None:
    """The demo's log sources and runbooks run `python3 -m warroom.demo`: make that this Python.

    `make demo` runs .venv/bin/warroom without activating the venv, so the first python3 on
    PATH might not have warroom installed.
    """
    bindir = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    if path.split(os.pathsep)[:1] != [bindir]:
        os.environ["PATH"] = bindir + (os.pathsep + path if path else "")


DEMO_EXPORTS = "warroom-demo-exports"


def demo_exports_dir(cwd: Path | None = None) -> Path:
    """Where the demo's exports go so that they outlive it: `warroom-demo-exports/` in the
    folder the demo was started from (where a new user looks first, next to what they ran),
    or, when that folder cannot take it, `demo-exports/` in the user's state folder."""
    from warroom.paths import user_state_dir

    for folder in (Path(cwd or os.getcwd()) / DEMO_EXPORTS, user_state_dir() / "demo-exports"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(folder, os.W_OK | os.X_OK):
            return folder.resolve()
    raise OSError("neither ./warroom-demo-exports nor the user's state folder can be written")


def keep_exports(room_folder: Path, target: Path) -> Callable[[], str]:
    """Make the demo room's exports/ land in `target`, which outlives the temporary room.

    Returns what to say once the console has closed: the folder and the files written there
    during this run, or nothing when none was (the folder is then removed if it was made for
    this run and is empty)."""
    had_files = any(target.iterdir())
    before = {p.name: p.stat().st_mtime_ns for p in target.iterdir()}
    exports = room_folder / "exports"
    try:
        exports.symlink_to(target, target_is_directory=True)
        linked = True
    except OSError:  # no symbolic links here: copy them over when the console closes
        linked = False

    def report() -> str:
        try:
            if not linked and exports.is_dir():
                for path in exports.iterdir():
                    if path.is_file() and not path.name.startswith("."):
                        shutil.copy2(path, target / path.name)
                    elif path.is_dir() and not path.name.startswith("."):  # the status page (W)
                        shutil.copytree(path, target / path.name, dirs_exist_ok=True)
            written = sorted(
                p.name + ("/" if p.is_dir() else "")
                for p in target.iterdir()
                if (p.is_file() or p.is_dir())
                and not p.name.startswith(".")
                and before.get(p.name) != p.stat().st_mtime_ns
            )
        except OSError as exc:
            return f"The demo's exports could not be kept in {target}: {exc}"
        if not written:
            if not had_files:
                try:
                    target.rmdir()
                    if linked:  # a kept room (--keep) must not point at a folder that is gone
                        exports.unlink()
                except OSError:
                    pass
            return ""
        return f"The demo's exports are kept in {target}: {', '.join(written)}"

    return report


def run_demo(keep: bool = False, *, console: Callable[[Room], int] | None = None) -> int:
    """Open the console on a fresh demo war room; remove it afterwards unless `keep`.

    `console(room) -> exit code` defaults to warroom.ui.app.run_console (tests pass their own).
    """
    from warroom.errors import ConfigError, StoreError, UsageError
    from warroom.record.clock import SystemClock
    from warroom.record.room import Room

    folder = Path(tempfile.mkdtemp(prefix="warroom-demo-"))
    service = DemoService()
    exports_report: Callable[[], str] | None = None
    code = 1
    try:
        os.environ["DEMO_URL"] = service.start()
        _python_on_path()
        config_path = build_demo(folder, SystemClock())
        # The post-mortem and the last update a toast points to must survive quitting.
        exports_report = keep_exports(folder, demo_exports_dir())
        if console is None:
            try:
                from warroom.ui.factory import run_console

                console = run_console
            except ImportError as exc:
                print(
                    f"warroom demo: the console cannot start ({exc}); reinstall warroom (`make clean demo`)",
                    file=sys.stderr,
                )
                return 1
        room = Room.open(config_path)
        try:
            code = console(room)
        finally:
            room.close()
    except (ConfigError, StoreError, UsageError, OSError) as exc:
        print(f"warroom demo: {exc}", file=sys.stderr)
        code = 1
    finally:
        service.stop()
        if exports_report is not None:
            said = exports_report()
            if said:
                print(said)
        if keep:
            print(
                f"demo war room kept in {folder} (start its fake shop with "
                f"`python3 -m warroom.demo serve` and export DEMO_URL to reuse it)"
            )
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return code


def serve(port: int = 0) -> int:
    service = DemoService(port=port)
    url = service.start()
    print(f"export DEMO_URL={url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        service.stop()


USAGE = """usage: python -m warroom.demo [--keep]         open the console on a demo war room
       python -m warroom.demo logs checkout|worker  print a fake log stream forever
       python -m warroom.demo restart-worker        pretend to restart the worker
       python -m warroom.demo serve [PORT]          run the fake shop alone"""


def _quiet_exit(signum: int, frame: Any) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGTERM, _quiet_exit)
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # a closed reader ends us silently
    try:
        if args[:1] == ["logs"] and len(args) == 2 and args[1] in LOG_SOURCES:
            return run_logs(args[1])
        if args == ["restart-worker"]:
            return restart_worker()
        if args[:1] == ["serve"] and len(args) <= 2 and all(a.isdigit() for a in args[1:]):
            return serve(int(args[1]) if len(args) == 2 else 0)
        if args in ([], ["--keep"]):
            return run_demo(keep=bool(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        try:  # stop the interpreter's final flush from complaining about the closed pipe
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except OSError:
            pass
        return 0
    print(USAGE, file=sys.stderr)
    return 2
