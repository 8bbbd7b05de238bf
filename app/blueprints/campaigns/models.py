"""Outreach campaigns: steps and their variants, the audience's enrollments, what each step sent,
the do-not-contact list, reusable message templates and the organization's outreach settings.

An ``Enrollment`` is one contact in one campaign (unique): where they are in the sequence
(``step_index``, the position of the next step), when that step is due (``due_at``, indexed with
the status for the dispatcher) and the account that writes to them once chosen. A ``CampaignSend``
is one step handed to the messaging outbox for one enrollment, unique on (enrollment, step): the
key that makes a step go at most once, with the outbox message's own ``random_id`` making the
Telegram send itself exactly once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import UTCDateTime, utcnow
from app.extensions import db
from app.tenancy import OrgScoped


class CampaignStatus(StrEnum):
    DRAFT = "draft"  # being built: nothing goes
    SCHEDULED = "scheduled"  # launched for a later moment (``starts_at``)
    RUNNING = "running"
    PAUSED = "paused"  # nothing new goes; resumes where it was
    FINISHED = "finished"  # every enrollment ended
    ARCHIVED = "archived"


class EnrollmentStatus(StrEnum):
    PENDING = "pending"  # in the audience of a campaign not launched yet
    WAITING = "waiting"  # its next step is due at ``due_at``
    SENDING = "sending"  # a step is in the outbox; its outcome is awaited
    REPLIED = "replied"  # the contact wrote: the sequence stopped
    STOPPED = "stopped"  # stopped for ``reason`` (a teammate, a deal, an opt-out, the campaign)
    FINISHED = "finished"  # every step went
    FAILED = "failed"  # a step could not be sent (``reason``)
    SKIPPED = "skipped"  # never started (``reason``: no Telegram identity, suppressed, ...)


ENDED = frozenset({EnrollmentStatus.REPLIED, EnrollmentStatus.STOPPED, EnrollmentStatus.FINISHED,
                   EnrollmentStatus.FAILED, EnrollmentStatus.SKIPPED})


class SendStatus(StrEnum):
    QUEUED = "queued"  # in the outbox
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"  # withdrawn before it went


class Campaign(OrgScoped, db.Model):
    __tablename__ = "campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default=CampaignStatus.DRAFT.value)
    # {days: [1..7], start: "HH:MM", end: "HH:MM"}: when steps may go, in each contact's time zone.
    window: Mapped[dict[str, Any]] = mapped_column(JSON)
    # A reply stops this campaign's sequence for the contact, or every campaign's ("all").
    stop_scope: Mapped[str] = mapped_column(String(10), default="campaign")
    # A deal of the contact entering one of these stages (or won / lost) stops the sequence.
    stop_stage_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    stop_on_won: Mapped[bool] = mapped_column(default=True)
    stop_on_lost: Mapped[bool] = mapped_column(default=True)
    # The A/B rule: pick a step's winner by itself once each variant went to ``min_sample``.
    auto_winner: Mapped[bool] = mapped_column(default=False)
    min_sample: Mapped[int] = mapped_column(Integer, default=100)
    audience_filter: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # kept: new matches join
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    launched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    steps: Mapped[list[CampaignStep]] = relationship(
        back_populates="campaign", order_by="CampaignStep.position", cascade="all, delete-orphan",
        lazy="selectin")
    accounts: Mapped[list[CampaignAccount]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def account_ids(self) -> list[int]:
        return sorted(a.account_id for a in self.accounts)


class CampaignAccount(db.Model):
    """An account a campaign may write from (its pool)."""

    __tablename__ = "campaign_account"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("bd_account.id", ondelete="CASCADE"), primary_key=True)


class CampaignStep(db.Model):
    __tablename__ = "campaign_step"
    __table_args__ = (Index("ix_campaign_step_campaign", "campaign_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # 0-based
    wait_minutes: Mapped[int] = mapped_column(Integer, default=0)  # after the previous step went
    # A variant of this step (no foreign key: the two tables would point at each other).
    winner_variant_id: Mapped[int | None] = mapped_column(Integer)
    winner_chosen_by: Mapped[str | None] = mapped_column(String(8))  # "owner" | "test"
    # An optional file sent with the step's text (as its caption), whichever variant goes.
    file_id: Mapped[int | None] = mapped_column(ForeignKey("campaign_file.id", ondelete="SET NULL"),
                                                index=True)
    # Soft-deleted when removed from a campaign that already sent it: its sends keep their step.
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    campaign: Mapped[Campaign] = relationship(back_populates="steps")
    file: Mapped[CampaignFile | None] = relationship()
    variants: Mapped[list[StepVariant]] = relationship(
        back_populates="step", order_by="StepVariant.position", cascade="all, delete-orphan",
        lazy="selectin", foreign_keys="StepVariant.step_id")


class CampaignFile(OrgScoped, db.Model):
    """A file a step sends with its text, which becomes its caption. A row of its own, not columns
    of the step: steps keep their ids by position, and a step moved in the editor takes its file
    along by id; a duplicate's steps share their original's files. A file no step refers to is
    deleted a day after it came (``housekeeping``: uploads the editor never saved)."""

    __tablename__ = "campaign_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_name: Mapped[str] = mapped_column(String(255))
    mime_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StepVariant(db.Model):
    __tablename__ = "step_variant"

    id: Mapped[int] = mapped_column(primary_key=True)
    step_id: Mapped[int] = mapped_column(ForeignKey("campaign_step.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # A = 0, B = 1, ...
    text: Mapped[str] = mapped_column(Text)
    weight: Mapped[int] = mapped_column(Integer, default=1)

    step: Mapped[CampaignStep] = relationship(back_populates="variants", foreign_keys=[step_id])

    @property
    def letter(self) -> str:
        return chr(ord("A") + self.position) if self.position < 26 else str(self.position + 1)


class Enrollment(OrgScoped, db.Model):
    __tablename__ = "enrollment"
    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id"),
        # The dispatcher's look-up: waiting enrollments whose step is due, earliest first.
        Index("ix_enrollment_due", "status", "due_at"),
        Index("ix_enrollment_contact", "org_id", "contact_id", "status"),
        Index("ix_enrollment_campaign_status", "campaign_id", "status", "reason"),  # the figures
    )
    org_id_index = False

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(10), default=EnrollmentStatus.PENDING.value)
    reason: Mapped[str | None] = mapped_column(String(40))  # a code: why it stopped, failed or skipped
    detail: Mapped[str | None] = mapped_column(String(300))  # more on the reason (``said``)
    step_index: Mapped[int] = mapped_column(Integer, default=0)  # the next step's position
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("bd_account.id", ondelete="SET NULL"))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    stopped_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # launched for this contact
    last_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CampaignSend(OrgScoped, db.Model):
    __tablename__ = "campaign_send"
    __table_args__ = (
        UniqueConstraint("enrollment_id", "step_id"),
        # Covers the figures' grouped count (replied and read counted from the index alone).
        Index("ix_campaign_send_campaign", "campaign_id", "step_id", "variant_id", "status", "replied_at",
              "read_at"),
        Index("ix_campaign_send_account", "account_id", "status"),
        Index("ix_campaign_send_contact", "org_id", "contact_id", "created_at"),
    )
    org_id_index = False

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollment.id", ondelete="CASCADE"))
    step_id: Mapped[int] = mapped_column(ForeignKey("campaign_step.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)  # the step's position when it went
    variant_id: Mapped[int | None] = mapped_column(ForeignKey("step_variant.id", ondelete="SET NULL"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contact.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("bd_account.id", ondelete="CASCADE"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id", ondelete="SET NULL"),
                                                   unique=True)
    status: Mapped[str] = mapped_column(String(10), default=SendStatus.QUEUED.value)
    reason: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # Telegram's read receipt for it
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the reply that followed it


class SuppressionKind(StrEnum):
    CONTACT = "contact"
    USER_ID = "user_id"
    USERNAME = "username"
    PHONE = "phone"


class Suppression(OrgScoped, db.Model):
    """Do not contact: one Telegram identity (or contact) the organization never writes to first."""

    __tablename__ = "suppression"
    __table_args__ = (UniqueConstraint("org_id", "kind", "value"),)
    org_id_index = False

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    value: Mapped[str] = mapped_column(String(64))  # canonical: lower-case username, E.164, digits
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(12), default="manual")  # manual | opt_out | import | api
    note: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageTemplate(OrgScoped, db.Model):
    """A reusable message text (with variables and spintax), for campaign steps and the inbox."""

    __tablename__ = "message_template"
    __table_args__ = (UniqueConstraint("org_id", "name"),)
    org_id_index = False

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


DEFAULT_OPT_OUT_PHRASES = ("не пишите", "отпишитесь", "отписаться", "stop", "unsubscribe")


class OutreachSettings(db.Model):
    """An organization's rules for all its campaigns (a row appears once someone changes them)."""

    __tablename__ = "outreach_settings"

    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True)
    opt_out_phrases: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(DEFAULT_OPT_OUT_PHRASES))
    # At most ``cap_messages`` first messages to one person in ``cap_days`` days, across campaigns.
    cap_messages: Mapped[int] = mapped_column(Integer, default=1)
    cap_days: Mapped[int] = mapped_column(Integer, default=30)
    default_window: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

