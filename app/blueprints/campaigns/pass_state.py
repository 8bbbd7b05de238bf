"""What one dispatcher pass knows: everything its decisions read, loaded for the whole batch.

A pass claims up to a hundred enrollments; deciding each with its own queries (its contact, last
reply, do-not-contact entry, frequency cap, conversation, variable values, and the budgets of a
pool of hundreds of accounts) made a decision cost a hundred round trips. ``PassState.load`` reads
each of those once per batch (a query per kind and organization, one Redis pipeline per pool), and
the decisions keep it true for the rest of the pass: a first message handed over counts against
its contact's cap and its account's one-in-flight at once.

What is read at the pass's start may be a fraction of a second old by its last decision. A reply
that lands meanwhile is still caught, by the outbox (``cancel_on_reply``); a budget spent meanwhile
by the outbox holding the message until it allows. A do-not-contact entry made during the pass
counts from the next one, as an entry made between a decision and its commit always did.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from app.blueprints.accounts.public import BDAccount, effective
from app.blueprints.campaigns import audience, rendering, variables
from app.blueprints.campaigns.models import (
    Campaign,
    CampaignFile,
    CampaignSend,
    Enrollment,
    OutreachSettings,
    SendStatus,
)
from app.blueprints.campaigns.suppression import suppressed_contacts
from app.blueprints.crm.public import Contact
from app.blueprints.messaging.public import Attachment, Chat, Message, MessageStatus
from app.blueprints.team.public import Organization
from app.extensions import db, redis_store
from app.integrations.telegram import budgets

CHUNK = 500


def _chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


@dataclass
class PassState:
    now: datetime
    campaigns: dict[int, Campaign] = field(default_factory=dict)
    accounts: dict[int, BDAccount | None] = field(default_factory=dict)
    org_zones: dict[int, str] = field(default_factory=dict)
    settings: dict[int, OutreachSettings] = field(default_factory=dict)
    in_flight: dict[int, int] = field(default_factory=dict)  # first messages waiting per account
    templates: dict[int, rendering.Template] = field(default_factory=dict)
    contacts: dict[int, Contact] = field(default_factory=dict)
    values: dict[int, dict[str, str | None]] = field(default_factory=dict)
    last_inbound: dict[int, datetime] = field(default_factory=dict)  # latest message from a contact
    suppressed: set[int] = field(default_factory=set)
    first_sends: dict[int, int] = field(default_factory=dict)  # within the cap's days, by contact
    chats: dict[int, list[Chat]] = field(default_factory=dict)  # by contact, latest first
    we_wrote: set[int] = field(default_factory=set)  # chats with a message of ours delivered
    waits: dict[tuple[int, bool], float | None] = field(default_factory=dict)  # budgets, by account
    attachments: dict[int, Attachment] = field(default_factory=dict)  # step files, by file id

    # -- loading -----------------------------------------------------------------------------

    @classmethod
    def load(cls, now: datetime, claimed: Sequence[Enrollment]) -> PassState:
        state = cls(now)
        campaign_ids = sorted({e.campaign_id for e in claimed})
        found = db.session.scalars(select(Campaign).where(Campaign.id.in_(campaign_ids)))
        state.campaigns = {campaign.id: campaign for campaign in found}
        account_ids = {a for c in state.campaigns.values() for a in c.account_ids}
        account_ids.update(e.account_id for e in claimed if e.account_id is not None)
        state._load_accounts(sorted(account_ids))
        by_org: dict[int, list[Enrollment]] = {}
        for enrollment in claimed:
            by_org.setdefault(enrollment.org_id, []).append(enrollment)
        for org_id, enrollments in by_org.items():
            state._load_org(org_id, enrollments)
        return state

    def _load_accounts(self, account_ids: list[int]) -> None:
        for chunk in _chunks(account_ids):
            for account in db.session.scalars(select(BDAccount).where(BDAccount.id.in_(chunk))):
                self.accounts[account.id] = account
            rows = db.session.execute(
                select(CampaignSend.account_id, func.count())
                .where(
                    CampaignSend.account_id.in_(chunk),
                    CampaignSend.status == SendStatus.QUEUED.value,
                    CampaignSend.position == 0,
                )
                .group_by(CampaignSend.account_id)
            )
            self.in_flight.update((account_id, count) for account_id, count in rows)
        for account_id in account_ids:
            self.accounts.setdefault(account_id, None)
            self.in_flight.setdefault(account_id, 0)

    def _load_org(self, org_id: int, enrollments: list[Enrollment]) -> None:
        contact_ids = sorted({e.contact_id for e in enrollments})
        self.contacts.update(audience.load_contacts(org_id, contact_ids))
        self.values.update(variables.values_for(org_id, contact_ids))
        first_ids = sorted({e.contact_id for e in enrollments if e.step_index == 0})
        firsts = [self.contacts[i] for i in first_ids if i in self.contacts]
        self.suppressed |= suppressed_contacts(org_id, firsts)
        settings = self.org_settings(org_id)
        self.first_sends.update(audience.recent_first_sends(org_id, first_ids, settings, self.now))
        for chunk in _chunks(contact_ids):
            rows = db.session.execute(
                select(Chat.contact_id, func.max(Message.created_at))
                .join(Chat, Chat.id == Message.chat_id)
                .where(
                    Message.org_id == org_id,
                    Message.out.is_(False),
                    Chat.org_id == org_id,
                    Chat.contact_id.in_(chunk),
                )
                .group_by(Chat.contact_id)
            )
            self.last_inbound.update((contact_id, last) for contact_id, last in rows)
            for chat in db.session.scalars(
                select(Chat)
                .where(Chat.org_id == org_id, Chat.contact_id.in_(chunk))
                .order_by(Chat.contact_id, Chat.last_message_at.desc().nulls_last(), Chat.id.desc())
            ):
                self.chats.setdefault(chat.contact_id, []).append(chat)
        quiet = [c.id for chats in self.chats.values() for c in chats if not c.has_inbound]
        for chunk in _chunks(quiet):
            self.we_wrote.update(db.session.scalars(
                select(Message.chat_id)
                .where(
                    Message.chat_id.in_(chunk),
                    Message.out.is_(True),
                    Message.status == MessageStatus.SENT.value,
                )
                .distinct()
            ))

    # -- reading -----------------------------------------------------------------------------

    def campaign(self, campaign_id: int) -> Campaign | None:
        if campaign_id not in self.campaigns:
            self.campaigns[campaign_id] = db.session.get(Campaign, campaign_id)
        return self.campaigns[campaign_id]

    def account(self, account_id: int) -> BDAccount | None:
        if account_id not in self.accounts:
            self._load_accounts([account_id])
        return self.accounts[account_id]

    def waiting_first(self, account_id: int) -> int:
        if account_id not in self.in_flight:
            self._load_accounts([account_id])
        return self.in_flight[account_id]

    def org_zone(self, org_id: int) -> str:
        if org_id not in self.org_zones:
            org = db.session.get(Organization, org_id)
            self.org_zones[org_id] = (org.timezone if org else None) or "UTC"
        return self.org_zones[org_id]

    def org_settings(self, org_id: int) -> OutreachSettings:
        if org_id not in self.settings:
            self.settings[org_id] = audience.settings_for(org_id)
        return self.settings[org_id]

    def template(self, variant_id: int, text: str) -> rendering.Template:
        if variant_id not in self.templates:
            self.templates[variant_id] = rendering.parse(text)
        return self.templates[variant_id]

    def attachment(self, file: CampaignFile) -> Attachment:
        """A step's file as the outbox takes it: its bytes read and hashed once a pass, however
        many people the step goes to."""
        if file.id not in self.attachments:
            self.attachments[file.id] = Attachment(file.file_name, file.mime_type, file.data)
        return self.attachments[file.id]

    def replied_since(self, contact_id: int, since: datetime) -> bool:
        last = self.last_inbound.get(contact_id)
        return last is not None and last > since

    def capped(self, org_id: int, contact_id: int) -> bool:
        return self.first_sends.get(contact_id, 0) >= self.org_settings(org_id).cap_messages

    def conversation(self, contact_id: int, account_id: int | None) -> Chat | None:
        """The chat a sequence continues in: its account's chat with the contact, else their
        latest chat with any account of the organization."""
        chats = self.chats.get(contact_id, [])
        if account_id is not None:
            return next((c for c in chats if c.account_id == account_id), None)
        return chats[0] if chats else None

    def first_contact(self, chat: Chat | None) -> bool:
        """Whether a message in this chat would be an unsolicited first one (the tighter budget)."""
        return chat is None or not (chat.has_inbound or chat.id in self.we_wrote)

    def budget_wait(self, account: BDAccount, *, first_contact: bool) -> float | None:
        """When the account's budgets allow a message (None: now), as read once per pass."""
        key = (account.id, first_contact)
        if key not in self.waits:
            self.weigh([account], first_contact=first_contact)
        return self.waits[key]

    def weigh(self, accounts: Sequence[BDAccount], *, first_contact: bool) -> None:
        """Read the budgets of the accounts not read yet this pass, in one round trip."""
        unread = [a for a in accounts if (a.id, first_contact) not in self.waits]
        if not unread:
            return
        found = budgets.allowed_at_many(
            redis_store.client, [(a.id, effective(a.config)) for a in unread],
            first_contact=first_contact, now=self.now.timestamp(),
        )
        self.waits.update(((account_id, first_contact), wait) for account_id, wait in found.items())

    # -- what this pass did ------------------------------------------------------------------

    def handed_over(self, contact_id: int, account_id: int, *, first: bool) -> None:
        if first:
            self.in_flight[account_id] = self.waiting_first(account_id) + 1
            self.first_sends[contact_id] = self.first_sends.get(contact_id, 0) + 1
