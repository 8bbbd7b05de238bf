"""What other domains may use of campaigns: the events a sequence raises (automation and analytics
hear them), and for the ``dispatcher`` process its loop (``run_dispatcher``). Importing this module
registers the campaigns' subscribers (replies, the outbox's answers, deal moves).

For the demo data (``app.demo``): building and launching a campaign as a person would
(``create_campaign``, ``add_contacts``, ``launch``), and what writing a finished campaign's history
as it went needs: its rows, and the rules that decide a step (its window, variant and text) and how
it ends (``is_opt_out``, ``suppress_contact``)."""

from app.blueprints.campaigns import (  # noqa: F401 - outcomes, receipts: their subscribers, in every process
    outcomes,
    receipts,
    rendering,
    variables,
    variants,
    windows,
)
from app.blueprints.campaigns.audience import live_steps, settings_for
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
from app.blueprints.campaigns.models import (
    Campaign,
    CampaignSend,
    CampaignStatus,
    Enrollment,
    EnrollmentStatus,
    SendStatus,
)
from app.blueprints.campaigns.outcomes import ORIGIN, is_opt_out
from app.blueprints.campaigns.runner import run as run_dispatcher
from app.blueprints.campaigns.service import add_contacts, create_campaign, launch
from app.blueprints.campaigns.suppression import suppress_contact

__all__ = [
    "ORIGIN",
    "Campaign",
    "CampaignEvent",
    "CampaignFinished",
    "CampaignLaunched",
    "CampaignPaused",
    "CampaignResumed",
    "CampaignSend",
    "CampaignStatus",
    "Enrollment",
    "EnrollmentEvent",
    "EnrollmentReplied",
    "EnrollmentStarted",
    "EnrollmentStatus",
    "EnrollmentStopped",
    "SendStatus",
    "StepSent",
    "add_contacts",
    "create_campaign",
    "is_opt_out",
    "launch",
    "live_steps",
    "rendering",
    "run_dispatcher",
    "settings_for",
    "suppress_contact",
    "variables",
    "variants",
    "windows",
]
