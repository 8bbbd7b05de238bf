"""What campaigns tell others (automation, analytics): launches, pauses, ends, and each contact's
journey through a sequence. Raised where the change is flushed, delivered after the commit."""

from __future__ import annotations

from dataclasses import dataclass

from app.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class CampaignEvent(DomainEvent):
    campaign_id: int


@dataclass(frozen=True, kw_only=True)
class CampaignLaunched(CampaignEvent):
    """The campaign started (or was scheduled to): ``enrolled`` contacts will be written to,
    ``skipped`` were left out with a reason."""

    enrolled: int
    skipped: int


@dataclass(frozen=True, kw_only=True)
class CampaignPaused(CampaignEvent):
    """Nothing new goes until it resumes (what is already in the outbox still goes)."""


@dataclass(frozen=True, kw_only=True)
class CampaignResumed(CampaignEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class CampaignFinished(CampaignEvent):
    """Every enrollment ended (finished, replied, stopped, failed)."""


@dataclass(frozen=True, kw_only=True)
class EnrollmentEvent(CampaignEvent):
    enrollment_id: int
    contact_id: int


@dataclass(frozen=True, kw_only=True)
class EnrollmentStarted(EnrollmentEvent):
    """The contact's sequence began: their first step is due."""


@dataclass(frozen=True, kw_only=True)
class StepSent(EnrollmentEvent):
    """Telegram took step ``position`` (variant ``variant_id``) from ``account_id``."""

    step_id: int
    position: int
    variant_id: int | None
    account_id: int
    message_id: int


@dataclass(frozen=True, kw_only=True)
class EnrollmentReplied(EnrollmentEvent):
    """The contact wrote back (message ``message_id``): their sequence stopped."""

    message_id: int


@dataclass(frozen=True, kw_only=True)
class EnrollmentStopped(EnrollmentEvent):
    """The sequence stopped before its end for ``reason`` (a code: ``opt_out``, ``teammate``,
    ``deal_stage``, ``deal_won``, ``deal_lost``, ``suppressed``, ``other_campaign``, ``failed``...)."""

    reason: str
