"""What the telegram process writes: chats, messages, the contacts they link to, outbox states.

Flask-free: each function is one unit of work whose caller commits (the telegram process runs
them in a worker thread, one account's at a time). Messages are deduplicated by (chat, Telegram
id) with an insert that ignores conflicts on SQLite and PostgreSQL alike, so a live update, a
reconcile and a retried send may all report the same message. Every change raises its event
(``events.py``: a message received, sent, failed, edited..., a chat read, imported, updated);
open inboxes hear of it through ``live.py`` once the caller commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app import canonical
from app.blueprints.accounts.public import BDAccount
from app.blueprints.crm import public as crm
from app.blueprints.crm.public import Contact
from app.blueprints.messaging.events import (
    ChatCreated,
    ChatImported,
    ChatUpdated,
    MessageDeferred,
    MessageDeleted,
    MessageEdited,
    MessageFailed,
    MessageFileStored,
    MessageReceived,
    MessageSending,
    MessageSent,
    MessagesRead,
    MessagesReadByPeer,
    OutboxSettled,
)
from app.blueprints.messaging.models import Chat, Message, MessageFile, MessageStatus
from app.db_types import utcnow
from app.events import emit
from app.extensions import db

PREVIEW_LENGTH = 200
# Stored (the chat list's preview of a media-only message), so in English; read in each viewer's
# language through models.MEDIA_LABELS (``Chat.shown_preview``).
MEDIA_LABELS = {"photo": "Photo", "video": "Video", "voice": "Voice message", "audio": "Audio",
                "sticker": "Sticker", "document": "File"}


@dataclass(frozen=True)
class Peer:
    """The other side of a private chat, as this account sees them."""

    user_id: int
    access_hash: int | None
    first_name: str = ""
    last_name: str = ""
    username: str | None = None
    phone: str | None = None  # digits as Telegram gives them (no +), when they share it

    @property
    def title(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or (f"@{self.username}" if self.username else "") or (self.phone or str(self.user_id))


@dataclass(frozen=True)
class Item:
    """A Telegram message, reduced to what we keep."""

    telegram_id: int
    out: bool
    text: str
    date: datetime
    edited_at: datetime | None = None
    media: dict[str, Any] | None = None


@dataclass(frozen=True)
class Marks:
    """A dialog's read state on Telegram."""

    unread_count: int
    read_inbox_max_id: int
    read_outbox_max_id: int


@dataclass
class Saved:
    chat_id: int
    new_ids: list[int] = field(default_factory=list)
    read_behind: int = 0  # our read mark is ahead of Telegram's: send this max_id to Telegram


# -- chats and contacts -------------------------------------------------------------------------

def _chat(account_id: int, peer_id: int) -> Chat | None:
    return db.session.scalar(select(Chat).where(Chat.account_id == account_id, Chat.peer_id == peer_id))


def _new_chat(account_id: int, org_id: int, peer_id: int, contact_id: int | None = None) -> Chat:
    chat = Chat(org_id=org_id, account_id=account_id, peer_id=peer_id, contact_id=contact_id,
                unread_count=0, read_inbox_max_id=0, read_outbox_max_id=0, last_telegram_id=0,
                has_inbound=False, last_message_out=False)
    db.session.add(chat)
    return chat


def upsert_chat(account_id: int, org_id: int, peer: Peer, contact_id: int | None = None) -> Chat:
    """The account's chat with ``peer``, made (and linked to ``contact_id``, else to the contact
    found or made for ``peer``) on first sight (``ChatCreated``)."""
    chat = _chat(account_id, peer.user_id)
    created = chat is None
    if chat is None:
        chat = _new_chat(account_id, org_id, peer.user_id, contact_id)
    if peer.access_hash is not None:
        chat.peer_access_hash = peer.access_hash
    chat.title = peer.title[:200]
    chat.username = peer.username.lower() if peer.username else None
    chat.phone = peer.phone[:32] if peer.phone else chat.phone
    if chat.contact_id is None:
        chat.contact_id = link_contact(org_id, peer)
    db.session.flush()
    if created:
        emit(ChatCreated(org_id=org_id, actor_id=None, chat_id=chat.id, account_id=account_id,
                         peer_id=chat.peer_id, contact_id=chat.contact_id))
    return chat


