"""Seed 000: a web shop on an edge platform. Four P levels by response time (15 minutes
for a full outage down to a day for cosmetic flaws), updates every 15 minutes for an
outage, help from the platform team, and three tasks after every outage: a written
summary within a day, a review meeting within a week, the action items within two."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import run_cli
from seed_support import cli, export, glance, hhmm_after, log_command, make_room
from servers import serve

TOML = """\
severity_profile = "P1-P4"

[[check]]
name = "storefront"
kind = "http"
url = "{storefront}"
max_latency = "500ms"

[[check]]
name = "edge provider"
kind = "statuspage"
url = "{statuspage}"

[[check]]
name = "error rate"
kind = "metrics"
url = "{metrics}"
sample = 'http_requests_error_ratio{{service="search"}}'
down_above = 0.05

[[log]]
name = "edge worker"
{log}

[[escalation]]
after = "30m"
to = "Platform team"
severities = ["P1", "P2"]
"""


def test_web_shop_outage_from_declaration_to_post_mortem(tmp_path: Path):
    with serve() as server:
        room = make_room(tmp_path, "P1-P4", TOML.format(
            storefront=server.url("/healthy"), statuspage=server.url("/statuspage/api/v2/status.json"),
            metrics=server.url("/metrics"),
            log=log_command("ERROR checkout worker threw: upstream timeout", "INFO retrying")))
        table = run_cli("check", cwd=room)
        assert table.code == 1  # an error rate above 5% is down: the guide's alert threshold
        assert re.search(r"error rate +metrics +DOWN .*0\.07 > 0\.05", table.out)
        assert re.search(r"storefront +http +UP", table.out) and re.search(r"edge provider +statuspage +UP", table.out)

        out = cli(room, "declare", "All storefronts return 500", "--severity", "p1",
                  "--impact", "no shopper can check out").out
        assert "P1 Critical: acknowledge within 15m, update every 15m, resolve within 4h" in out
        assert "notify for P1" in out
        cli(room, "ack")
        cli(room, "log", "Worker error rate above 5% in the dashboard", "--kind", "finding")
        dry = cli(room, "update", "--dry-run").out
        assert any(f"Next update by {t} UTC" in dry for t in hhmm_after(15))  # one cadence after posting
        cli(room, "update")

        seen = glance(room, "edge worker", "upstream timeout")
        assert "every 15m" in seen["countdown"] and "Platform team at" in seen["countdown"]

        cli(room, "status", "identified")
        cli(room, "log", "Rolled back to the last known good deploy", "--kind", "action")
        cli(room, "status", "monitoring")
        cli(room, "status", "resolved")
        cli(room, "set", "root_cause", "A deploy read a missing setting")
        cli(room, "set", "resolution", "Rolled back, then fixed the setting")
        cli(room, "set", "lessons", "Check settings in the deploy pipeline")
        cli(room, "action", "add", "Validate settings before deploy", "--owner", "platform", "--due", "2026-12-08")
        assert "update recorded" in cli(room, "update", "Resolved: checkout works again.").out
        closed = cli(room, "status", "closed", "--checked", "1,2,3,4,5,6").out
        assert "skipped: Post-mortem scheduled" in closed

        text = export(room)
        assert "# Post-mortem: All storefronts return 500" in text
        assert "**Resolution target:** 4h: met" in text
        assert "Deadlines after resolution:" in text
        for task, within in (("Incident summary written", "1d"), ("Post-mortem meeting held", "7d"),
                             ("Action items done", "14d")):
            assert f"- {task}: by " in text and f"({within})" in text
        for section in ("## Summary", "## Timeline", "## Root cause", "## Resolution", "## Action items",
                        "## Lessons learned"):
            assert section in text
        assert "checklist skipped: Post-mortem scheduled" in text
        assert "Validate settings before deploy" in text
