"""Seed 003: a print shop's backend with P0 to P3: P0 answered in 15 minutes, escalated at
once, told by email, text, phone and status page, updated every 30 minutes, post-mortem in
a day; P1 answered within the hour, escalated after two, updated hourly, post-mortem in two
days; P2 and P3 never escalated, updated only when fixed (P3 not at all). A primary on
call with an optional secondary, and vendor support contacts."""

from __future__ import annotations

from pathlib import Path

from seed_support import cli, export, glance, log_command, make_room
from servers import serve

TOML = """\
severity_profile = "P0-P3"

[severity.P1]
acknowledge_within = "1h"
update_every = "1h"
[severity.P2]
acknowledge_within = "4h"
[severity.P3]
postmortem = "optional"

[[role]]
name = "Primary on-call"
[[role]]
name = "Secondary on-call"
optional = true

[[contact]]
role = "Database vendor"
name = "Vendor support"
reach = "their support address"

[[check]]
name = "backend"
kind = "http"
url = "{backend}"

[[check]]
name = "database vendor"
kind = "statuspage"
url = "{statuspage}"

[[log]]
name = "worker"
{log}
"""


def test_print_shop_levels_notifications_and_no_escalation_for_minor(tmp_path: Path):
    with serve() as server:
        server.statuspage = ("major", "Partial outage")
        room = make_room(tmp_path, "P0-P3", TOML.format(
            backend=server.url("/healthy"), statuspage=server.url("/statuspage/api/v2/status.json"),
            log=log_command("job 812 stalled for 15 minutes", "ERROR mockup render failed")))
        from conftest import run_cli

        assert "database vendor" in run_cli("check", cwd=room).out

        # P2: no escalation and an update only when it is fixed.
        out = cli(room, "declare", "Design sharing broken", "--severity", "p2").out
        assert "acknowledge within 4h" in out and "updates: none asked" in out and "no escalation" in out
        assert "notify for P2: email" in out
        assert "no escalation path for P2" in cli(room, "escalate").out

        # P1 overrides: answered within the hour, hourly updates, escalated after two hours.
        out = cli(room, "severity", "P1").out
        assert "acknowledge within 1h, update every 1h" in out and "escalate: after 2h" in out

        out = cli(room, "declare", "Backend returns 500 for every request", "--severity", "P0").out
        p0 = out.split()[1].rstrip(":")
        assert "notify for P0: email, SMS, phone, status page" in out and "escalate: at once" in out
        assert "ESCALATE NOW" in cli(room, "escalate").out

        seen = glance(room, "worker", "mockup render failed")
        assert "every 30m" in seen["countdown"] and "ESCALATE NOW" in seen["countdown"]
        assert "Secondary on-call (optional)" in seen["roster"]

        cli(room, "ack")
        cli(room, "log", "Restarted the worker; queue draining", "--kind", "action")
        cli(room, "status", "resolved")
        cli(room, "set", "root_cause", "The worker ran out of memory on large mockups")
        cli(room, "status", "closed", "--checked", "1,2,3,4,5,6,7")

        assert "Design sharing broken" in cli(room, "show").out  # the P0 closed: the P2 is meant again
        text = export(room, "--incident", p0)
        assert "**Resolution target:** 1h: met" in text
        assert "Post-mortem due by 20" in text  # a day after resolution, as a date
        assert "## Root cause" in text and "ran out of memory" in text
        assert "Design sharing broken" not in text
