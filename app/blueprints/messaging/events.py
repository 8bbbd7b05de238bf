"""What the inbox tells others: chats and messages that changed.

Raised where the change is flushed (``service`` for what members do, ``store`` for what the
telegram process writes), delivered after the commit like every domain event (``app.events``).
Each carries ids and small values only. ``actor_id`` is the member who did it, None for what came
from Telegram. ``live.py`` turns them into the inbox's realtime doorbells (``inbox.message``,
``inbox.chat``); campaigns, automation and analytics may subscribe too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class ChatEvent(DomainEvent):
    """Something happened in one chat of a connected account (base of the inbox's events)."""

    chat_id: int
    account_id: int


@dataclass(frozen=True, kw_only=True)
class MessageEvent(ChatEvent):
    """Something happened to one message of a chat."""

    message_id: int


# -- messages -------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class MessageReceived(MessageEvent):
    """Someone wrote to a connected Telegram account: heard live, or found by a reconcile after an
    outage (the first import of old history raises none)."""

    contact_id: int | None


@dataclass(frozen=True, kw_only=True)
class MessageQueued(MessageEvent):
    """A member wrote a message to the outbox (``retry``: queued a failed one again, same row and
    random_id); the telegram process holding the account sends it soon."""

    retry: bool = False


@dataclass(frozen=True, kw_only=True)
class MessageSending(MessageEvent):
    """The telegram process took an outbox message to hand it to Telegram (attempt ``attempt``)."""

    attempt: int


@dataclass(frozen=True, kw_only=True)
class MessageDeferred(MessageEvent):
    """An outbox message went back to the queue for a later attempt (a flood wait, the account's
    budget, a network failure): ``send_after`` None means as soon as the account can send."""

    send_after: datetime | None


@dataclass(frozen=True, kw_only=True)
class MessageSent(MessageEvent):
    """One of our messages is on Telegram: an outbox message Telegram confirmed (``via_app``), or
    one written on another of the account's devices, heard live or found by a reconcile
    (``via_app`` False; the first import raises none). ``telegram_id`` None: Telegram said the
    message went out once and was deleted since."""

    via_app: bool
    telegram_id: int | None
    contact_id: int | None


@dataclass(frozen=True, kw_only=True)
class MessageFailed(MessageEvent):
    """An outbox message failed for good (Telegram refused it, or the account's session ended):
    it waits for a member to retry it."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class MessageEdited(MessageEvent):
    """A stored message was edited on Telegram (its new text is stored)."""


@dataclass(frozen=True, kw_only=True)
class MessageDeleted(MessageEvent):
    """A message was deleted on Telegram: we keep it, marked deleted."""


@dataclass(frozen=True, kw_only=True)
class MessageFileStored(MessageEvent):
    """A message's attachment was fetched from Telegram and stored (it can be shown now)."""


@dataclass(frozen=True, kw_only=True)
class OutboxSettled(DomainEvent):
    """How an outbox message another domain queued (``origin``, e.g. "campaign") ended: "sent",
    "failed" (``reason``, in no language: ``app.i18n.said``) or "cancelled" (withdrawn before it
    went: the person wrote first, or its sender withdrew it). ``chat_id`` is None for a message to
    someone never found on Telegram. Raised once per message, whoever settles it."""

    message_id: int
    account_id: int
    chat_id: int | None
    contact_id: int | None
    origin: str
    outcome: str
    reason: str | None = None


# -- read marks -----------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class MessagesRead(ChatEvent):
    """Their messages in the chat were read up to Telegram id ``up_to``: by a member here
    (``actor_id``; Telegram hears it soon), or on another of the account's devices (heard live or
    found by a reconcile). ``unread_count``: what is still unread."""

    up_to: int
    unread_count: int


@dataclass(frozen=True, kw_only=True)
class MessagesReadByPeer(ChatEvent):
    """The other side read our messages in the chat up to Telegram id ``up_to`` (Telegram's read
    receipt, heard live or found by a reconcile)."""

    up_to: int


# -- chats ----------------------------------------------------------------------------------------

@dataclass(frozen=True, kw_only=True)
class ChatCreated(ChatEvent):
    """A chat with a Telegram user was stored for the first time (a message came in, the sync
    found the dialog, or a member opened a conversation), linked to ``contact_id``. Open inboxes
    hear of it through the event that came with it (its message, ``ChatImported``, ``ChatUpdated``)."""

    peer_id: int
    contact_id: int | None


@dataclass(frozen=True, kw_only=True)
class ChatImported(ChatEvent):
    """The account's first import stored the dialog's recent history (``messages`` new rows; no
    message events for old history): open inboxes list it."""

    messages: int


@dataclass(frozen=True, kw_only=True)
class ChatUpdated(ChatEvent):
    """What the inbox shows of a chat changed, ``change`` says how: "opened" (a member opened a
    conversation with this person from the app), "contact" (linked to a CRM contact), "deal" (a
    deal was made from it), "unread" (a reconcile corrected its unread count), "folded" (a copy of
    a sent message stored by a reconcile was folded into its outbox row)."""

    change: str


@dataclass(frozen=True, kw_only=True)
class ChatAssigned(ChatEvent):
    """The chat moved from ``from_user_id`` to ``to_user_id`` (None: nobody), by ``actor_id``."""

    from_user_id: int | None
    to_user_id: int | None
