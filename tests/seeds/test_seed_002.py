"""Seed 002: P0 to P3 by response time, the four classic roles (commander, technical
lead, communications lead, scribe), updates every 30 minutes for P0 and P1, all hands at
once for P0 and the engineering lead for P1, a seven-item closure checklist and the
post-mortem within 48 hours, for P0 too."""

from __future__ import annotations

from pathlib import Path

from seed_support import ago, cli, export, glance, hhmm_after, log_command, make_room
from servers import serve

CHECKLIST = [
    "Service fully restored",
    "Monitoring shows normal metrics",
    "No related alerts firing",
    "Status page updated",
    "Stakeholders notified",
    "First timeline written",
    "Post-mortem scheduled",
]

TOML = """\
severity_profile = "P0-P3"
checklist = {checklist}

[severity.p0]
postmortem_within = "48h"
[severity.P1]
update_every = "30m"

[[check]]
name = "api"
kind = "http"
url = "{api}"
expect_status = 200

[[check]]
name = "cache stats"
kind = "http"
url = "{cache}"

[[log]]
name = "workers"
{log}

[[escalation]]
after = "0m"
to = "All hands"
severities = ["P0"]

[[escalation]]
after = "0m"
to = "Engineering lead"
severities = ["P1"]
"""


def test_classic_roles_half_hour_updates_and_the_closure_checklist(tmp_path: Path):
    with serve() as server:
        server.set("/cache/stats", 503, {"error": "cache cold"})
        room = make_room(tmp_path, "P0-P3", TOML.format(
            checklist="[" + ", ".join(f'"{item}"' for item in CHECKLIST) + "]",
            api=server.url("/healthy"), cache=server.url("/cache/stats"),
            log=log_command("2026-11-24T10:00:00Z ERROR pool exhausted: 100/100 connections")))
        from conftest import run_cli

        checked = run_cli("check", cwd=room)
        assert checked.code == 1 and "cache stats  http  DOWN    503" in checked.out

        out = cli(room, "declare", "Sign-in fails for everyone", "--severity", "P0", "--at", ago(40)).out
        assert "P0 Critical: acknowledge within 15m, update every 30m" in out and "escalate: All hands at once" in out
        assert "notify for P0" in out
        assert "ESCALATE NOW: All hands" in cli(room, "escalate").out
        for role, person in (("tl", "bob"), ("comms", "carol"), ("scribe", "dan")):
            cli(room, "role", role, person)
        # Forty minutes in, the first update is late; once posted, the next is 30 minutes on.
        dry = cli(room, "update", "--dry-run").out
        assert any(f"Next update by {t} UTC" in dry for t in hhmm_after(30))
        cli(room, "update")

        seen = glance(room, "workers", "pool exhausted")
        first_line = seen["countdown"].splitlines()[0]
        assert "every 30m" in seen["countdown"] and "OVERDUE" not in first_line  # just posted
        assert "ack OVERDUE" in seen["countdown"]  # 15 minutes to acknowledge, 40 gone
        assert "ESCALATE NOW: All hands" in seen["countdown"]
        for line in ("Incident Commander tester", "Tech Lead bob", "Communications Lead carol", "Scribe dan"):
            assert line in seen["roster"]

        cli(room, "escalate", "All hands")
        cli(room, "severity", "P1")
        assert "ESCALATE NOW: Engineering lead" in cli(room, "escalate").out
        cli(room, "status", "resolved")
        cli(room, "set", "root_cause", "The connection pool was too small for the retry storm")
        cli(room, "set", "went_well", "The rollback took two minutes")
        cli(room, "set", "could_improve", "Alert on pool saturation earlier")
        closed = cli(room, "status", "closed", "--checked", "1,2,3,4,5,6").out
        assert "6 of 7 ticked" in closed and "skipped: Post-mortem scheduled" in closed

        text = export(room)
        assert "Severity:** P1 (High)" in text
        assert "### What went well" in text and "The rollback took two minutes" in text
        assert "### What could be improved" in text and "Alert on pool saturation earlier" in text
        assert "checklist skipped: Post-mortem scheduled" in text
        assert "| Communications Lead | carol from" in text and "| Scribe | dan from" in text
