"""Who a campaign writes to: adding contacts, and the checks that leave some out, with the reason.

A contact is written to only if they have a Telegram identity (user id, username or phone), are
not on the do-not-contact list, are in no other live campaign, have not had the organization's
frequency cap of first messages, do not already talk with an account outside the campaign's pool
(stickiness: a conversation stays on its account) and their first step's text has no blank
variable without a fallback. The checks run set-wise (a handful of queries for any audience), for
the launch review and at launch alike, so what the review shows is what launch does.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import lazyload

from app.blueprints.campaigns import rendering, variables
from app.blueprints.campaigns.models import (
    Campaign,
    CampaignSend,
    CampaignStatus,
    CampaignStep,
    Enrollment,
    EnrollmentStatus,
    OutreachSettings,
    SendStatus,
)
from app.blueprints.campaigns.suppression import suppressed_contacts
from app.blueprints.crm.public import Contact, ListQuery, filtered
from app.blueprints.messaging.public import Chat
from app.db_types import utcnow
from app.extensions import db

CHUNK = 900  # ids per IN list (SQLite's bound-parameter limit is far above; plans stay small)
LIVE = (EnrollmentStatus.WAITING.value, EnrollmentStatus.SENDING.value)
LIVE_CAMPAIGNS = (CampaignStatus.RUNNING.value, CampaignStatus.PAUSED.value, CampaignStatus.SCHEDULED.value)


# Why a contact is left out (codes; the pages and the API name them).
NO_IDENTITY = "no_identity"
SUPPRESSED = "suppressed"
OTHER_CAMPAIGN = "other_campaign"
FREQUENCY_CAP = "frequency_cap"
TALKS_ELSEWHERE = "talks_elsewhere"
MISSING_VARIABLE = "missing_variable"
DELETED = "deleted"


@dataclass
class Verdict:
    contact_id: int
    reason: str | None = None  # None: they will be written to
    detail: str | None = None  # the missing variable's name, the other campaign's id...
    account_id: int | None = None  # the account their conversation is on, if any


@dataclass
class Review:
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def writable(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.reason is None]

    @property
    def skipped(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.reason is not None]

    def counts(self) -> dict[str, int]:
        found: dict[str, int] = {}
        for verdict in self.skipped:
            found[verdict.reason] = found.get(verdict.reason, 0) + 1
        return found


def settings_for(org_id: int) -> OutreachSettings:
    """The organization's outreach settings (defaults until someone changes them; not added)."""
    found = db.session.get(OutreachSettings, org_id)
    if found is None:
        from app.blueprints.campaigns.models import DEFAULT_OPT_OUT_PHRASES

        found = OutreachSettings(
            org_id=org_id, opt_out_phrases=list(DEFAULT_OPT_OUT_PHRASES), cap_messages=1, cap_days=30
        )
    return found


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def has_identity(contact: Contact) -> bool:
    return bool(contact.telegram_user_id or contact.telegram_username or contact.phone)


def conversation_accounts(org_id: int, contact_ids: Sequence[int]) -> dict[int, int]:
    """The account each contact already has a conversation with (the latest one), by contact."""
    found: dict[int, int] = {}
    for chunk in _chunks(list(contact_ids)):
        rows = db.session.execute(
            select(Chat.contact_id, Chat.account_id)
            .where(Chat.org_id == org_id, Chat.contact_id.in_(chunk))
            .order_by(Chat.contact_id, Chat.last_message_at.desc().nulls_last(), Chat.id.desc())
        )
        for contact_id, account_id in rows:
            found.setdefault(contact_id, account_id)
    return found


