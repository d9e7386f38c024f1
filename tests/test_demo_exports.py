"""The demo's exports outlive the demo: its temporary war room goes on quitting, the
post-mortem and the last update a toast pointed to stay, and the demo says where.

Real parts: run_demo builds the real demo room (fake shop on loopback, real SQLite), and
the exports are written by the real export code or by the real console through pilot.
"""

from __future__ import annotations

import asyncio
import os

import pytest
from console_support import wait_until

from warroom.demo.run import DEMO_EXPORTS, demo_exports_dir, run_demo
from warroom.playbook import export
from warroom.record.room import Room
from warroom.ui.factory import make_app


@pytest.fixture
def started_here(tmp_path, monkeypatch):
    """The folder the demo is started from; the environment run_demo changes is restored."""
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.setenv("DEMO_URL", "unset")
    monkeypatch.setenv("PATH", os.environ.get("PATH", ""))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    return here


def test_a_post_mortem_written_in_the_demo_survives_quitting(started_here, capsys):
    seen = {}

    def console(room: Room) -> int:
        incident = room.incident()
        path = export.default_export_path(incident, room.config)  # where `E` writes it
        export.write_atomic(path, export.postmortem(incident, room.config, room.clock.now()))
        seen.update(room=room.config.root, name=path.name, short_id=incident.short_id)
        return 0

    assert run_demo(console=console) == 0
    assert not seen["room"].exists()  # the temporary war room is gone
    kept = started_here / DEMO_EXPORTS / seen["name"]
    assert kept.is_file() and seen["short_id"] in kept.read_text()
    out = capsys.readouterr().out
    assert f"The demo's exports are kept in {(started_here / DEMO_EXPORTS).resolve()}: {seen['name']}" in out


def test_a_demo_that_exported_nothing_leaves_nothing_and_says_nothing(started_here, capsys):
    assert run_demo(console=lambda room: 0) == 0
    assert list(started_here.iterdir()) == []
    assert capsys.readouterr().out == ""


def test_a_kept_demo_room_has_no_link_to_a_removed_folder(started_here, capsys):
    import re
    import shutil

    assert run_demo(keep=True, console=lambda room: 0) == 0
    room = re.search(r"kept in (\S+)", capsys.readouterr().out).group(1)
    try:
        exports = os.path.join(room, "exports")
        assert not os.path.lexists(exports)  # exporting there later makes a plain folder
        assert not (started_here / DEMO_EXPORTS).exists()
    finally:
        shutil.rmtree(room, ignore_errors=True)


def test_a_second_demo_names_only_what_it_wrote(started_here, capsys):
    kept = started_here / DEMO_EXPORTS
    kept.mkdir()
    (kept / "INC-0000-postmortem.md").write_text("from an earlier demo\n")

    def console(room: Room) -> int:
        incident = room.incident()
        export.write_atomic(export.default_export_path(incident, room.config), "today\n")
        return 0

    run_demo(console=console)
    out = capsys.readouterr().out
    assert "INC-0000" not in out and "-postmortem.md" in out
    assert (kept / "INC-0000-postmortem.md").read_text() == "from an earlier demo\n"
    assert run_demo(console=lambda room: 0) == 0
    assert capsys.readouterr().out == ""
    assert kept.is_dir()  # not empty: left alone


def test_a_folder_that_cannot_take_them_falls_back_to_the_state_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    assert demo_exports_dir(not_a_folder) == (tmp_path / "state" / "warroom" / "demo-exports").resolve()
    assert demo_exports_dir(tmp_path) == (tmp_path / DEMO_EXPORTS).resolve()


def test_the_consoles_toasts_name_the_folder_that_survives(started_here, capsys):
    """The real console on the demo room: E and a posted update say where the files really
    are, and that is where they are after quitting."""
    notes: list[str] = []

    def console(room: Room) -> int:
        async def drive() -> None:
            app = make_app(room, start_sources=False, watch=False)
            original = app.notify

            def notify(message, *args, **kwargs):
                notes.append(str(message))
                return original(message, *args, **kwargs)

            app.notify = notify
            async with app.run_test(size=(120, 40)) as pilot:
                await pilot.pause(0.2)
                await pilot.press("E")
                await wait_until(pilot, lambda: any("Post-mortem written" in note for note in notes))
                await pilot.press("u")
                await pilot.pause(0.3)
                await pilot.press("ctrl+s")
                await wait_until(pilot, lambda: any("Update posted" in note for note in notes))

        asyncio.run(drive())
        return 0

    run_demo(console=console)
    kept = (started_here / DEMO_EXPORTS).resolve()
    written = next(note for note in notes if "Post-mortem written" in note)
    path, data = written.removeprefix("Post-mortem written to ").split(" (and the incident as JSON: ")
    assert path.startswith(str(kept)) and os.path.isfile(path)
    assert os.path.isfile(os.path.join(os.path.dirname(path), data.rstrip(")")))
    posted = next(note for note in notes if "Update posted" in note)
    assert f"(also in {kept}/" in posted and "-last-update.md)" in posted
    out = capsys.readouterr().out
    assert f"kept in {kept}:" in out and "-postmortem.md" in out and "-last-update.md" in out
