"""What ends or advances a contact's sequence: the outbox's answer, their reply, the team's moves.

Each subscriber runs as a job on the ``campaigns`` queue (``queue=``: at least once, its effect
once per event) and locks the enrollment it changes, so the outbox's answer and a reply arriving
together are applied one after the other:

- ``OutboxSettled``: a step went (the next one is scheduled in the contact's window, or the
  sequence is finished), failed (the sequence fails with Telegram's reason) or was withdrawn
  (the person wrote first);
- ``MessageReceived``: the contact wrote to any of the organization's accounts after their
  sequence began. The campaigns that wrote to them stop ("replied"); a campaign set to stop on any
  reply stops too; an opt-out phrase also puts them on the do-not-contact list. A step still in
  the outbox is withdrawn (if it is not already with Telegram);
- ``DealMoved``, ``DealWon``, ``DealLost``: a deal of the contact reaching a stage the campaign
  stops at.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

from sqlalchemy import exists, select

from app.blueprints.campaigns import audience, windows
from app.blueprints.campaigns.events import (
    CampaignFinished,
    EnrollmentReplied,
    EnrollmentStopped,
    StepSent,
)
from app.blueprints.campaigns.models import (
    ENDED,
    Campaign,
    CampaignSend,
    CampaignStatus,
    Enrollment,
    EnrollmentStatus,
    SendStatus,
)
from app.blueprints.campaigns.suppression import suppress_contact
from app.blueprints.crm.public import Contact, Deal, DealEvent
from app.blueprints.messaging.public import Message, MessageReceived, OutboxSettled, store
from app.blueprints.pipeline.public import DealLost, DealMoved, DealWon
from app.blueprints.team.public import Organization
from app.db_types import utcnow
from app.events import emit, subscribe
from app.extensions import db
from app.i18n import N_, said
from app.jobs import Queues

ORIGIN = "campaign"
REPLY_COUNTS_FOR = timedelta(days=30)  # a reply this long after the last step still counts
WITHDRAWN = said(N_("Not sent: the campaign stopped for this person."))
LIVE = (EnrollmentStatus.WAITING.value, EnrollmentStatus.SENDING.value)


def _locked(stmt):
    if db.session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update()
    return stmt


def end_enrollment(
    enrollment: Enrollment,
    status: EnrollmentStatus,
    reason: str | None,
    now: datetime,
    *,
    detail: str | None = None,
    by: int | None = None,
) -> bool:
    """End the sequence (a finished one may still turn "replied"); withdraw a step still queued.
    False when it had ended already."""
    previous = enrollment.status
    if previous in ENDED and not (
        previous == EnrollmentStatus.FINISHED and status == EnrollmentStatus.REPLIED
    ):
        return False
    enrollment.status = status.value
    enrollment.reason = reason
    enrollment.detail = detail[:300] if detail else None
    enrollment.due_at = None
    enrollment.ended_at = enrollment.ended_at or now
    if by is not None:
        enrollment.stopped_by_id = by
    if status == EnrollmentStatus.REPLIED or reason == "opt_out":
        enrollment.replied_at = enrollment.replied_at or now
    if previous == EnrollmentStatus.SENDING:
        _withdraw_queued(enrollment)
    ids = {
        "org_id": enrollment.org_id,
        "actor_id": by,
        "campaign_id": enrollment.campaign_id,
        "enrollment_id": enrollment.id,
        "contact_id": enrollment.contact_id,
    }
    if status == EnrollmentStatus.STOPPED or (status == EnrollmentStatus.SKIPPED and reason):
        emit(EnrollmentStopped(**ids, reason=reason or "stopped"))
    elif status == EnrollmentStatus.FAILED:
        emit(EnrollmentStopped(**ids, reason="failed"))
    db.session.flush()
    finish_if_done(enrollment.campaign_id, now)
    return True


def _withdraw_queued(enrollment: Enrollment) -> None:
    for send in db.session.scalars(
        select(CampaignSend).where(
            CampaignSend.enrollment_id == enrollment.id, CampaignSend.status == SendStatus.QUEUED.value
        )
    ):
        if send.message_id is not None and store.withdraw(send.message_id, WITHDRAWN):
            send.status = SendStatus.CANCELLED.value
            send.reason = WITHDRAWN


def finish_if_done(campaign_id: int, now: datetime) -> None:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.status not in (CampaignStatus.RUNNING, CampaignStatus.PAUSED):
        return
    live = db.session.scalar(
        select(
            exists().where(
                Enrollment.campaign_id == campaign_id,
                Enrollment.status.in_([*LIVE, EnrollmentStatus.PENDING.value]),
            )
        )
    )
    if not live:
        campaign.status = CampaignStatus.FINISHED.value
        campaign.finished_at = now
        emit(CampaignFinished(org_id=campaign.org_id, actor_id=None, campaign_id=campaign.id))


def contact_zone(contact: Contact | None, org_id: int):
    org = db.session.get(Organization, org_id)
    return windows.contact_zone(
        contact.timezone if contact else None,
        contact.phone if contact else None,
        (org.timezone if org else None) or "UTC",
    )


def schedule_next(enrollment: Enrollment, campaign: Campaign, after: datetime) -> None:
    """Move on to the step after the one that went: due its wait after ``after``, in the window."""
    steps = audience.live_steps(campaign)
    if enrollment.step_index >= len(steps):
        enrollment.status = EnrollmentStatus.FINISHED.value
        enrollment.due_at = None
        enrollment.ended_at = after
        db.session.flush()
        finish_if_done(campaign.id, after)
        return
    step = steps[enrollment.step_index]
    contact = db.session.get(Contact, enrollment.contact_id)
    due = after + timedelta(minutes=step.wait_minutes)
    window = windows.SendWindow.parse(campaign.window)
    rng = random.Random(f"{enrollment.id}:{step.id}")
    enrollment.status = EnrollmentStatus.WAITING.value
    enrollment.due_at = windows.schedule(due, window, contact_zone(contact, enrollment.org_id), rng)


# -- the outbox's answer -----------------------------------------------------------------------


def on_outbox_settled(event: OutboxSettled) -> None:
    if event.origin != ORIGIN:
        return
    send = db.session.scalar(_locked(select(CampaignSend).where(CampaignSend.message_id == event.message_id)))
    if send is None:
        return
    enrollment = db.session.scalar(_locked(select(Enrollment).where(Enrollment.id == send.enrollment_id)))
    now = event.occurred_at
    if event.outcome == "sent":
        if send.status == SendStatus.SENT:
            return
        send.status = SendStatus.SENT.value
        send.sent_at = now
        send.reason = None
        enrollment.last_sent_at = now
        emit(
            StepSent(
                org_id=send.org_id,
                actor_id=None,
                campaign_id=send.campaign_id,
                enrollment_id=enrollment.id,
                contact_id=send.contact_id,
                step_id=send.step_id,
                position=send.position,
                variant_id=send.variant_id,
                account_id=send.account_id,
                message_id=event.message_id,
            )
        )
        if enrollment.status == EnrollmentStatus.SENDING and enrollment.step_index == send.position:
            enrollment.step_index = send.position + 1
            schedule_next(enrollment, db.session.get(Campaign, send.campaign_id), now)
        return
    if send.status != SendStatus.QUEUED:
        return
    if event.outcome == "failed":
        send.status = SendStatus.FAILED.value
        send.reason = event.reason
        if enrollment.status == EnrollmentStatus.SENDING:
            end_enrollment(enrollment, EnrollmentStatus.FAILED, "send_failed", now, detail=event.reason)
    else:  # cancelled: the outbox saw the person write first (our own withdrawals ended it already)
        send.status = SendStatus.CANCELLED.value
        send.reason = event.reason
        if enrollment.status == EnrollmentStatus.SENDING:
            end_enrollment(enrollment, EnrollmentStatus.REPLIED, None, now)


# -- their reply -------------------------------------------------------------------------------


def _folded(text: str) -> str:
    return " ".join(text.casefold().replace("\u0451", "\u0435").split())


def is_opt_out(text: str, phrases: list[str]) -> bool:
    """Whether ``text`` says one of the phrases (as words: "stop" is not "stopwatch")."""
    folded = _folded(text)
    for phrase in phrases:
        wanted = _folded(phrase)
        if wanted and re.search(rf"(?<!\w){re.escape(wanted)}(?!\w)", folded):
            return True
    return False


def on_message_received(event: MessageReceived) -> None:
    if event.contact_id is None:
        return
    now = event.occurred_at
    message = db.session.get(Message, event.message_id)
    received_at = message.created_at if message is not None else now
    enrollments = list(
        db.session.scalars(
            _locked(
                select(Enrollment)
                .join(Campaign, Campaign.id == Enrollment.campaign_id)
                .where(
                    Enrollment.org_id == event.org_id,
                    Enrollment.contact_id == event.contact_id,
                    Enrollment.status.in_([*LIVE, EnrollmentStatus.FINISHED.value]),
                    Enrollment.started_at.is_not(None),
                    Enrollment.started_at < received_at,
                )
            )
        )
    )
    if not enrollments:
        return
    campaigns = {e.campaign_id: db.session.get(Campaign, e.campaign_id) for e in enrollments}
    written = {
        e.id for e in enrollments if e.last_sent_at is not None or e.status == EnrollmentStatus.SENDING
    }
    opt_out = message is not None and is_opt_out(
        message.text or "", audience.settings_for(event.org_id).opt_out_phrases
    )
    spread = opt_out or any(
        campaigns[e.campaign_id].stop_scope == "all" for e in enrollments if e.id in written
    )
    for enrollment in enrollments:
        if enrollment.status == EnrollmentStatus.FINISHED and (
            enrollment.last_sent_at is None or received_at - enrollment.last_sent_at > REPLY_COUNTS_FOR
        ):
            continue
        mine = enrollment.id in written
        if not (mine or spread or campaigns[enrollment.campaign_id].stop_scope == "all"):
            continue
        _credit_reply(enrollment, now)
        if opt_out:
            ended = end_enrollment(enrollment, EnrollmentStatus.STOPPED, "opt_out", now)
        elif mine:
            ended = end_enrollment(enrollment, EnrollmentStatus.REPLIED, None, now)
        else:
            ended = end_enrollment(enrollment, EnrollmentStatus.STOPPED, "replied_elsewhere", now)
        if ended and mine:
            emit(
                EnrollmentReplied(
                    org_id=enrollment.org_id,
                    actor_id=None,
                    campaign_id=enrollment.campaign_id,
                    enrollment_id=enrollment.id,
                    contact_id=enrollment.contact_id,
                    message_id=event.message_id,
                )
            )
    if opt_out:
        contact = db.session.get(Contact, event.contact_id)
        if contact is not None:
            suppress_contact(event.org_id, contact, reason="opt_out")


def _credit_reply(enrollment: Enrollment, now: datetime) -> None:
    """The reply counts for the last step that went (its variant's reply rate)."""
    last = db.session.scalar(
        select(CampaignSend)
        .where(CampaignSend.enrollment_id == enrollment.id, CampaignSend.status == SendStatus.SENT.value)
        .order_by(CampaignSend.position.desc())
        .limit(1)
    )
    if last is not None and last.replied_at is None:
        last.replied_at = now


# -- the team's moves --------------------------------------------------------------------------


def on_deal_event(event: DealEvent) -> None:
    deal = db.session.get(Deal, event.deal_id)
    if deal is None or deal.contact_id is None:
        return
    enrollments = list(
        db.session.scalars(
            _locked(
                select(Enrollment).where(
                    Enrollment.org_id == event.org_id,
                    Enrollment.contact_id == deal.contact_id,
                    Enrollment.status.in_([*LIVE, EnrollmentStatus.PENDING.value]),
                )
            )
        )
    )
    for enrollment in enrollments:
        campaign = db.session.get(Campaign, enrollment.campaign_id)
        if isinstance(event, DealWon) and campaign.stop_on_won:
            reason = "deal_won"
        elif isinstance(event, DealLost) and campaign.stop_on_lost:
            reason = "deal_lost"
        elif event.stage_id is not None and event.stage_id in (campaign.stop_stage_ids or []):
            reason = "deal_stage"
        else:
            continue
        end_enrollment(enrollment, EnrollmentStatus.STOPPED, reason, utcnow())


subscribe(OutboxSettled, on_outbox_settled, queue=Queues.CAMPAIGNS)
subscribe(MessageReceived, on_message_received, queue=Queues.CAMPAIGNS)
subscribe((DealMoved, DealWon, DealLost), on_deal_event, queue=Queues.CAMPAIGNS)
