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
   contact; a blank variable without fallback stops the sequence with that reason;
7. the ``CampaignSend`` row, unique on (enrollment, step), and the outbox message with its
   ``random_id`` (``messaging.queue_outreach``) are written together; the enrollment moves to
   ``sending``. The commit hands the messages to the telegram processes (a nudge after commit;
   their outbox sweep finds any nudge that was lost).

A crash before the commit leaves the enrollment due, and the next pass decides it again; after
it, the outbox owns the message, whose ``random_id`` makes Telegram take it once however often it
is retried. What happened to it comes back as ``OutboxSettled`` (``outcomes``).
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select, update

from app.blueprints.accounts.public import AccountStatus, BDAccount, effective
from app.blueprints.campaigns import audience, rendering, variables, variants, windows
from app.blueprints.campaigns.models import (
    Campaign,
    CampaignSend,
    CampaignStatus,
    CampaignStep,
    Enrollment,
    EnrollmentStatus,
    SendStatus,
)
from app.blueprints.campaigns.suppression import suppressed_contacts
from app.blueprints.crm.public import Contact
from app.blueprints.messaging.public import Chat, Message, MessageStatus, queue_outreach
from app.blueprints.team.public import Organization
from app.db_types import utcnow
from app.extensions import db, redis_store
from app.integrations.telegram import budgets

log = logging.getLogger(__name__)

BATCH = 100
NO_ACCOUNT_RETRY = timedelta(seconds=15)  # every account of the pool busy or over budget
ACCOUNT_DOWN_RETRY = timedelta(minutes=5)  # the conversation's account offline, limited, logged out
SENDABLE = {AccountStatus.ONLINE.value}
ORIGIN = "campaign"


@dataclass
class Pass:
    """What one pass has learnt, so each decision costs few queries."""

    now: datetime
    campaigns: dict[int, Campaign] = field(default_factory=dict)
    accounts: dict[int, BDAccount] = field(default_factory=dict)
    org_zones: dict[int, str] = field(default_factory=dict)
    in_flight: dict[int, int] = field(default_factory=dict)  # first messages waiting per account
    templates: dict[int, rendering.Template] = field(default_factory=dict)
    contacts: dict[int, Contact] = field(default_factory=dict)
    values: dict[int, dict[str, str | None]] = field(default_factory=dict)

    def campaign(self, campaign_id: int) -> Campaign | None:
        if campaign_id not in self.campaigns:
            self.campaigns[campaign_id] = db.session.get(Campaign, campaign_id)
        return self.campaigns[campaign_id]

    def account(self, account_id: int) -> BDAccount | None:
        if account_id not in self.accounts:
            self.accounts[account_id] = db.session.get(BDAccount, account_id)
        return self.accounts[account_id]

    def org_zone(self, org_id: int) -> str:
        if org_id not in self.org_zones:
            org = db.session.get(Organization, org_id)
            self.org_zones[org_id] = (org.timezone if org else None) or "UTC"
        return self.org_zones[org_id]

    def template(self, variant_id: int, text: str) -> rendering.Template:
        if variant_id not in self.templates:
            self.templates[variant_id] = rendering.parse(text)
        return self.templates[variant_id]

    def waiting_first(self, account_id: int) -> int:
        if account_id not in self.in_flight:
            self.in_flight[account_id] = (
                db.session.scalar(
                    select(func.count())
                    .select_from(CampaignSend)
                    .where(
                        CampaignSend.account_id == account_id,
                        CampaignSend.status == SendStatus.QUEUED.value,
                        CampaignSend.position == 0,
                    )
                )
                or 0
            )
        return self.in_flight[account_id]


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
    state = Pass(now)
    contact_ids = [e.contact_id for e in claimed]
    state.contacts = (
        audience.load_contacts(claimed[0].org_id, contact_ids)
        if len({e.org_id for e in claimed}) == 1
        else _contacts_by_org(claimed)
    )
    for enrollment in claimed:
        try:
            with db.session.begin_nested():
                decide(enrollment, state)
        except Exception:
            log.exception("campaigns: enrollment %s could not be decided; retrying later", enrollment.id)
            enrollment.due_at = now + ACCOUNT_DOWN_RETRY
    return len(claimed)


def _contacts_by_org(claimed: list[Enrollment]) -> dict[int, Contact]:
    found: dict[int, Contact] = {}
    by_org: dict[int, list[int]] = {}
    for enrollment in claimed:
        by_org.setdefault(enrollment.org_id, []).append(enrollment.contact_id)
    for org_id, ids in by_org.items():
        found.update(audience.load_contacts(org_id, ids))
    return found


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


