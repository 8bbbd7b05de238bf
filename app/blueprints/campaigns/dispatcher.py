"""The dispatcher: due steps become outbox messages, each at most once, within every limit.

One pass claims the enrollments whose step is due (the ``ix_enrollment_due`` index; on PostgreSQL
``FOR UPDATE SKIP LOCKED``, so several dispatchers share the work without waiting on each other;
SQLite runs one) and decides each in a savepoint of the pass's transaction:

1. the campaign still runs and the step still exists (else the sequence has ended);
2. the person has not written since their sequence began (a reply committed first wins);
3. a first step: not on the do-not-contact list, not over the frequency cap;
4. the account: the one already talking with them (in this or any campaign), else the pool's
   account with room now (connected, not limited, within its budgets, no first message of ours
   still waiting in its outbox), else wait for one;
5. the send window in the contact's time zone: outside it, the step is moved into the next
   window, spread with jitter; then the account's budgets (read at the pass's ``now``);
6. the variant (given once: the ``CampaignSend`` row records it) and its text, rendered for the
   contact; a blank variable without fallback stops the sequence with that reason, and so does a
   text its values made longer than Telegram takes (a caption, when the step has a file);
7. the ``CampaignSend`` row, unique on (enrollment, step), and the outbox message with its
   ``random_id`` and the step's file (``messaging.queue_outreach``) are written together; the
   enrollment moves to ``sending``. The commit hands the messages to the telegram processes (a
   nudge after commit; their outbox sweep finds any nudge that was lost).

A crash before the commit leaves the enrollment due, and the next pass decides it again; after
it, the outbox owns the message, whose ``random_id`` makes Telegram take it once however often it
is retried. What happened to it comes back as ``OutboxSettled`` (``outcomes``).
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update

from app.blueprints.accounts.public import AccountStatus, BDAccount
from app.blueprints.campaigns import audience, rendering, variants, windows
from app.blueprints.campaigns.models import (
    Campaign,
    CampaignSend,
    CampaignStatus,
    CampaignStep,
    Enrollment,
    EnrollmentStatus,
    SendStatus,
)
from app.blueprints.campaigns.pass_state import PassState
from app.blueprints.campaigns.service import MAX_TEXT
from app.blueprints.crm.public import Contact
from app.blueprints.messaging.public import MAX_CAPTION, Chat, queue_outreach
from app.db_types import utcnow
from app.extensions import db

log = logging.getLogger(__name__)

BATCH = 100
NO_ACCOUNT_RETRY = timedelta(seconds=15)  # every account of the pool busy or over budget
ACCOUNT_DOWN_RETRY = timedelta(minutes=5)  # the conversation's account offline, limited, logged out
SENDABLE = {AccountStatus.ONLINE.value}
ORIGIN = "campaign"


def _claim(now: datetime, limit: int) -> list[Enrollment]:
    stmt = (
        select(Enrollment)
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .where(
            Enrollment.status == EnrollmentStatus.WAITING.value,
            Enrollment.due_at <= now,
            Campaign.status == CampaignStatus.RUNNING.value,
        )
        .order_by(Enrollment.due_at)
        .limit(limit)
    )
    if db.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Enrollment)
    return list(db.session.scalars(stmt))


def start_scheduled(now: datetime) -> int:
    """Campaigns launched for a moment that has come start running."""
    return (
        db.session.execute(
            update(Campaign)
            .where(Campaign.status == CampaignStatus.SCHEDULED.value, Campaign.starts_at <= now)
            .values(status=CampaignStatus.RUNNING.value, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
        or 0
    )


def dispatch_due(now: datetime | None = None, limit: int = BATCH) -> int:
    """One pass over the due enrollments (the caller commits): how many were decided."""
    now = now or utcnow()
    start_scheduled(now)
    claimed = _claim(now, limit)
    if not claimed:
        return 0
    state = PassState.load(now, claimed)
    for enrollment in claimed:
        try:
            with db.session.begin_nested():
                decide(enrollment, state)
        except Exception:
            log.exception("campaigns: enrollment %s could not be decided; retrying later", enrollment.id)
            enrollment.due_at = now + ACCOUNT_DOWN_RETRY
    return len(claimed)


def next_due() -> datetime | None:
    """When the earliest waiting step of a running campaign is due (the dispatcher's sleep)."""
    return db.session.scalar(
        select(func.min(Enrollment.due_at))
        .join(Campaign, Campaign.id == Enrollment.campaign_id)
        .where(
            Enrollment.status == EnrollmentStatus.WAITING.value,
            Campaign.status == CampaignStatus.RUNNING.value,
        )
    )


# -- one decision --------------------------------------------------------------------------------


def _end(
    enrollment: Enrollment,
    status: EnrollmentStatus,
    reason: str | None,
    now: datetime,
    detail: str | None = None,
) -> None:
    from app.blueprints.campaigns import outcomes

    outcomes.end_enrollment(enrollment, status, reason, now, detail=detail)


def decide(enrollment: Enrollment, state: PassState) -> None:
    now = state.now
    campaign = state.campaign(enrollment.campaign_id)
    if campaign is None or campaign.status != CampaignStatus.RUNNING:
        return
    steps = audience.live_steps(campaign)
    if enrollment.step_index >= len(steps):
        _end(enrollment, EnrollmentStatus.FINISHED, None, now)
        return
    step = steps[enrollment.step_index]
    contact = state.contacts.get(enrollment.contact_id)
    if contact is None or contact.deleted_at is not None:
        _end(enrollment, EnrollmentStatus.STOPPED, audience.DELETED, now)
        return
    if state.replied_since(contact.id, enrollment.started_at or enrollment.enrolled_at):
        _end(enrollment, EnrollmentStatus.REPLIED, None, now)
        return
    first = enrollment.step_index == 0
    if first and contact.id in state.suppressed:
        _end(enrollment, EnrollmentStatus.STOPPED, audience.SUPPRESSED, now)
        return
    if first and state.capped(enrollment.org_id, contact.id):
        _end(enrollment, EnrollmentStatus.STOPPED, audience.FREQUENCY_CAP, now)
        return
    chat = state.conversation(contact.id, enrollment.account_id)
    account = _account_for(enrollment, campaign, chat, state)
    if account is None:
        return  # ``_account_for`` ended it or moved its due time
    window = windows.SendWindow.parse(campaign.window)
    zone = windows.contact_zone(contact.timezone, contact.phone, state.org_zone(enrollment.org_id))
    if not windows.is_open(now, window, zone):
        enrollment.due_at = windows.schedule(
            now, window, zone, random.Random(f"{enrollment.id}:{step.id}:{now}")
        )
        return
    allowed = state.budget_wait(account, first_contact=state.first_contact(chat))
    if allowed is not None:
        enrollment.due_at = max(now + timedelta(seconds=1), datetime.fromtimestamp(allowed, now.tzinfo))
        return
    variant = _variant(enrollment, step)
    if variant is None:
        _end(enrollment, EnrollmentStatus.STOPPED, "no_variant", now)
        return
    rendered = rendering.render(
        state.template(variant.id, variant.text),
        state.values.get(contact.id, {}),
        seed=f"{enrollment.id}:{step.id}",
    )
    if rendered.missing:
        status = EnrollmentStatus.SKIPPED if first else EnrollmentStatus.STOPPED
        _end(enrollment, status, audience.MISSING_VARIABLE, now, detail=rendered.missing[0])
        return
    if not rendered.text:
        _end(enrollment, EnrollmentStatus.STOPPED, "empty_text", now)
        return
    if len(rendered.text) > (MAX_TEXT if step.file_id is None else MAX_CAPTION):  # grown by its values
        _end(enrollment, EnrollmentStatus.STOPPED, "too_long", now)
        return
    _hand_off(enrollment, campaign, step, variant.id, account, chat, contact, rendered.text, state)


def _account_for(
    enrollment: Enrollment, campaign: Campaign, chat: Chat | None, state: PassState
) -> BDAccount | None:
    """The account this step goes from, or None (the enrollment then waits or has ended)."""
    now = state.now
    sticky = enrollment.account_id or (chat.account_id if chat is not None else None)
    if sticky is not None:
        if enrollment.account_id is None and sticky not in campaign.account_ids:
            _end(enrollment, EnrollmentStatus.SKIPPED, audience.TALKS_ELSEWHERE, now, detail=str(sticky))
            return None
        account = state.account(sticky)
        if account is None:
            _end(enrollment, EnrollmentStatus.STOPPED, "account_removed", now)
            return None
        if account.status not in SENDABLE:  # a conversation never moves: it waits for its account
            until = account.limited_until if account.status == AccountStatus.LIMITED.value else None
            enrollment.due_at = max(until or now, now) + ACCOUNT_DOWN_RETRY
            return None
        if enrollment.step_index == 0 and state.waiting_first(account.id) >= 1:
            enrollment.due_at = now + timedelta(seconds=5)
            return None
        enrollment.account_id = account.id
        return account
    free = [
        account
        for account in (state.account(account_id) for account_id in campaign.account_ids)
        if account is not None and account.status in SENDABLE and state.waiting_first(account.id) == 0
    ]
    state.weigh(free, first_contact=True)
    best = next((a for a in free if state.budget_wait(a, first_contact=True) is None), None)
    if best is None:
        enrollment.due_at = now + NO_ACCOUNT_RETRY
        return None
    enrollment.account_id = best.id
    return best


def _variant(enrollment: Enrollment, step: CampaignStep) -> Any:
    live = [v for v in step.variants if v.weight > 0] or list(step.variants)
    if not live:
        return None
    if step.winner_variant_id is not None:
        winner = next((v for v in step.variants if v.id == step.winner_variant_id), None)
        if winner is not None:
            return winner
    if len(live) == 1:
        return live[0]
    chosen = variants.choose([(v.id, v.weight) for v in live], f"{enrollment.id}:{step.id}")
    return next(v for v in live if v.id == chosen)


def _hand_off(
    enrollment: Enrollment,
    campaign: Campaign,
    step: CampaignStep,
    variant_id: int,
    account: BDAccount,
    chat: Chat | None,
    contact: Contact,
    text: str,
    state: PassState,
) -> None:
    recipient = None
    if chat is None:
        recipient = {"contact_id": contact.id, "username": contact.telegram_username, "phone": contact.phone}
    attachment = state.attachment(step.file) if step.file_id is not None and step.file is not None else None
    message = queue_outreach(
        org_id=enrollment.org_id,
        account_id=account.id,
        origin=ORIGIN,
        text=text,
        chat_id=chat.id if chat is not None else None,
        recipient=recipient,
        author_id=campaign.owner_id,
        cancel_on_reply=True,
        attachment=attachment,
    )
    db.session.add(
        CampaignSend(
            org_id=enrollment.org_id,
            campaign_id=campaign.id,
            enrollment_id=enrollment.id,
            step_id=step.id,
            position=enrollment.step_index,
            variant_id=variant_id,
            contact_id=contact.id,
            account_id=account.id,
            message_id=message.id,
            status=SendStatus.QUEUED.value,
            created_at=state.now,
        )
    )
    db.session.flush()  # the unique (enrollment, step) key: a second hand-off of this step fails here
    enrollment.status = EnrollmentStatus.SENDING.value
    enrollment.due_at = None
    enrollment.account_id = account.id
    state.handed_over(contact.id, account.id, first=enrollment.step_index == 0)
