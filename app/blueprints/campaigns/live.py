"""Live campaign pages: what an open campaign page receives when the campaign moves.

A step that went, a reply, a stopped sequence, a launch, pause, resume or end (``events.py``;
raised by the dispatcher, the campaigns queue's jobs and the pages) ring ``KIND``
{campaign_id} once the change committed, once per transaction and campaign however many
events it held (``batch``). Each viewer then gets the page's summary block (state, accounts,
figures) out of band, rendered for their role and language from one ``stats.figures`` per event
(grouped queries, never the rows), and a marker that makes their audience table re-fetch its own
page and status filter (``show.html``: ``#campaign-live-<id>``), so nobody is sent a table they
did not ask for.
"""

from __future__ import annotations

from jinja2_fragments.flask import render_block

from app.blueprints.campaigns.events import (
    CampaignEvent,
    CampaignFinished,
    CampaignLaunched,
    CampaignPaused,
    CampaignResumed,
    EnrollmentReplied,
    EnrollmentStopped,
    StepSent,
)
from app.blueprints.campaigns.models import Campaign
from app.events import subscribe
from app.extensions import db
from app.realtime import Connection, oob, publish_now, renderer

KIND = "campaign.changed"
RINGS = (StepSent, EnrollmentReplied, EnrollmentStopped, CampaignLaunched, CampaignPaused, CampaignResumed,
         CampaignFinished)


def ring(events: list[CampaignEvent]) -> None:
    """After the commit: one doorbell per campaign the transaction changed, in order."""
    rung: set[tuple[int, int]] = set()
    for event in events:
        key = (event.org_id, event.campaign_id)
        if key not in rung:
            rung.add(key)
            publish_now(event.org_id, KIND, campaign_id=event.campaign_id)


subscribe(RINGS, ring, batch=True)


@renderer(KIND)
def campaign_changed(event: dict, viewer: Connection) -> str | None:
    """The summary block for this viewer and the audience's re-fetch marker. The figures are read
    once per event (the hub hands every viewer the same event dict)."""
    from app.blueprints.campaigns import report_routes

    shared = event.get("_shared")
    if shared is None:
        campaign = db.session.get(Campaign, int(event["campaign_id"]))
        if campaign is None or campaign.org_id != event["org_id"]:
            shared = event["_shared"] = {"campaign": None}
        else:
            shared = event["_shared"] = {"campaign": campaign, **report_routes.summary_data(campaign)}
    campaign = shared["campaign"]
    if campaign is None:
        return None
    context = report_routes.summary_context(campaign, viewer.role, data=shared)
    return (oob(render_block(report_routes.PAGE, "campaign_summary", **context))
            + f'<div id="campaign-live-{campaign.id}" hx-swap-oob="innerHTML"></div>')
