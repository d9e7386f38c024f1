"""Launch the wheel: build it, install it apart from the source tree, open the console headless.

An editable install finds data files next to the sources; a wheel finds only what was
packaged. This proves themes, the stylesheet, severity profiles, templates and the demo
made it in.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = textwrap.dedent('''
    import asyncio, sys, tempfile
    from pathlib import Path
    import warroom
    assert "site" in warroom.__file__ and "/src/" not in warroom.__file__, warroom.__file__
    from warroom.record.clock import FrozenClock
    from warroom.record.room import Room
    from warroom.share.setup import init
    from warroom.ui.factory import make_app
    from warroom.ui.themes import load_themes
    from warroom.config import bundled_profiles
    assert {t.name for t in load_themes()} == {"warroom-dark", "warroom-light", "warroom-high-contrast"}
    assert bundled_profiles() == ["P0-P3", "P1-P4", "SEV1-SEV4"]
    import json
    from warroom.playbook.json_export import schema_text
    assert json.loads(schema_text())["properties"]["schema_version"] == {"const": 1}  # `warroom schema`
    folder = Path(tempfile.mkdtemp()) / "room"
    init(folder)
    assert sorted(p.name for p in (folder / "templates").glob("*.md"))
    clock = FrozenClock("2026-11-24T10:00:00Z")
    room = Room.open(folder / "warroom.toml", clock=clock, author="alice")
    room.declare("Wheel check", "P2", "nobody")
    async def main():
        app = make_app(room, clock, start_sources=False, watch=False)
        async with app.run_test(size=(100, 30)) as pilot:
            for _ in range(50):
                await pilot.pause(0.05)
                if app.incident is not None:
                    break
            print("TITLE", app.query_one("#hdr-title").render())
            print("THEME", app.theme)
    asyncio.run(main())
''')


def test_the_installed_wheel_opens_the_console(tmp_path):
    wheels = tmp_path / "wheels"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(ROOT)],
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    wheel = next(wheels.glob("warroom-*.whl"))
    site = tmp_path / "site"
    install = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr
    env = dict(os.environ, PYTHONPATH=str(site), XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    # -P: do not put the current folder first; run from outside the source tree.
    probe = subprocess.run([sys.executable, "-P", "-c", PROBE], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr
    assert "TITLE Wheel check" in probe.stdout
    assert "THEME warroom-dark" in probe.stdout
