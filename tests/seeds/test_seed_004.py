"""Seed 004: a team with four SEV levels, each with a response and a resolution target
(critical: picked up at once and fixed within the hour; low: best effort, fixed in the
next release), an escalation path (senior engineer when not fixed in 30 minutes, the
engineering manager for every critical incident, the CTO for a long outage), and tasks
due a day and a week after resolution."""

from __future__ import annotations

from pathlib import Path

from seed_support import ago, cli, export, glance, log_command, make_room
from servers import serve

TOML = """\
severity_profile = "SEV1-SEV4"

[[check]]
name = "app health"
kind = "http"
url = "{health}"
expect_json = {{ status = "ok" }}

[[check]]
name = "queue"
kind = "command"
command = ["{python}", "-c", "raise SystemExit(0)"]

[[log]]
name = "app"
{log}

[[contact]]
role = "On-call engineer"
name = "Whoever holds the pager"
reach = "pager"

[[escalation]]
after = "0m"
to = "Engineering manager"
severities = ["sev1"]

[[escalation]]
after = "30m"
to = "Senior engineer"

[[escalation]]
after = "2h"
to = "CTO"
severities = ["SEV1"]
"""


def test_sev_levels_escalation_path_and_resolution_targets(tmp_path: Path):
    import sys

    with serve() as server:
        room = make_room(tmp_path, "sev1-sev4", TOML.format(
            health=server.url("/healthy"), python=sys.executable.replace("\\", "\\\\"),
            log=log_command('{"level":"error","msg":"upstream returned 502"}')))
        checked = cli(room, "check").out
        assert "app health" in checked and "queue" in checked and "down" not in checked

        # Critical: picked up at once, fixed within the hour; the manager is called at once.
        out = cli(room, "declare", "Application down", "--severity", "sev1", "--impact", "every page 502",
                  "--at", ago(35)).out
        assert "SEV1 Critical: acknowledge at once" in out and "resolve within 1h" in out
        path = cli(room, "escalate").out
        # Both rungs due show, flagged, not only the next one.
        assert "ESCALATE NOW: Engineering manager" in path and "ESCALATE NOW: Senior engineer" in path
        assert "CTO at" in path
        cli(room, "ack")
        cli(room, "escalate", "Engineering manager")
        path = cli(room, "escalate").out
        assert "escalated: Engineering manager" in path and "ESCALATE NOW: Senior engineer" in path

        seen = glance(room, "app", "upstream returned 502")
        assert "ESCALATE NOW: Senior engineer" in seen["countdown"]
        assert "Engineering manager" not in seen["countdown"]  # its call is recorded
        assert "resolve by" in seen["countdown"] and "every 15m" in seen["countdown"]

        cli(room, "log", "Rolled back to the previous image", "--kind", "action")
        cli(room, "status", "identified")
        cli(room, "update", "We found the cause and are rolling back.")
        cli(room, "status", "resolved")
        cli(room, "set", "root_cause", "A bad image was deployed")
        cli(room, "set", "resolution", "Rolled back to the previous image")
        cli(room, "action", "add", "Smoke test images before rollout", "--owner", "ops", "--due", "2026-12-20")
        cli(room, "update", "Resolved: every page answers again.")  # resolved still counts as meant
        closed = cli(room, "status", "closed", "--checked", "1,2,3,4,5,6,7").out
        assert "7 of 7 ticked" in closed and "skipped" not in closed

        text = export(room)
        assert "**Resolution target:** 1h: met (resolved 35m after declaration)" in text
        assert "- Status page marked resolved: by " in text and "(1d)" in text
        assert "- Post-mortem written, action items filed: by " in text and "(7d)" in text
        for section in ("## Root cause", "## Resolution", "## Action items", "## Lessons learned",
                        "## Timeline", "## Status updates sent"):
            assert section in text
        assert "Escalated to Engineering manager" in text and "Smoke test images before rollout" in text

        # Low: best effort, fixed in the next release: no targets, no countdown, no escalation.
        out = cli(room, "declare", "A typo on the pricing page", "--severity", "SEV4").out
        assert "acknowledge when possible (no target)" in out and "resolve when possible (no target)" in out
        assert "no escalation" in out
        assert "no escalation path for SEV4" in cli(room, "escalate").out
