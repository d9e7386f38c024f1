"""The status page as one HTML file: no script, no external asset, its style inline. Every
text from the record (titles, update bodies, component names) goes through `esc`, and every
attribute is double-quoted, so no record text can become markup."""

from __future__ import annotations

import html

from warroom.playbook.statuspage import ComponentStatus, Page, PublicIncident, day_label
from warroom.record.events import parse_time

STATUS_WORDS = {
    "operational": "Operational",
    "degraded_performance": "Degraded performance",
    "partial_outage": "Partial outage",
    "major_outage": "Major outage",
}

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
main{max-width:46rem;margin:0 auto;padding:1.5rem 1rem 3rem}
h1{font-size:1.6rem;margin:.5rem 0 1rem}h2{font-size:1.15rem;margin:2rem 0 .6rem}
.banner{padding:1rem 1.2rem;border-radius:.4rem;color:#fff;font-weight:600;font-size:1.1rem}
.ind-none{background:#2e7d32}.ind-minor{background:#b7791f}.ind-major{background:#c05621}
.ind-critical{background:#c53030}
.components{list-style:none;padding:0;margin:0;background:#fff;border:1px solid #d9dde3;border-radius:.4rem}
.components li{padding:.8rem 1rem;border-top:1px solid #e6e9ee}.components li:first-child{border-top:0}
.row{display:flex;justify-content:space-between;gap:1rem}.desc{color:#5b6472;font-size:.85rem}
.bars{display:flex;gap:1px;margin-top:.5rem;height:1.6rem}.bars span{flex:1;border-radius:1px}
.s-operational{color:#2e7d32}.s-degraded_performance{color:#b7791f}.s-partial_outage{color:#c05621}
.s-major_outage{color:#c53030}
.bars .s-operational{background:#48a150}.bars .s-degraded_performance{background:#e3a008}
.bars .s-partial_outage{background:#dd6b20}.bars .s-major_outage{background:#e53e3e}
.incident{background:#fff;border:1px solid #d9dde3;border-radius:.4rem;padding:.8rem 1rem;margin:.6rem 0}
.incident h3{margin:0 0 .3rem;font-size:1.05rem}.impact{font-size:.8rem;color:#5b6472}
.update{border-top:1px solid #e6e9ee;padding:.5rem 0}.update:first-of-type{border-top:0}
.update p{margin:.3rem 0}.when{color:#5b6472;font-size:.8rem}.ustatus{font-weight:600}
.day{margin-top:1.2rem}.day h4{margin:0;color:#5b6472;font-size:.9rem;font-weight:600}
footer{margin-top:2.5rem;color:#5b6472;font-size:.8rem}
"""


def esc(text: str) -> str:
    """Record text, made inert for HTML (text and double-quoted attributes)."""
    return html.escape(text, quote=True)


def shown_time(at: str) -> str:
    return parse_time(at).strftime("%d %b %Y, %H:%M UTC") if at else ""


def body_html(text: str) -> str:
    """An update's text: paragraphs at blank lines, line breaks kept, a line wrapped in ** bold."""
    paragraphs = []
    for block in text.strip().split("\n\n"):
        lines = []
        for line in block.strip().splitlines():
            bare = line.strip()
            if len(bare) > 4 and bare.startswith("**") and bare.endswith("**"):
                lines.append(f"<strong>{esc(bare[2:-2])}</strong>")
            else:
                lines.append(esc(line))
        if lines:
            paragraphs.append("<p>" + "<br>\n".join(lines) + "</p>")
    return "\n".join(paragraphs)


def component_html(component: ComponentStatus) -> str:
    bars = "".join(
        f'<span class="s-{status}" title="{esc(day)}: {esc(STATUS_WORDS[status])}"></span>'
        for day, status in component.days
    )
    description = f'<div class="desc">{esc(component.description)}</div>' if component.description else ""
    return (
        f'<li id="component-{esc(component.id)}"><div class="row"><span class="name">{esc(component.name)}</span>'
        f'<span class="status s-{component.status}">{esc(STATUS_WORDS[component.status])}</span></div>'
        f'{description}<div class="bars" aria-label="the last {len(component.days)} days">{bars}</div></li>'
    )


def incident_html(incident: PublicIncident) -> str:
    updates = "\n".join(
        f'<div class="update"><span class="ustatus">{esc(u.status.capitalize())}</span> '
        f'<span class="when">{esc(shown_time(u.at))}</span>\n{body_html(u.body)}</div>'
        for u in incident.updates
    )
    return (
        f'<article class="incident" id="{esc(incident.short_id)}">'
        f"<h3>{esc(incident.name)}</h3>"
        f'<div class="impact">Impact: {esc(incident.impact)} · {esc(incident.status.capitalize())}</div>\n'
        f"{updates}</article>"
    )


def page_html(page: Page) -> str:
    components = "\n".join(component_html(c) for c in page.components)
    open_ones = "\n".join(incident_html(i) for i in page.incidents)
    days: dict[str, list[PublicIncident]] = {}
    for incident in page.history:
        days.setdefault(incident.created_at[:10], []).append(incident)
    history = "\n".join(
        f'<section class="day"><h4>{esc(day_label(day))}</h4>\n'
        + "\n".join(incident_html(i) for i in found)
        + "</section>"
        for day, found in days.items()
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="warroom {esc(page.updated_at)}">',
        f"<title>{esc(page.name)}</title>",
        f'<link rel="alternate" type="application/atom+xml" title="{esc(page.name)}" href="history.atom">',
        f"<style>{STYLE}</style></head>",
        "<body><main>",
        f"<h1>{esc(page.name)}</h1>",
        f'<div class="banner ind-{page.indicator}" id="page-status">{esc(page.description)}</div>',
    ]
    if page.incidents:
        parts += ['<h2 id="open">Ongoing incidents</h2>', open_ones]
    if page.components:
        parts += ['<h2 id="components">Components</h2>', f'<ul class="components">{components}</ul>']
    parts += ['<h2 id="history">Past incidents (last 90 days)</h2>']
    parts += [history or "<p>No incidents reported in the last 90 days.</p>"]
    parts += [
        f'<footer>Updated {esc(shown_time(page.updated_at))}. <a href="history.atom">Atom feed</a> · '
        '<a href="api/v2/summary.json">summary.json</a> · <a href="api/v2/status.json">status.json</a></footer>',
        "</main></body></html>",
        "",
    ]
    return "\n".join(parts)