def open_chat(account_id: int, org_id: int, peer: Peer, contact_id: int | None = None) -> int:
    """The account's chat with ``peer`` (made if new), linked to ``contact_id`` when given and the
    chat has no contact yet; returns the chat id. Raises ``ChatUpdated`` ("opened")."""
    owned = None
    if contact_id is not None and _chat(account_id, peer.user_id) is None:
        owned = db.session.scalar(select(Contact.id).where(Contact.id == contact_id,
                                                           Contact.org_id == org_id))
    chat = upsert_chat(account_id, org_id, peer, owned)
    emit(ChatUpdated(org_id=org_id, actor_id=None, chat_id=chat.id, account_id=account_id,
                     change="opened"))
    return chat.id


def e164(phone: str | None) -> str | None:
    """A phone as Telegram gives it (digits, no +) in E.164; None when it is not a phone number."""
    if not phone:
        return None
    try:
        return canonical.phone("+" + re.sub(r"\D", "", phone))
    except ValueError:
        return None


def link_contact(org_id: int, peer: Peer) -> int:
    """The CRM contact for ``peer``: found by Telegram user id, then username, then phone (and
    given the user id it lacked), or created from their Telegram profile."""
    live = select(Contact).where(Contact.org_id == org_id, Contact.deleted_at.is_(None)).order_by(Contact.id)
    username = peer.username.lower() if peer.username else None
    phone = e164(peer.phone)
    contact = db.session.scalar(live.where(Contact.telegram_user_id == peer.user_id).limit(1))
    if contact is None and username:
        contact = db.session.scalar(live.where(Contact.telegram_username == username).limit(1))
    if contact is None and phone:
        contact = db.session.scalar(live.where(Contact.phone == phone).limit(1))
    if contact is None:
        contact = crm.create_contact_unattended(org_id, {
            "first_name": peer.first_name or (f"@{username}" if username else str(peer.user_id)),
            "last_name": peer.last_name, "telegram_user_id": peer.user_id, "telegram_username": username,
            "phone": phone, "source": "telegram"}, via="telegram")
        return contact.id
    if contact.telegram_user_id is None or (contact.telegram_username is None and username):
        contact.telegram_user_id = contact.telegram_user_id or peer.user_id
        contact.telegram_username = contact.telegram_username or username
        contact.search_text = crm.search_text("contact", contact)
    return contact.id


# -- messages -----------------------------------------------------------------------------------

def _insert_ignoring_duplicates(rows: list[dict[str, Any]]) -> list[tuple[int, dict[str, Any]]]:
    """Insert message rows; a (chat, telegram id) already stored is skipped. Returns the new rows
    with their ids."""
    if not rows:
        return []
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    new_ids = []
    for row in rows:  # one by one: RETURNING with ON CONFLICT keeps only the inserted rows' ids
        stmt = insert(Message).values(**row).on_conflict_do_nothing(
            index_elements=["chat_id", "telegram_id"]).returning(Message.id)
        new_id = db.session.execute(stmt).scalar()
        if new_id is not None:
            new_ids.append((new_id, row))
    return new_ids


def preview(text: str, media: dict[str, Any] | None) -> str:
    if text.strip():
        return text.strip().replace("\n", " ")[:PREVIEW_LENGTH]
    if media:
        return f"[{MEDIA_LABELS.get(media.get('kind'), 'Attachment')}]"
    return ""


def _touch_last(chat: Chat, item: Item) -> None:
    if chat.last_message_at is None or item.date >= chat.last_message_at:
        chat.last_message_at = item.date
        chat.last_message_preview = preview(item.text, item.media)
        chat.last_message_out = item.out