def _in_other_campaigns(org_id: int, campaign_id: int, contact_ids: Sequence[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for chunk in _chunks(list(contact_ids)):
        rows = db.session.execute(
            select(Enrollment.contact_id, Enrollment.campaign_id)
            .join(Campaign, Campaign.id == Enrollment.campaign_id)
            .where(
                Enrollment.org_id == org_id,
                Enrollment.contact_id.in_(chunk),
                Enrollment.campaign_id != campaign_id,
                Enrollment.status.in_(LIVE),
                Campaign.status.in_(LIVE_CAMPAIGNS),
            )
        )
        for contact_id, other in rows:
            found.setdefault(contact_id, other)
    return found


def recent_first_sends(
    org_id: int, contact_ids: Sequence[int], settings: OutreachSettings, now: datetime
) -> dict[int, int]:
    """How many first messages of any campaign each contact had within the frequency cap's days."""
    since = now - timedelta(days=settings.cap_days)
    found: dict[int, int] = {}
    for chunk in _chunks(list(contact_ids)):
        rows = db.session.execute(
            select(CampaignSend.contact_id, func.count())
            .where(
                CampaignSend.org_id == org_id,
                CampaignSend.contact_id.in_(chunk),
                CampaignSend.position == 0,
                CampaignSend.status.in_([SendStatus.QUEUED.value, SendStatus.SENT.value]),
                CampaignSend.created_at >= since,
            )
            .group_by(CampaignSend.contact_id)
        )
        found.update((contact_id, count) for contact_id, count in rows)
    return found


def _capped(org_id: int, contact_ids: Sequence[int], settings: OutreachSettings, now: datetime) -> set[int]:
    counts = recent_first_sends(org_id, contact_ids, settings, now)
    return {contact_id for contact_id, count in counts.items() if count >= settings.cap_messages}


def first_step(campaign: Campaign) -> CampaignStep | None:
    steps = live_steps(campaign)
    return steps[0] if steps else None


def live_steps(campaign: Campaign) -> list[CampaignStep]:
    return [s for s in campaign.steps if s.removed_at is None]


def load_contacts(org_id: int, contact_ids: Sequence[int]) -> dict[int, Contact]:
    found: dict[int, Contact] = {}
    for chunk in _chunks(list(contact_ids)):
        for contact in db.session.scalars(
            select(Contact)
            .where(Contact.org_id == org_id, Contact.id.in_(chunk))
            .options(lazyload(Contact.tags), lazyload(Contact.company))
        ):
            found[contact.id] = contact
    return found


def review(campaign: Campaign, contact_ids: Sequence[int], *, now: datetime | None = None) -> Review:
    """Each contact's verdict for this campaign, in the order given."""
    now = now or utcnow()
    org_id = campaign.org_id
    ids = list(dict.fromkeys(contact_ids))
    contacts = load_contacts(org_id, ids)
    live = [contacts[i] for i in ids if i in contacts and contacts[i].deleted_at is None]
    live_ids = [c.id for c in live]
    suppressed = suppressed_contacts(org_id, live)
    elsewhere = _in_other_campaigns(org_id, campaign.id, live_ids)
    capped = _capped(org_id, live_ids, settings_for(org_id), now)
    talks = conversation_accounts(org_id, live_ids)
    pool = set(campaign.account_ids)
    step = first_step(campaign)
    templates = [rendering.parse(v.text) for v in (step.variants if step else []) if v.weight > 0]
    needed = {name for t in templates for name in t.variables}
    values = variables.values_for(org_id, live_ids) if needed else {}
    verdicts = []
    for contact_id in ids:
        contact = contacts.get(contact_id)
        verdict = Verdict(contact_id, account_id=talks.get(contact_id))
        if contact is None or contact.deleted_at is not None:
            verdict.reason = DELETED
        elif not has_identity(contact):
            verdict.reason = NO_IDENTITY
        elif contact_id in suppressed:
            verdict.reason = SUPPRESSED
        elif contact_id in elsewhere:
            verdict.reason, verdict.detail = OTHER_CAMPAIGN, str(elsewhere[contact_id])
        elif contact_id in capped:
            verdict.reason = FREQUENCY_CAP
        elif verdict.account_id is not None and verdict.account_id not in pool:
            verdict.reason, verdict.detail = TALKS_ELSEWHERE, str(verdict.account_id)
        else:
            missing = _missing(templates, values.get(contact_id, {}), contact_id)
            if missing:
                verdict.reason, verdict.detail = MISSING_VARIABLE, missing
        verdicts.append(verdict)
    return Review(verdicts)


def _missing(templates: list[rendering.Template], values: dict[str, str | None], seed: int) -> str | None:
    for template in templates:
        rendered = rendering.render(template, values, seed=seed)
        if rendered.missing:
            return rendered.missing[0]
    return None


# -- adding contacts ----------------------------------------------------------------------------


def contacts_matching(org_id: int, filters: dict, limit: int) -> list[int]:
    """The ids of the contacts the contact list's filters match (its own query), up to ``limit``."""
    query = ListQuery.from_args({str(k): str(v) for k, v in filters.items() if v is not None})
    stmt = filtered(org_id, "contact", query).with_only_columns(Contact.id).order_by(Contact.id).limit(limit)
    return list(db.session.scalars(stmt))


def contacts_in_stage(org_id: int, stage_id: int, limit: int) -> list[int]:
    """The contacts of the open deals in a stage."""
    from app.blueprints.crm.public import Deal

    stmt = (
        filtered(org_id, "deal", ListQuery(stage_id=stage_id))
        .where(Deal.contact_id.is_not(None))
        .with_only_columns(Deal.contact_id)
        .distinct()
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def contacts_from_import(org_id: int, import_id: int, limit: int) -> list[int]:
    """The live contacts a CSV import created."""
    stmt = (select(Contact.id).where(Contact.org_id == org_id, Contact.import_id == import_id,
                                     Contact.deleted_at.is_(None)).order_by(Contact.id).limit(limit))
    return list(db.session.scalars(stmt))


def insert_enrollments(campaign: Campaign, contact_ids: Sequence[int], added_by: int | None) -> list[int]:
    """Enroll the contacts that are not enrolled yet (never twice: the unique key decides, also
    between two concurrent adds); returns the new enrollments' contact ids."""
    existing = set()
    for chunk in _chunks(list(contact_ids)):
        existing.update(
            db.session.scalars(
                select(Enrollment.contact_id).where(
                    Enrollment.campaign_id == campaign.id, Enrollment.contact_id.in_(chunk)
                )
            )
        )
    fresh = [c for c in dict.fromkeys(contact_ids) if c not in existing]
    if not fresh:
        return []
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    rows = [
        {
            "org_id": campaign.org_id,
            "campaign_id": campaign.id,
            "contact_id": c,
            "added_by_id": added_by,
            "status": EnrollmentStatus.PENDING.value,
            "step_index": 0,
            "enrolled_at": now,
        }
        for c in fresh
    ]
    inserted = []
    for start in range(0, len(rows), 1000):
        stmt = (
            insert(Enrollment)
            .on_conflict_do_nothing(index_elements=["campaign_id", "contact_id"])
            .returning(Enrollment.contact_id)
        )
        inserted.extend(db.session.scalars(stmt, rows[start : start + 1000]))
    return inserted
