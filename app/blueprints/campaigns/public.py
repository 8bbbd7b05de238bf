"""What other domains may use of campaigns: the events a sequence raises (automation and analytics
hear them), and for the ``dispatcher`` process its loop (``run_dispatcher``). Importing this module
registers the campaigns' subscribers (replies, the outbox's answers, deal moves)."""

from app.blueprints.campaigns import outcomes, receipts  # noqa: F401 - their subscribers, in every process
from app.blueprints.campaigns.events import (
    CampaignEvent,
    CampaignFinished,
    CampaignLaunched,
    CampaignPaused,
    CampaignResumed,
    EnrollmentEvent,
    EnrollmentReplied,
    EnrollmentStarted,
    EnrollmentStopped,
    StepSent,
)
from app.blueprints.campaigns.runner import run as run_dispatcher

__all__ = [
    "CampaignEvent", "CampaignFinished", "CampaignLaunched", "CampaignPaused", "CampaignResumed",
    "EnrollmentEvent", "EnrollmentReplied", "EnrollmentStarted", "EnrollmentStopped", "StepSent",
    "run_dispatcher",
]