def save_items(chat: Chat, items: Iterable[Item], *, announce: bool) -> list[int]:
    """Store messages of ``chat`` not stored yet; ``announce``: raise MessageReceived for each new
    one of theirs, MessageSent for each new one of ours written elsewhere (live and reconciled
    messages, not the first import)."""
    items = sorted(items, key=lambda i: i.telegram_id)
    rows = [{
        "org_id": chat.org_id, "chat_id": chat.id, "account_id": chat.account_id,
        "telegram_id": item.telegram_id, "out": item.out, "text": item.text, "date": item.date,
        "edited_at": item.edited_at, "media": item.media,
        "status": (MessageStatus.SENT if item.out else MessageStatus.RECEIVED).value,
        "attempts": 0, "created_at": utcnow(),
    } for item in items]
    created = _insert_ignoring_duplicates(rows)
    new_ids = [message_id for message_id, _ in created]
    if not items:
        return new_ids
    chat.last_telegram_id = max(chat.last_telegram_id or 0, items[-1].telegram_id)
    _touch_last(chat, items[-1])
    inbound = [item for item in items if not item.out]
    if inbound:
        chat.has_inbound = True
    if announce:
        for message_id, row in created:
            if not row["out"]:
                chat.unread_count = (chat.unread_count or 0) + 1
                emit(MessageReceived(org_id=chat.org_id, actor_id=None, message_id=message_id,
                                     chat_id=chat.id, account_id=chat.account_id,
                                     contact_id=chat.contact_id))
            else:
                emit(MessageSent(org_id=chat.org_id, actor_id=None, message_id=message_id,
                                 chat_id=chat.id, account_id=chat.account_id, via_app=False,
                                 telegram_id=row["telegram_id"], contact_id=chat.contact_id))
    return new_ids


def receive(account_id: int, org_id: int, peer: Peer, item: Item) -> Saved:
    """A message heard live (theirs, or ours written on another device)."""
    chat = upsert_chat(account_id, org_id, peer)
    return Saved(chat.id, save_items(chat, [item], announce=True))


def import_dialog(account_id: int, org_id: int, peer: Peer, marks: Marks | None, items: list[Item], *,
                  announce: bool) -> Saved:
    """A dialog from Telegram's list with its messages newer than we held (first import or
    reconcile). Read marks only move forward; when ours is ahead (read here while Telegram was out
    of reach) ``read_behind`` says which mark to send.

    The first import (not ``announce``) raises ``ChatImported`` when it stored messages; a
    reconcile raises the messages' events, then ``MessagesRead`` / ``MessagesReadByPeer`` for marks
    that moved (``ChatUpdated`` "unread" when only the unread count was corrected)."""
    chat = upsert_chat(account_id, org_id, peer)
    saved = Saved(chat.id, save_items(chat, items, announce=announce))
    before = (chat.unread_count, chat.read_inbox_max_id or 0, chat.read_outbox_max_id or 0)
    if marks is not None:
        chat.read_outbox_max_id = max(chat.read_outbox_max_id or 0, marks.read_outbox_max_id)
        ours = chat.read_inbox_max_id or 0
        if marks.read_inbox_max_id >= ours:
            chat.read_inbox_max_id = marks.read_inbox_max_id
            chat.unread_count = marks.unread_count
        else:
            saved.read_behind = ours
            chat.unread_count = unread_after(chat.id, ours)
    if not announce:
        if saved.new_ids:  # one event per dialog (not per message): open inboxes list it
            emit(ChatImported(org_id=org_id, actor_id=None, chat_id=chat.id, account_id=account_id,
                              messages=len(saved.new_ids)))
        return saved
    moved = False
    if (chat.read_inbox_max_id or 0) > before[1]:
        moved = True
        emit(MessagesRead(org_id=org_id, actor_id=None, chat_id=chat.id, account_id=account_id,
                          up_to=chat.read_inbox_max_id, unread_count=chat.unread_count or 0))
    if (chat.read_outbox_max_id or 0) > before[2]:
        moved = True
        emit(MessagesReadByPeer(org_id=org_id, actor_id=None, chat_id=chat.id, account_id=account_id,
                                up_to=chat.read_outbox_max_id))
    if not moved and not saved.new_ids and chat.unread_count != before[0]:
        emit(ChatUpdated(org_id=org_id, actor_id=None, chat_id=chat.id, account_id=account_id,
                         change="unread"))
    return saved


