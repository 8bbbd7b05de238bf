"""What campaign states and reasons are called where a person reads them (lazy: in the reader's
language), for every campaign page and panel alike."""

from __future__ import annotations

from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.blueprints.campaigns import audience
from app.blueprints.campaigns.models import CampaignStatus, EnrollmentStatus

CAMPAIGN_STATUSES = {
    CampaignStatus.DRAFT: _l("Draft"),
    CampaignStatus.SCHEDULED: _l("Scheduled"),
    CampaignStatus.RUNNING: _l("Running"),
    CampaignStatus.PAUSED: _l("Paused"),
    CampaignStatus.FINISHED: _l("Finished"),
    CampaignStatus.ARCHIVED: _l("Archived"),
}
ENROLLMENT_STATUSES = {
    EnrollmentStatus.PENDING: _l("Not started"),
    EnrollmentStatus.WAITING: _l("Waiting"),
    EnrollmentStatus.SENDING: _l("Sending"),
    EnrollmentStatus.REPLIED: _l("Replied"),
    EnrollmentStatus.STOPPED: _l("Stopped"),
    EnrollmentStatus.FINISHED: _l("Finished"),
    EnrollmentStatus.FAILED: _l("Failed"),
    EnrollmentStatus.SKIPPED: _l("Skipped"),
}
# Why a sequence stopped, failed or never started (the codes audience, dispatcher and outcomes write).
REASONS = {
    audience.NO_IDENTITY: _l("No Telegram username, phone or id"),
    audience.SUPPRESSED: _l("On the do-not-contact list"),
    audience.OTHER_CAMPAIGN: _l("In another running campaign"),
    audience.FREQUENCY_CAP: _l("Written to recently (frequency cap)"),
    audience.TALKS_ELSEWHERE: _l("Talks with an account outside this campaign"),
    audience.MISSING_VARIABLE: _l("A variable of the message is blank"),
    audience.DELETED: _l("The contact was deleted"),
    "teammate": _l("Stopped by a teammate"),
    "opt_out": _l("Asked not to be written to"),
    "replied_elsewhere": _l("Replied to another campaign"),
    "deal_stage": _l("Their deal reached a stop stage"),
    "deal_won": _l("Their deal was won"),
    "deal_lost": _l("Their deal was lost"),
    "campaign_archived": _l("The campaign was archived"),
    "no_variant": _l("The step has no variant to send"),
    "empty_text": _l("The message came out empty"),
    "too_long": _l("The message came out longer than Telegram takes"),
    "account_removed": _l("Their account left the campaign"),
    "send_failed": _l("Telegram refused the message"),
}


def reason_text(code: str | None) -> str:
    return str(REASONS.get(code, code)) if code else ""


def day_names(width: str = "wide") -> dict[int, str]:
    """ISO weekday -> its name in the viewer's language (Babel's CLDR data)."""
    names = get_day_names(width, locale=str(get_locale() or "en"))
    return {iso: names[iso - 1] for iso in range(1, 8)}