def replied_since(org_id: int, contact_id: int, since: datetime) -> bool:
    """Whether the contact wrote to any of the organization's accounts after ``since``."""
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Message.org_id == org_id,
                    Message.out.is_(False),
                    Message.created_at > since,
                    Message.chat_id.in_(
                        select(Chat.id).where(Chat.org_id == org_id, Chat.contact_id == contact_id)
                    ),
                )
            )
        )
    )


def decide(enrollment: Enrollment, state: Pass) -> None:
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
    if replied_since(enrollment.org_id, contact.id, enrollment.started_at or enrollment.enrolled_at):
        _end(enrollment, EnrollmentStatus.REPLIED, None, now)
        return
    first = enrollment.step_index == 0
    if first and suppressed_contacts(enrollment.org_id, [contact]):
        _end(enrollment, EnrollmentStatus.STOPPED, audience.SUPPRESSED, now)
        return
    if first and audience._capped(
        enrollment.org_id, [contact.id], audience.settings_for(enrollment.org_id), now
    ):
        _end(enrollment, EnrollmentStatus.STOPPED, audience.FREQUENCY_CAP, now)
        return
    chat = _conversation(enrollment, contact)
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
    first_contact = chat is None or not (chat.has_inbound or _we_wrote(chat.id))
    allowed = budgets.allowed_at(
        redis_store.client, account.id, effective(account.config), first_contact=first_contact,
        now=now.timestamp(),
    )
    if allowed is not None:
        enrollment.due_at = max(now + timedelta(seconds=1), datetime.fromtimestamp(allowed, now.tzinfo))
        return
    variant = _variant(enrollment, step)
    if variant is None:
        _end(enrollment, EnrollmentStatus.STOPPED, "no_variant", now)
        return
    if not state.values.get(contact.id):
        state.values[contact.id] = variables.values_for(enrollment.org_id, [contact.id]).get(contact.id, {})
    rendered = rendering.render(
        state.template(variant.id, variant.text), state.values[contact.id], seed=f"{enrollment.id}:{step.id}"
    )
    if rendered.missing:
        status = EnrollmentStatus.SKIPPED if first else EnrollmentStatus.STOPPED
        _end(enrollment, status, audience.MISSING_VARIABLE, now, detail=rendered.missing[0])
        return
    if not rendered.text:
        _end(enrollment, EnrollmentStatus.STOPPED, "empty_text", now)
        return
    _hand_off(enrollment, campaign, step, variant.id, account, chat, contact, rendered.text, state)


def _conversation(enrollment: Enrollment, contact: Contact) -> Chat | None:
    """The chat the sequence continues in: the enrollment's account's chat with the contact,
    else their latest chat with any account of the organization."""
    stmt = select(Chat).where(Chat.org_id == enrollment.org_id, Chat.contact_id == contact.id)
    if enrollment.account_id is not None:
        stmt = stmt.where(Chat.account_id == enrollment.account_id)
    return db.session.scalar(stmt.order_by(Chat.last_message_at.desc().nulls_last(), Chat.id.desc()).limit(1))


def _we_wrote(chat_id: int) -> bool:
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    Message.chat_id == chat_id,
                    Message.out.is_(True),
                    Message.status == MessageStatus.SENT.value,
                )
            )
        )
    )


def _account_for(
    enrollment: Enrollment, campaign: Campaign, chat: Chat | None, state: Pass
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
    best, best_load = None, None
    for account_id in campaign.account_ids:
        account = state.account(account_id)
        if account is None or account.status not in SENDABLE or state.waiting_first(account_id) >= 1:
            continue
        if budgets.allowed_at(
            redis_store.client, account_id, effective(account.config), first_contact=True,
            now=now.timestamp(),
        ):
            continue
        load = state.waiting_first(account_id)
        if best is None or load < best_load:
            best, best_load = account, load
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
    state: Pass,
) -> None:
    recipient = None
    if chat is None:
        recipient = {"contact_id": contact.id, "username": contact.telegram_username, "phone": contact.phone}
    message = queue_outreach(
        org_id=enrollment.org_id,
        account_id=account.id,
        origin=ORIGIN,
        text=text,
        chat_id=chat.id if chat is not None else None,
        recipient=recipient,
        author_id=campaign.owner_id,
        cancel_on_reply=True,
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
    if enrollment.step_index == 0:
        state.in_flight[account.id] = state.waiting_first(account.id) + 1