def unread_after(chat_id: int, max_id: int) -> int:
    """How many of their messages in the chat are newer than ``max_id`` (what is still unread)."""
    return db.session.scalar(select(func.count()).select_from(Message).where(
        Message.chat_id == chat_id, Message.out.is_(False), Message.telegram_id > max_id,
        Message.deleted_at.is_(None))) or 0


def edit(account_id: int, org_id: int, peer: Peer, item: Item) -> int | None:
    """An edited message: new text and edit time (stored now if we never had it)."""
    chat = upsert_chat(account_id, org_id, peer)
    message = db.session.scalar(select(Message).where(Message.chat_id == chat.id,
                                                      Message.telegram_id == item.telegram_id))
    if message is None:
        new_ids = save_items(chat, [item], announce=True)
        return new_ids[0] if new_ids else None
    message.text = item.text
    message.edited_at = item.edited_at or utcnow()
    if item.media is not None:
        message.media = item.media
    if chat.last_telegram_id == item.telegram_id:
        chat.last_message_preview = preview(item.text, message.media)
    emit(MessageEdited(org_id=org_id, actor_id=None, message_id=message.id, chat_id=chat.id,
                       account_id=account_id))
    return message.id


def delete(account_id: int, telegram_ids: list[int]) -> list[int]:
    """Messages deleted on Telegram (private chats name only the ids): kept, marked deleted."""
    if not telegram_ids:
        return []
    messages = list(db.session.scalars(select(Message).where(
        Message.account_id == account_id, Message.telegram_id.in_(telegram_ids),
        Message.deleted_at.is_(None))))
    now = utcnow()
    for message in messages:
        message.deleted_at = now
        emit(MessageDeleted(org_id=message.org_id, actor_id=None, message_id=message.id,
                            chat_id=message.chat_id, account_id=message.account_id))
    return [m.id for m in messages]


def read(account_id: int, peer_id: int, *, inbox: bool, max_id: int,
         still_unread: int | None = None) -> int | None:
    """A read receipt: ``inbox`` we read their messages (on another device: ``MessagesRead``), else
    they read ours (``MessagesReadByPeer``)."""
    chat = _chat(account_id, peer_id)
    if chat is None:
        return None
    if inbox:
        if max_id <= (chat.read_inbox_max_id or 0):
            return None
        chat.read_inbox_max_id = max_id
        chat.unread_count = still_unread if still_unread is not None else unread_after(chat.id, max_id)
        emit(MessagesRead(org_id=chat.org_id, actor_id=None, chat_id=chat.id, account_id=account_id,
                          up_to=max_id, unread_count=chat.unread_count or 0))
    else:
        if max_id <= (chat.read_outbox_max_id or 0):
            return None
        chat.read_outbox_max_id = max_id
        emit(MessagesReadByPeer(org_id=chat.org_id, actor_id=None, chat_id=chat.id,
                                account_id=account_id, up_to=max_id))
    return chat.id


def watermarks(account_id: int) -> dict[int, int]:
    """peer id -> newest Telegram id held, for every chat of the account."""
    rows = db.session.execute(select(Chat.peer_id, Chat.last_telegram_id)
                              .where(Chat.account_id == account_id))
    return {peer_id: last or 0 for peer_id, last in rows}


@dataclass(frozen=True)
class ReadTarget:
    account_id: int
    chat_id: int
    peer_id: int
    access_hash: int | None
    max_id: int


def read_target(chat_id: int) -> ReadTarget | None:
    chat = db.session.get(Chat, chat_id)
    if chat is None:
        return None
    return ReadTarget(chat.account_id, chat.id, chat.peer_id, chat.peer_access_hash,
                      chat.read_inbox_max_id or 0)


# -- media --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MediaTarget:
    account_id: int
    org_id: int
    message_id: int
    peer_id: int
    access_hash: int | None
    telegram_id: int
    media: dict[str, Any]
    stored: bool


