"""What the dispatcher does once a minute besides sending.

- **A/B winners by the test**: a running campaign with ``auto_winner`` gets, for each step whose
  variants all reached the minimum sample, the winner the significance test names
  (``variants.decide_winner``); the contacts who have not had that step get the winner's text.
- **Saved audiences**: a running campaign that keeps its filter enrolls the contacts who came to
  match it since (checked like any other addition).
- **Unused files**: a step's file that no step names a day after it came (an upload the editor
  never saved, or the file of steps since deleted) is deleted.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select

from app.blueprints.campaigns import audience, stats
from app.blueprints.campaigns.models import Campaign, CampaignFile, CampaignStatus, CampaignStep

MAX_NEW_PER_MINUTE = 10_000
UNUSED_FILE_KEPT = timedelta(days=1)


def pick_winners(campaign: Campaign) -> list[int]:
    """Steps given a winner now (their ids)."""
    from app.extensions import db

    chosen = []
    for figures in stats.figures(campaign).steps:
        decision = figures.decision
        if figures.winner_variant_id is None and decision is not None and decision.winner_id is not None:
            step = db.session.get(CampaignStep, figures.step_id)
            step.winner_variant_id = decision.winner_id
            step.winner_chosen_by = "test"
            chosen.append(step.id)
    return chosen


def refresh_audience(campaign: Campaign, now: datetime) -> int:
    """Enroll and start the contacts who newly match the campaign's saved filter."""
    from app.blueprints.campaigns.service import start_contacts

    ids = audience.contacts_matching(campaign.org_id, campaign.audience_filter or {}, MAX_NEW_PER_MINUTE)
    added = audience.insert_enrollments(campaign, ids, None)
    if added:
        start_contacts(campaign, added, now)
    return len(added)


def purge_unused_files(now: datetime) -> int:
    """Delete the files no step names that came more than a day ago; how many went."""
    from app.extensions import db

    named = exists().where(CampaignStep.file_id == CampaignFile.id)
    return db.session.execute(
        delete(CampaignFile)
        .where(CampaignFile.created_at < now - UNUSED_FILE_KEPT, ~named)
        .execution_options(synchronize_session=False)
    ).rowcount or 0


def keep_house(now: datetime) -> None:
    from app.extensions import db

    purge_unused_files(now)
    running = list(db.session.scalars(select(Campaign).where(
        Campaign.status == CampaignStatus.RUNNING.value)))
    for campaign in running:
        if campaign.auto_winner:
            pick_winners(campaign)
        if campaign.audience_filter:
            refresh_audience(campaign, now)
        db.session.flush()
