"""The status page for machines: an Atom 1.0 feed of the published updates, and the
summary.json and status.json of the de facto status-page API (v2), so a monitor that polls
such a page reads this one. Record text is escaped for XML; JSON carries it as data."""

from __future__ import annotations

import json
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from warroom.playbook.statuspage import ComponentStatus, Page, PublicIncident, PublicUpdate, stable_uuid

ATOM_NS = "http://www.w3.org/2005/Atom"


def _xml(text: str) -> str:
    """XML 1.0 cannot carry most control characters even escaped: those go (the record's text
    is inert already; this keeps a hostile one from breaking the feed)."""
    kept = "".join(ch for ch in text if ch in "\t\n\r" or ch >= " ")
    return escape(kept)


def atom(page: Page, base_url: str = "") -> str:
    incidents = {i.id: i for i in page.incidents + page.history}
    updates = page.updates
    updated = updates[0].at if updates else page.updated_at
    link = base_url.rstrip("/") + "/" if base_url else ""
    lines = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="{ATOM_NS}">',
        f"<id>urn:uuid:{stable_uuid('page', page.name)}</id>",
        f"<title>{_xml(page.name)}: incident history</title>",
        f"<updated>{updated}</updated>",
        f"<author><name>{_xml(page.name)}</name></author>",
        f'<link rel="alternate" type="text/html" href={quoteattr(link + "index.html")}/>',
    ]
    if link:
        lines.append(f'<link rel="self" type="application/atom+xml" href={quoteattr(link + "history.atom")}/>')
    for update in updates:
        lines.append(_entry(update, incidents[update.incident_id], link))
    lines += ["</feed>", ""]
    return "\n".join(lines)


def _entry(update: PublicUpdate, incident: PublicIncident, link: str) -> str:
    return "\n".join(
        [
            "<entry>",
            f"<id>urn:uuid:{update.id}</id>",
            f"<title>{_xml(incident.name)}: {_xml(update.status.capitalize())}</title>",
            f"<updated>{update.at}</updated>",
            f"<published>{update.at}</published>",
            f'<link rel="alternate" type="text/html" href={quoteattr(f"{link}index.html#{incident.short_id}")}/>',
            f'<content type="text">{_xml(update.body)}</content>',
            "</entry>",
        ]
    )


def _page(page: Page, base_url: str) -> dict[str, Any]:
    return {
        "id": page.id,
        "name": page.name,
        "url": base_url.rstrip("/") if base_url else "",
        "time_zone": "Etc/UTC",
        "updated_at": page.updated_at,
    }


def _status(page: Page) -> dict[str, str]:
    return {"indicator": page.indicator, "description": page.description}


def _component(component: ComponentStatus, page: Page) -> dict[str, Any]:
    return {
        "id": component.id,
        "name": component.name,
        "status": component.status,
        "created_at": component.updated_at or page.updated_at,
        "updated_at": component.updated_at or page.updated_at,
        "position": component.position,
        "description": component.description or None,
        "showcase": True,
        "start_date": None,
        "group_id": None,
        "page_id": page.id,
        "group": False,
        "only_show_if_degraded": False,
    }


def _incident(incident: PublicIncident, page: Page, base_url: str) -> dict[str, Any]:
    link = (base_url.rstrip("/") + "/" if base_url else "") + f"index.html#{incident.short_id}"
    return {
        "id": incident.id,
        "name": incident.name,
        "status": incident.status,
        "created_at": incident.created_at,
        "updated_at": incident.updated_at,
        "monitoring_at": incident.monitoring_at or None,
        "resolved_at": incident.resolved_at or None,
        "impact": incident.impact,
        "shortlink": link,
        "started_at": incident.started_at,
        "page_id": page.id,
        "incident_updates": [
            {
                "id": u.id,
                "status": u.status,
                "body": u.body,
                "incident_id": u.incident_id,
                "created_at": u.at,
                "updated_at": u.at,
                "display_at": u.at,
                "affected_components": None,
                "deliver_notifications": True,
                "custom_tweet": None,
                "tweet_id": None,
            }
            for u in incident.updates
        ],
        "components": [],
    }


def summary_json(page: Page, base_url: str = "") -> str:
    document = {
        "page": _page(page, base_url),
        "components": [_component(c, page) for c in page.components],
        "incidents": [_incident(i, page, base_url) for i in page.incidents],
        "scheduled_maintenances": [],
        "status": _status(page),
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def status_json(page: Page, base_url: str = "") -> str:
    return json.dumps({"page": _page(page, base_url), "status": _status(page)}, indent=2, ensure_ascii=False) + "\n"