def media_target(message_id: int) -> MediaTarget | None:
    row = db.session.execute(
        select(Message, Chat.peer_id, Chat.peer_access_hash).join(Chat, Chat.id == Message.chat_id)
        .where(Message.id == message_id)).first()
    if row is None or row[0].media is None or row[0].telegram_id is None:
        return None
    message, peer_id, access_hash = row
    stored = db.session.scalar(select(exists().where(MessageFile.message_id == message.id)))
    return MediaTarget(message.account_id, message.org_id, message.id, peer_id, access_hash,
                       message.telegram_id, dict(message.media), bool(stored))


def store_file(message_id: int, data: bytes, mime_type: str | None, file_name: str | None) -> None:
    message = db.session.get(Message, message_id)
    if message is None or db.session.get(MessageFile, message_id) is not None:
        return
    db.session.add(MessageFile(org_id=message.org_id, message_id=message.id, data=data,
                               mime_type=(mime_type or "application/octet-stream")[:100],
                               file_name=file_name[:255] if file_name else None))
    emit(MessageFileStored(org_id=message.org_id, actor_id=None, message_id=message.id,
                           chat_id=message.chat_id, account_id=message.account_id))


# -- the outbox ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SendPlan:
    """One outbox message, ready to hand to Telegram."""

    message_id: int
    account_id: int
    org_id: int
    chat_id: int | None  # None: nobody found yet, ``recipient`` says whom to look up
    status: str
    send_after: datetime | None
    attempts: int
    random_id: int
    text: str
    peer_id: int | None
    access_hash: int | None
    first_contact: bool  # the person never wrote and we never reached them: outreach budget
    file: tuple[bytes, str, str | None] | None  # (data, mime type, file name) of an attachment
    config: dict[str, int]
    recipient: dict[str, Any] | None = None  # {contact_id, user_id, username, phone}
    contact_id: int | None = None
    cancel_on_reply: bool = False
    created_at: datetime | None = None


def send_plan(message_id: int) -> SendPlan | None:
    """The outbox message as a plan; None when it is gone or not an outbox message."""
    from app.blueprints.accounts.public import effective

    found = db.session.execute(
        select(Message, Chat, BDAccount.config).outerjoin(Chat, Chat.id == Message.chat_id)
        .join(BDAccount, BDAccount.id == Message.account_id).where(Message.id == message_id)).first()
    if found is None:
        return None
    message, chat, account_config = found
    if not message.out or message.random_id is None or (chat is None and not message.recipient):
        return None
    # A first contact: they never wrote and nothing of ours reached them yet (asked only then).
    reached = chat is not None and (chat.has_inbound or db.session.scalar(select(exists().where(
        Message.chat_id == chat.id, Message.out.is_(True), Message.id != message.id,
        Message.status == MessageStatus.SENT.value))))
    stored = db.session.get(MessageFile, message.id) if message.media else None
    return SendPlan(
        message_id=message.id, account_id=message.account_id, org_id=message.org_id,
        chat_id=chat.id if chat else None, status=message.status, send_after=message.send_after,
        attempts=message.attempts or 0, random_id=message.random_id, text=message.text or "",
        peer_id=chat.peer_id if chat else None, access_hash=chat.peer_access_hash if chat else None,
        first_contact=not reached,
        file=(stored.data, stored.mime_type, stored.file_name) if stored else None,
        config=effective(account_config), recipient=message.recipient,
        contact_id=_contact_of(message, chat), cancel_on_reply=message.cancel_on_reply,
        created_at=message.created_at)


def _contact_of(message: Message, chat: Chat | None) -> int | None:
    if chat is not None and chat.contact_id is not None:
        return chat.contact_id
    return (message.recipient or {}).get("contact_id")


def _ids(message: Message) -> dict[str, Any]:
    """What every message event of ``message`` names."""
    return {"org_id": message.org_id, "message_id": message.id, "chat_id": message.chat_id,
            "account_id": message.account_id}


def _settled(message: Message, chat: Chat | None, outcome: str, reason: str | None = None) -> None:
    """Tell the domain that queued ``message`` how it ended (``OutboxSettled``), if one did."""
    if message.origin:
        emit(OutboxSettled(org_id=message.org_id, actor_id=None, message_id=message.id,
                           account_id=message.account_id, chat_id=message.chat_id,
                           contact_id=_contact_of(message, chat), origin=message.origin,
                           outcome=outcome, reason=reason))


