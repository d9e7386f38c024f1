"""The core imports neither textual nor httpx (checked in a fresh interpreter)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

CORE = ["warroom.config", "warroom.record.clock", "warroom.record.events", "warroom.record.fold", "warroom.record.store", "warroom.share.sync",
        "warroom.playbook.export", "warroom.playbook.templates", "warroom.text.sanitize", "warroom.record.room", "warroom.record.views",
        "warroom.share.exchange", "warroom.share.git", "warroom.share.dump"]
FORBIDDEN = ["textual", "httpx"]


def test_core_does_not_import_the_ui_or_http():
    present = [name for name in CORE if importlib.util.find_spec(name) is not None]
    for required in ("warroom.config", "warroom.record.store", "warroom.record.fold", "warroom.record.room", "warroom.playbook.export",
                     "warroom.record.views", "warroom.share.exchange", "warroom.share.git", "warroom.share.dump", "warroom.share.sync"):
        assert required in present
    code = (
        "import importlib, json, sys\n"
        f"for name in {present!r}:\n"
        "    importlib.import_module(name)\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r})))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_the_check_itself_can_fail():
    """The same probe sees textual when something does import it."""
    code = "import sys, textual; print('textual' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "True"
