"""What other domains may use of campaigns: the events a sequence raises (automation and analytics
hear them). Importing this module registers the campaigns' subscribers (replies, the outbox's
answers, deal moves)."""

from app.blueprints.campaigns import outcomes  # noqa: F401 - its subscribers, in every process
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

__all__ = [
    "CampaignEvent", "CampaignFinished", "CampaignLaunched", "CampaignPaused", "CampaignResumed",
    "EnrollmentEvent", "EnrollmentReplied", "EnrollmentStarted", "EnrollmentStopped", "StepSent",
]