def replied_since(plan: SendPlan) -> bool:
    """Whether the person wrote to any of the organization's accounts after ``plan``'s message was
    queued (by the time we stored it): such a message no longer goes if it asked so."""
    if plan.created_at is None:
        return False
    inbound = select(Message.id).join(Chat, Chat.id == Message.chat_id).where(
        Message.org_id == plan.org_id, Message.out.is_(False), Message.created_at > plan.created_at)
    if plan.contact_id is not None:
        inbound = inbound.where(Chat.contact_id == plan.contact_id)
    elif plan.chat_id is not None:
        inbound = inbound.where(Chat.id == plan.chat_id)
    else:
        return False
    return db.session.scalar(select(exists(inbound))) or False


def withdraw(message_id: int, reason: str) -> bool:
    """Cancel a queued outbox message that has not gone to Telegram yet (``reason``: ``said``).
    False when it is already being sent, sent, failed or gone: then it stands. The move from
    queued is one conditional update, so a withdrawal and a send never both win."""
    row = db.session.execute(
        update(Message).where(Message.id == message_id, Message.status == MessageStatus.QUEUED.value)
        .values(status=MessageStatus.CANCELLED.value, error=reason[:300], send_after=None)
        .execution_options(synchronize_session=False)).rowcount
    if not row:
        return False
    message = db.session.get(Message, message_id)
    db.session.refresh(message)
    chat = db.session.get(Chat, message.chat_id) if message.chat_id else None
    if chat is not None:
        emit(MessageFailed(**_ids(message), actor_id=None, reason=message.error or ""))
    _settled(message, chat, "cancelled", message.error)
    return True


def bind_recipient(message_id: int, peer: Peer) -> SendPlan | None:
    """The outbox message's recipient was found on Telegram as ``peer``: it joins the account's
    chat with them (made if new, linked to the recipient's contact). Returns the new plan."""
    message = db.session.get(Message, message_id)
    if message is None:
        return None
    if message.chat_id is None:
        contact_id = (message.recipient or {}).get("contact_id")
        message.chat_id = open_chat(message.account_id, message.org_id, peer, contact_id)
        db.session.flush()
    return send_plan(message_id)


def start_sending(message_id: int) -> bool:
    """queued (or sending, after a crash) -> sending, one more attempt (``MessageSending``). False
    when it may not go."""
    row = db.session.execute(
        update(Message)
        .where(Message.id == message_id,
               Message.status.in_([MessageStatus.QUEUED.value, MessageStatus.SENDING.value]))
        .values(status=MessageStatus.SENDING.value, attempts=Message.attempts + 1, error=None)
        .returning(Message.org_id, Message.chat_id, Message.account_id, Message.attempts)
        .execution_options(synchronize_session=False)).first()
    if row is None:
        return False
    if row.chat_id is not None:
        emit(MessageSending(org_id=row.org_id, actor_id=None, message_id=message_id,
                            chat_id=row.chat_id, account_id=row.account_id, attempt=row.attempts))
    return True


def record_sent(message_id: int, telegram_id: int, date: datetime | None, media: dict | None = None) -> None:
    """Telegram confirmed the send (``MessageSent``). A copy of the same message stored meanwhile
    (a reconcile after a crash between sending and recording) is folded into the outbox row
    (``ChatUpdated`` "folded")."""
    found = db.session.execute(select(Message, Chat).join(Chat, Chat.id == Message.chat_id)
                               .where(Message.id == message_id)).first()
    if found is None:
        return
    message, chat = found
    already = message.status == MessageStatus.SENT.value
    copy = db.session.scalar(select(Message).where(Message.chat_id == message.chat_id,
                                                   Message.telegram_id == telegram_id,
                                                   Message.id != message.id))
    if copy is not None:
        db.session.delete(copy)
        db.session.flush()
        emit(ChatUpdated(org_id=message.org_id, actor_id=None, chat_id=message.chat_id,
                         account_id=message.account_id, change="folded"))
    message.telegram_id = telegram_id
    message.status = MessageStatus.SENT.value
    message.error = None
    message.send_after = None
    if date is not None:
        message.date = date
    if media is not None and not message.media:
        message.media = media
    # last_telegram_id stays the mirror's high-water mark: a reconcile still reads past it.
    _touch_last(chat, Item(telegram_id, True, message.text or "", message.date, media=message.media))
    emit(MessageSent(**_ids(message), actor_id=None, via_app=True, telegram_id=telegram_id,
                     contact_id=chat.contact_id))
    if not already:
        _settled(message, chat, "sent")


