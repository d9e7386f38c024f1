"""Seed 001: a small team with three SEV levels (an outage or broken checkout, a major
feature degraded, a minor bug with a workaround), one engineer on call each week with a
backup, outside communication (status page, banner, email) only for the worst level, and
a root-cause write-up within 48 hours."""

from __future__ import annotations

from pathlib import Path

from seed_support import cli, export, glance, log_command, make_room

PROFILE = """\
name = "three SEV levels"
description = "Outage, degraded feature, minor bug."

[[level]]
id = "SEV1"
label = "Outage"
description = "The site is down or checkout is broken."
acknowledge_within = "15m"
update_every = "30m"
escalate_after = "30m"
postmortem = "required"
postmortem_within = "48h"
notify = ["incident channel", "status page", "pinned banner", "email"]

[[level]]
id = "SEV2"
label = "Degraded"
description = "A major feature such as sign-in or the cart is degraded."
acknowledge_within = "1h"
update_every = "1h"
postmortem = "required"
postmortem_within = "48h"
notify = ["incident channel"]

[[level]]
id = "SEV3"
label = "Minor"
description = "A minor bug; a workaround exists."
acknowledge_within = "none"
update_every = "none"
escalate_after = "none"
postmortem = "optional"
"""

TOML = """\
severity_profile = "sev-levels.toml"
checklist = ["Rolled back or fixed", "Error tracker quiet", "Root cause written up"]

[[role]]
name = "On-call"
[[role]]
name = "Backup on-call"
optional = true

[[check]]
name = "checkout smoke"
kind = "command"
command = ["{python}", "-c", "print('checkout ok')"]

[[log]]
name = "api"
{log}
"""


def test_small_team_on_call_rotation_and_root_cause_write_up(tmp_path: Path):
    import sys

    room = make_room(tmp_path, "P1-P4", TOML.format(
        python=sys.executable.replace("\\", "\\\\"),
        log=log_command('{"level":50,"msg":"payment provider timeout","time":1764000000000}')))
    (room / "sev-levels.toml").write_text(PROFILE)
    assert "checkout smoke" in cli(room, "check").out

    out = cli(room, "declare", "Checkout broken", "--severity", "sev1", "--impact", "no order can be paid").out
    assert "; On-call tester" in out  # the one on call holds the lead role
    assert "notify for SEV1: incident channel, status page, pinned banner, email" in out
    cli(room, "role", "backup on-call", "sam")

    seen = glance(room, "api", "payment provider timeout")
    assert "On-call tester" in seen["roster"] and "Backup on-call sam" in seen["roster"]
    assert "unassigned" not in seen["roster"]

    cli(room, "log", "Turned the new cart module off behind its flag", "--kind", "action")
    cli(room, "status", "resolved")
    cli(room, "set", "root_cause", "A retry loop in the payment client")
    cli(room, "set", "resolution", "Flag off, then a fixed client")
    closed = cli(room, "status", "closed", "--checked", "1,2").out
    assert "skipped: Root cause written up" in closed

    text = export(room)
    assert "| On-call | tester from" in text and "| Backup on-call | sam from" in text
    assert "Post-mortem due by 20" in text  # a date: 48 hours after resolution
    assert "## Root cause" in text and "A retry loop in the payment client" in text
    assert "**Resolution target:** none for this severity" in text

    # A minor bug: no acknowledgement target, no update countdown, no escalation.
    out = cli(room, "declare", "Tooltip misaligned", "--severity", "SEV3").out
    assert "acknowledge when possible (no target)" in out and "updates: none asked" in out
    assert "notify" not in out