def requeue(message_id: int, send_after: datetime | None) -> None:
    """Back to queued for a later attempt (a flood, a budget, a network failure): same random_id
    (``MessageDeferred``)."""
    message = db.session.get(Message, message_id)
    if message is None or message.status not in (MessageStatus.QUEUED, MessageStatus.SENDING):
        return
    message.status = MessageStatus.QUEUED.value
    message.send_after = send_after
    if message.chat_id is not None:
        emit(MessageDeferred(**_ids(message), actor_id=None, send_after=send_after))


def retry_sending(message_id: int, send_after: datetime | None) -> None:
    """The last attempt may have reached Telegram (no answer came back: a network failure): the
    message stays ``sending``, so nobody withdraws what the person may already have, and goes again
    at ``send_after`` (None: as soon as the account can send) with the same random_id; Telegram
    answers with the original if it has it (``MessageDeferred``)."""
    message = db.session.get(Message, message_id)
    if message is None or message.status != MessageStatus.SENDING:
        return
    message.send_after = send_after
    if message.chat_id is not None:
        emit(MessageDeferred(**_ids(message), actor_id=None, send_after=send_after))


def fail(message_id: int, reason: str) -> None:
    """The outbox message failed for good (``MessageFailed``): a member may retry it."""
    message = db.session.get(Message, message_id)
    if message is None or message.status in (MessageStatus.SENT, MessageStatus.FAILED,
                                             MessageStatus.CANCELLED):
        return
    message.status = MessageStatus.FAILED.value
    message.error = reason[:300]
    chat = db.session.get(Chat, message.chat_id) if message.chat_id else None
    if chat is not None:
        emit(MessageFailed(**_ids(message), actor_id=None, reason=message.error))
    _settled(message, chat, "failed", message.error)


def sent_then_deleted(message_id: int) -> None:
    """Telegram says this random_id was used by a message deleted since: it went out once
    (``MessageSent`` without a Telegram id)."""
    message = db.session.get(Message, message_id)
    if message is None:
        return
    already = message.status == MessageStatus.SENT.value
    message.status = MessageStatus.SENT.value
    message.deleted_at = utcnow()
    chat = db.session.get(Chat, message.chat_id) if message.chat_id else None
    if chat is not None:
        emit(MessageSent(**_ids(message), actor_id=None, via_app=True, telegram_id=message.telegram_id,
                         contact_id=chat.contact_id))
    if not already:
        _settled(message, chat, "sent")


def due(account_id: int, now: datetime, limit: int = 200) -> list[int]:
    """Outbox messages of the account that may go now (and any left in sending by a crash, or
    in sending after an unanswered attempt once its retry is due)."""
    return list(db.session.scalars(
        select(Message.id).where(
            Message.account_id == account_id,
            Message.status.in_([MessageStatus.QUEUED.value, MessageStatus.SENDING.value]),
            Message.send_after.is_(None) | (Message.send_after <= now))
        .order_by(Message.id).limit(limit)))


def next_due(account_id: int) -> datetime | None:
    """When the account's earliest waiting message may go."""
    return db.session.scalar(select(func.min(Message.send_after)).where(
        Message.account_id == account_id,
        Message.status.in_([MessageStatus.QUEUED.value, MessageStatus.SENDING.value])))


def last_telegram_id(account_id: int) -> int:
    """The highest Telegram message id held for the account (0 for none)."""
    return db.session.scalar(select(func.max(Message.telegram_id))
                             .where(Message.account_id == account_id)) or 0
