"""The shared inbox: who sees which chat, the chat list, threads, the outbox, read marks,
assignment, deals from chats, and the figures. Flask-free: explicit actor, flush only; the
dispatch nudges wait for the commit, and every change raises its event (``events.py``: open pages
hear of it through ``live.py``).

Sight: managers and above see every chat of the organization (``Permission.CHATS_VIEW_ALL``); an
agent sees the chats of the accounts given to them (``bd_account_agent``), the chats assigned
to them, and the chats of the contacts shared with them (the CRM's ``shared_contact_ids``).
A chat someone may not see is a 404 to them, exactly like another organization's.

Sending: ``queue_message`` writes the outbox row (status queued, its own ``random_id``) and, once
committed, nudges the telegram process holding the account (``dispatch.send_soon``). The process
sends it and records sent or failed (``MessageSent``, ``MessageFailed``). A retry re-queues the same row with
the same ``random_id``, so Telegram drops a duplicate if the first attempt did arrive.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from babel.numbers import format_decimal
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, or_, select, update
from sqlalchemy.orm import joinedload, lazyload

from app.after_commit import after_commit
from app.blueprints.accounts.public import (
    AccountStatus,
    Ask,
    BDAccount,
    TelegramRefused,
    Viewer,
    agent_account_ids,
    effective,
    is_agent_of,
    sees_every_account,
    visible_accounts,
)
from app.blueprints.auth.public import User
from app.blueprints.crm.public import (
    Contact,
    ContactsMerged,
    Deal,
    DealStatus,
    is_shared_with,
    shared_contact_ids,
)
from app.blueprints.messaging import blobs, store
from app.blueprints.messaging.events import (
    ChatAssigned,
    ChatUpdated,
    MessageQueued,
    MessagesRead,
)
from app.blueprints.messaging.models import Chat, Message, MessageFile, MessageStatus
from app.blueprints.pipeline.public import Pipeline
from app.blueprints.team.public import Membership, Permission, phone_region, require
from app.canonical import ID_MAX, id_or_none, phone_search_digits
from app.db_types import utcnow
from app.errors import DomainError, NotFound
from app.events import emit, subscribe
from app.extensions import db
from app.integrations.telegram import dispatch
from app.integrations.telegram.control import ControlError

MAX_TEXT = 4096  # Telegram's limit for a message
MAX_CAPTION = 1024  # ... and for the caption of a file
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024
CHAT_PAGE = 30
THREAD_PAGE = 40
SEARCH_MESSAGE_MATCHES = 200  # message-text search looks at most this many matching messages
UNSENDABLE = {AccountStatus.BANNED, AccountStatus.DEACTIVATED}
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp"}


# -- who sees what -----------------------------------------------------------------------------

def chat_sight(viewer: Viewer) -> ColumnElement[bool]:
    """The WHERE clause of the chats ``viewer`` may see (``can_see_chat`` is the same rule for one
    chat): every chat with CHATS_VIEW_ALL; else those of the accounts given to them, those assigned
    to them, and those of the contacts shared with them (``crm.shared_contact_ids``)."""
    in_org = Chat.org_id == viewer.org_id
    if sees_every_account(viewer):
        return in_org
    return and_(in_org, or_(Chat.account_id.in_(agent_account_ids(viewer)),
                            Chat.assignee_id == viewer.user_id,
                            Chat.contact_id.in_(shared_contact_ids(viewer))))


def can_see_chat(viewer: Viewer, chat: Chat) -> bool:
    """``chat_sight`` for one chat (pages, actions and live renders alike)."""
    return sees_unshared(viewer, chat) or (chat.org_id == viewer.org_id
                                           and is_shared_with(viewer, chat.contact_id))


def sees_unshared(viewer: Viewer, chat: Chat) -> bool:
    """Whether ``viewer`` sees ``chat`` whether or not its contact is shared with them."""
    if chat.org_id != viewer.org_id:
        return False
    if sees_every_account(viewer) or chat.assignee_id == viewer.user_id:
        return True
    return is_agent_of(viewer, chat.account_id)


def get_chat(viewer: Viewer, chat_id: int) -> Chat:
    """The chat, if ``viewer`` may see it. Raises NotFound."""
    chat = db.session.scalar(select(Chat).where(chat_sight(viewer), Chat.id == chat_id))
    if chat is None:
        raise NotFound(_("Chat not found."))
    return chat


def get_message(viewer: Viewer, message_id: int) -> Message:
    """The message, if ``viewer`` may see its chat. Raises NotFound."""
    message = db.session.scalar(select(Message).join(Chat, Chat.id == Message.chat_id).where(
        chat_sight(viewer), Message.id == message_id))
    if message is None:
        raise NotFound(_("Message not found."))
    return message


# -- the chat list -----------------------------------------------------------------------------

_DIGITS = re.compile(r"[0-9]{1,10}")  # an id as the pages' filters send it (str.isdigit takes "²")


@dataclass
class InboxFilter:
    """What the chat list is narrowed to. ``assignee``: "", "me", "none" or a user id."""

    q: str = ""
    account_id: int | None = None
    assignee: str = ""
    unread: bool = False
    has_deal: bool = False

    @classmethod
    def from_args(cls, args: Any) -> InboxFilter:
        account = (args.get("account") or "").strip()
        assignee = (args.get("assignee") or "").strip()
        if assignee not in ("me", "none") and not _DIGITS.fullmatch(assignee):
            assignee = ""
        return cls(q=(args.get("q") or "").strip()[:100],
                   account_id=id_or_none(account) if _DIGITS.fullmatch(account) else None, assignee=assignee,
                   unread=(args.get("unread") or "") in ("1", "true", "on"),
                   has_deal=(args.get("has_deal") or "") in ("1", "true", "on"))

    @property
    def active(self) -> bool:
        return bool(self.q or self.account_id or self.assignee or self.unread or self.has_deal)

    def as_args(self) -> dict[str, str]:
        args = {"q": self.q, "account": str(self.account_id or ""), "assignee": self.assignee,
                "unread": "1" if self.unread else "", "has_deal": "1" if self.has_deal else ""}
        return {k: v for k, v in args.items() if v}


def open_deal_exists() -> ColumnElement[bool]:
    """Whether the chat's contact has an open deal (correlated EXISTS, by ``deal.contact_id``)."""
    return exists(select(Deal.id).where(Deal.contact_id == Chat.contact_id, Deal.org_id == Chat.org_id,
                                        Deal.status == DealStatus.OPEN.value, Deal.deleted_at.is_(None)))


def _like(text: str) -> str:
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


def _contains(column: Any, needle: str) -> ColumnElement[bool]:
    """``column`` holds ``needle`` in any case, with ё and its plain letter alike ("ежик" finds
    "ЁЖИК").

    ASCII goes through ILIKE. Other text is matched letter by letter against the letter's forms
    (``[еЕёЁ][жЖ]...``), with GLOB on SQLite and a regular expression on PostgreSQL: SQLite folds
    only ASCII case, and PostgreSQL's folding depends on the database's locale.
    """
    if needle.isascii():
        return column.ilike(_like(needle), escape="\\")
    forms = [_letter_forms(c) for c in needle]
    if db.engine.dialect.name == "sqlite":
        glob = "".join(f"[{''.join(f)}]" if len(f) > 1 or f[0] in "*?[" else f[0] for f in forms)
        return column.op("GLOB")(f"*{glob}*")
    regex = "".join(f"[{''.join(f)}]" if len(f) > 1 else
                    (f"\\{f[0]}" if f[0].isascii() and not f[0].isalnum() else f[0]) for f in forms)
    return column.op("~")(regex)


_YE_FORMS = "\u0435\u0451\u0415\u0401"  # Cyrillic ie and io, small and capital: one letter to search


def _letter_forms(char: str) -> list[str]:
    """The one-character forms of ``char`` search treats as the same letter."""
    if char in _YE_FORMS:
        return list(_YE_FORMS)
    return list(dict.fromkeys(c for c in (char, char.lower(), char.upper()) if len(c) == 1))


def _search(org_id: int, q: str) -> ColumnElement[bool]:
    """Title, username, phone, or the text of a message.

    Chat fields are matched on the org's chats; message text with a LIKE over the org's messages,
    bounded to the first SEARCH_MESSAGE_MATCHES matches (newest first): linear in the org's message
    count, like the CRM's LIKE fallback, until messages get a full-text index.
    """
    needle = q.lower().lstrip("@")
    # A number as people write it ("8 916 111-22-33") is looked for as Telegram's digits too.
    numbers = phone_search_digits(q, phone_region(org_id)) if any(c.isdigit() for c in q) else ()
    digits = re.sub(r"\D", "", q)
    matches = select(Message.chat_id).where(
        Message.org_id == org_id, _contains(Message.text, needle),
    ).order_by(Message.id.desc()).limit(SEARCH_MESSAGE_MATCHES)
    clauses = [_contains(Chat.title, needle), _contains(Chat.username, needle),
               Chat.id.in_(select(matches.subquery().c.chat_id))]
    if len(digits) >= 4:
        clauses.append(Chat.phone.like(_like(digits), escape="\\"))
    clauses.extend(Chat.phone.like(f"%{n}%") for n in numbers if n != digits)  # digits only
    return or_(*clauses)


def _filtered(stmt: Select, viewer: Viewer, flt: InboxFilter) -> Select:
    """``stmt`` (over Chat) narrowed to the chats the viewer may see that match ``flt``."""
    stmt = stmt.where(chat_sight(viewer))
    if flt.account_id:
        stmt = stmt.where(Chat.account_id == flt.account_id)
    if flt.assignee == "me":
        stmt = stmt.where(Chat.assignee_id == viewer.user_id)
    elif flt.assignee == "none":
        stmt = stmt.where(Chat.assignee_id.is_(None))
    elif flt.assignee:  # a user id; one beyond any id names nobody
        user_id = id_or_none(flt.assignee)
        stmt = stmt.where(Chat.assignee_id == user_id if user_id is not None else false())
    if flt.unread:
        stmt = stmt.where(Chat.unread_count > 0)
    if flt.has_deal:
        stmt = stmt.where(open_deal_exists())
    if flt.q:
        stmt = stmt.where(_search(viewer.org_id, flt.q))
    return stmt


def chats_query(viewer: Viewer, flt: InboxFilter) -> Select:
    """Visible chats matching ``flt``, newest conversation first (ix_chat_org_last)."""
    stmt = select(Chat, open_deal_exists().label("has_deal")).where(Chat.last_message_at.is_not(None))
    return _filtered(stmt, viewer, flt).order_by(Chat.last_message_at.desc(), Chat.id.desc())


def chats_page(viewer: Viewer, flt: InboxFilter, page: int, per_page: int) -> tuple[list[Chat], int]:
    """Every visible chat matching ``flt`` (those without messages too), a numbered page of them,
    and how many there are."""
    stmt = _filtered(select(Chat), viewer, flt)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    found = db.session.scalars(stmt.order_by(Chat.last_message_at.desc().nulls_last(), Chat.id.desc())
                               .offset((page - 1) * per_page).limit(per_page))
    return list(found), total


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def encode_cursor(moment: datetime, row_id: int) -> str:
    micros = (moment - _EPOCH) // timedelta(microseconds=1)
    return f"{micros}_{row_id}"


def decode_cursor(raw: str | None) -> tuple[datetime, int] | None:
    """(moment, id) from a cursor; None for none. Raises DomainError for a malformed one, or one
    naming a moment no datetime holds or an id no column holds (the database would fail on those)."""
    if not raw:
        return None
    match = re.fullmatch(r"(-?[0-9]{1,20})_([0-9]{1,20})", raw)
    moment = _moment(int(match.group(1))) if match else None
    row_id = int(match.group(2)) if match else None
    if moment is None or row_id is None or row_id > ID_MAX:
        raise DomainError(_("That page cursor is not valid; start from the first page."),
                          {"cursor": _("Not a cursor from this list.")})
    return moment, row_id


def _moment(micros: int) -> datetime | None:
    try:
        return _EPOCH + timedelta(microseconds=micros)
    except OverflowError:
        return None


@dataclass
class ChatRow:
    chat: Chat
    has_deal: bool


def chat_row(chat: Chat) -> ChatRow:
    """One chat as the list shows it (whether its contact has an open deal: one statement)."""
    has_deal = db.session.scalar(select(open_deal_exists()).where(Chat.id == chat.id))
    return ChatRow(chat, bool(has_deal))


def list_chats(viewer: Viewer, flt: InboxFilter, cursor: str | None = None,
               limit: int = CHAT_PAGE) -> tuple[list[ChatRow], str | None]:
    """A page of the chat list and the cursor of the next page (None at the end): one statement."""
    stmt = chats_query(viewer, flt)
    after = decode_cursor(cursor)
    if after is not None:
        moment, chat_id = after
        stmt = stmt.where(or_(Chat.last_message_at < moment,
                              and_(Chat.last_message_at == moment, Chat.id < chat_id)))
    rows = [ChatRow(chat, bool(has_deal)) for chat, has_deal in db.session.execute(stmt.limit(limit + 1))]
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].chat.last_message_at, rows[-1].chat.id) if more else None
    return rows, next_cursor


def unread_totals(viewer: Viewer) -> tuple[int, int]:
    """(chats with unread messages, unread messages) over the viewer's chats."""
    chats, messages = db.session.execute(select(
        func.count(Chat.id), func.coalesce(func.sum(Chat.unread_count), 0)
    ).where(chat_sight(viewer), Chat.unread_count > 0)).one()
    return int(chats), int(messages)


# -- a thread ----------------------------------------------------------------------------------

def thread(chat: Chat, before: str | None = None,
           limit: int = THREAD_PAGE) -> tuple[list[Message], str | None]:
    """A chat's messages, oldest first, ending just before ``before`` (the newest when None), and
    the cursor of the page before them (None when this is the beginning)."""
    stmt = select(Message).where(Message.chat_id == chat.id)
    cursor = decode_cursor(before)
    if cursor is not None:
        moment, message_id = cursor
        stmt = stmt.where(or_(Message.date < moment, and_(Message.date == moment, Message.id < message_id)))
    found = list(db.session.scalars(stmt.order_by(Message.date.desc(), Message.id.desc()).limit(limit + 1)))
    older = encode_cursor(found[limit - 1].date, found[limit - 1].id) if len(found) > limit else None
    return list(reversed(found[:limit])), older


def newer_messages(chat: Chat, after_id: int, limit: int = 200) -> list[Message]:
    """Messages written after message ``after_id`` (by id), oldest first: what a reconnecting
    page missed."""
    return list(db.session.scalars(select(Message).where(Message.chat_id == chat.id, Message.id > after_id)
                                   .order_by(Message.date, Message.id).limit(limit)))


# -- sending -----------------------------------------------------------------------------------

@dataclass
class Attachment:
    file_name: str
    mime_type: str
    data: bytes = field(repr=False)
    _sha256: str | None = field(default=None, repr=False, compare=False)

    @property
    def sha256(self) -> str:
        """The bytes' digest, computed once however many messages send them (a campaign's step)."""
        if self._sha256 is None:
            self._sha256 = blobs.digest(self.data)
        return self._sha256


def new_random_id() -> int:
    """Telegram's random_id: a random signed 64-bit integer (never 0)."""
    while True:
        value = int.from_bytes(secrets.token_bytes(8), "big", signed=True)
        if value:
            return value


def _check_sendable(chat: Chat) -> None:
    account = chat.account
    if account is not None and AccountStatus(account.status) in UNSENDABLE:
        raise DomainError(_("This chat's Telegram account is banned; messages cannot be sent from it.")
                          if account.status == AccountStatus.BANNED else
                          _("This chat's Telegram account is deactivated; messages cannot be sent from it."))


def _preview(text: str, attachment: Attachment | None) -> str:
    if text:
        return " ".join(text.split())[:200]
    return f"📎 {attachment.file_name}"[:200] if attachment else ""


def queue_message(actor: Membership, chat: Chat, text: str | None,
                  attachment: Attachment | None = None) -> Message:
    """Write an outbound message to the outbox (status queued, ``MessageQueued``) and, after
    commit, nudge the telegram process holding the account. Raises DomainError on the ``text`` or
    ``file`` field."""
    if not can_see_chat(actor, chat):
        raise NotFound(_("Chat not found."))
    _check_sendable(chat)
    body = (text or "").strip()
    if not body and attachment is None:
        raise DomainError(_("Write a message first."), {"text": _("The message is empty.")})
    limit = MAX_CAPTION if attachment is not None else MAX_TEXT
    if len(body) > limit:
        locale = get_locale() or "en"
        figures = {"limit": format_decimal(limit, locale=locale),
                   "length": format_decimal(len(body), locale=locale)}
        message = (_("A caption can be at most %(limit)s characters (this one has %(length)s).", **figures)
                   if attachment is not None else
                   _("A message can be at most %(limit)s characters (this one has %(length)s).", **figures))
        raise DomainError(message, {"text": message})
    media = None
    if attachment is not None:
        if not attachment.data:
            raise DomainError(_("That file is empty."), {"file": _("The file is empty.")})
        if len(attachment.data) > MAX_ATTACHMENT_BYTES:
            message = _("Files can be at most %(size)s MB.", size=MAX_ATTACHMENT_BYTES // (1024 * 1024))
            raise DomainError(message, {"file": message})
        kind = "photo" if attachment.mime_type in IMAGE_TYPES else "document"
        media = {"kind": kind, "mime_type": attachment.mime_type, "size": len(attachment.data),
                 "file_name": attachment.file_name[:255]}
    now = utcnow()
    message = Message(org_id=chat.org_id, chat_id=chat.id, account_id=chat.account_id, out=True,
                      text=body, date=now, status=MessageStatus.QUEUED.value, random_id=new_random_id(),
                      author_id=actor.user_id, media=media)
    db.session.add(message)
    db.session.flush()
    if attachment is not None:
        db.session.add(MessageFile(org_id=chat.org_id, message_id=message.id,
                                   blob=blobs.shared_blob(chat.org_id, attachment.data, attachment.sha256),
                                   mime_type=attachment.mime_type, file_name=attachment.file_name[:255]))
    chat.last_message_at = now
    chat.last_message_preview = _preview(body, attachment)
    chat.last_message_out = True
    db.session.flush()
    _send_after_commit(actor, message, retry=False)
    return message


def queue_outreach(*, org_id: int, account_id: int, origin: str, text: str, chat_id: int | None = None,
                   recipient: dict[str, Any] | None = None, author_id: int | None = None,
                   cancel_on_reply: bool = True, attachment: Attachment | None = None) -> Message:
    """Write an outbox message another domain composed (a campaign's step): into the account's
    chat ``chat_id`` with the person, or, with no chat yet, to ``recipient`` ({contact_id,
    username, phone}), whom the telegram process finds on Telegram when it sends. The caller
    checked the text and the account. ``origin`` names the caller, which hears how the message
    ends (``OutboxSettled``); with ``cancel_on_reply`` a message from the person before it goes
    withdraws it. The telegram process holding the account is nudged after the commit."""
    if chat_id is None and not recipient:
        raise ValueError("an outreach message needs a chat or a recipient")
    media = None
    if attachment is not None:
        kind = "photo" if attachment.mime_type in IMAGE_TYPES else "document"
        media = {"kind": kind, "mime_type": attachment.mime_type, "size": len(attachment.data),
                 "file_name": attachment.file_name[:255]}
    message = Message(org_id=org_id, chat_id=chat_id, account_id=account_id, out=True, text=text,
                      date=utcnow(), status=MessageStatus.QUEUED.value, random_id=new_random_id(),
                      author_id=author_id, media=media, origin=origin,
                      recipient=None if chat_id is not None else recipient,
                      cancel_on_reply=cancel_on_reply)
    db.session.add(message)
    db.session.flush()
    if attachment is not None:
        db.session.add(MessageFile(org_id=org_id, message_id=message.id,
                                   blob=blobs.shared_blob(org_id, attachment.data, attachment.sha256),
                                   mime_type=attachment.mime_type, file_name=attachment.file_name[:255]))
        db.session.flush()
    message_id = message.id
    after_commit(lambda: dispatch.send_soon(account_id, message_id))
    if chat_id is not None:
        emit(MessageQueued(org_id=org_id, actor_id=author_id, message_id=message_id, chat_id=chat_id,
                           account_id=account_id))
    return message


def retry_message(actor: Membership, message: Message) -> Message:
    """Queue a failed outbound message again: the same row and the same ``random_id``."""
    chat = db.session.get(Chat, message.chat_id)
    if chat is None or not can_see_chat(actor, chat):
        raise NotFound(_("Message not found."))
    if not message.out or message.status != MessageStatus.FAILED:
        raise DomainError(_("Only a message that failed can be sent again."))
    _check_sendable(chat)
    message.status = MessageStatus.QUEUED.value
    message.error = None
    message.send_after = None
    db.session.flush()
    _send_after_commit(actor, message, retry=True)
    return message


def _send_after_commit(actor: Membership, message: Message, *, retry: bool) -> None:
    account_id, message_id = message.account_id, message.id
    after_commit(lambda: dispatch.send_soon(account_id, message_id))
    emit(MessageQueued(org_id=message.org_id, actor_id=actor.user_id, message_id=message_id,
                       chat_id=message.chat_id, account_id=account_id, retry=retry))


# -- read marks --------------------------------------------------------------------------------

def _newest_inbound_id(chat_id: int) -> int:
    return db.session.scalar(select(func.coalesce(func.max(Message.telegram_id), 0)).where(
        Message.chat_id == chat_id, Message.out.is_(False))) or 0


def mark_read(actor: Viewer, chat: Chat) -> bool:
    """Read everything they wrote: here at once, on Telegram soon (``dispatch.read_soon``).
    Returns whether anything changed (nothing is sent for a chat already read)."""
    if not can_see_chat(actor, chat):
        raise NotFound(_("Chat not found."))
    newest = _newest_inbound_id(chat.id)
    if chat.unread_count == 0 and chat.read_inbox_max_id >= newest:
        return False
    chat.unread_count = 0
    chat.read_inbox_max_id = max(chat.read_inbox_max_id or 0, newest)
    db.session.flush()
    _read_after_commit(actor, chat)
    return True


def mark_read_up_to(actor: Viewer, message: Message) -> Chat:
    """Read their messages up to and including ``message`` (an inbound one Telegram knows)."""
    chat = db.session.get(Chat, message.chat_id)
    if chat is None or not can_see_chat(actor, chat):
        raise NotFound(_("Message not found."))
    if message.out or message.telegram_id is None:
        raise DomainError(_("Only a received message can be marked read."))
    if message.telegram_id > (chat.read_inbox_max_id or 0):
        chat.read_inbox_max_id = message.telegram_id
        chat.unread_count = store.unread_after(chat.id, chat.read_inbox_max_id)
        db.session.flush()
        _read_after_commit(actor, chat)
    return chat


def mark_all_read(actor: Viewer) -> int:
    """Read every visible chat with unread messages (``MessagesRead`` for each); returns how many
    chats that was."""
    newest = select(func.max(Message.telegram_id)).where(
        Message.chat_id == Chat.id, Message.out.is_(False)).scalar_subquery()
    unread = db.session.execute(
        select(Chat.id, Chat.account_id, func.coalesce(newest, Chat.read_inbox_max_id, 0))
        .where(chat_sight(actor), Chat.unread_count > 0)).all()
    accounts = {chat_id: account_id for chat_id, account_id, _ in unread}
    ids = list(accounts)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(update(Chat).where(Chat.id.in_(chunk)).values(
            unread_count=0, read_inbox_max_id=func.coalesce(newest, Chat.read_inbox_max_id))
            .execution_options(synchronize_session=False))
    db.session.expire_all()
    if ids:
        org_id = actor.org_id
        nudged = list(accounts.items())[:5000]

        def nudge() -> None:
            for chat_id, account_id in nudged:
                dispatch.read_soon(account_id, chat_id)

        after_commit(nudge)
        for chat_id, account_id, up_to in unread:
            emit(MessagesRead(org_id=org_id, actor_id=actor.user_id, chat_id=chat_id,
                              account_id=account_id, up_to=up_to, unread_count=0))
    return len(ids)


def _read_after_commit(actor: Viewer, chat: Chat) -> None:
    account_id, chat_id = chat.account_id, chat.id
    after_commit(lambda: dispatch.read_soon(account_id, chat_id))
    emit(MessagesRead(org_id=chat.org_id, actor_id=actor.user_id, chat_id=chat_id,
                      account_id=account_id, up_to=chat.read_inbox_max_id or 0,
                      unread_count=chat.unread_count or 0))


# -- assignment --------------------------------------------------------------------------------

def assign(actor: Membership, chat: Chat, user_id: int | None) -> Chat:
    """Assign the chat to a member (None: nobody). Raises Forbidden, or DomainError for someone
    outside the organization."""
    require(actor, Permission.CHATS_ASSIGN)
    if not can_see_chat(actor, chat):
        raise NotFound(_("Chat not found."))
    if user_id is not None:
        member = db.session.scalar(select(Membership.user_id).where(
            Membership.org_id == actor.org_id, Membership.user_id == user_id))
        if member is None:
            raise DomainError(_("Assign the chat to a member of this organization."),
                              {"assignee_id": _("Not a member of this organization.")})
    if chat.assignee_id != user_id:
        previous, chat.assignee_id = chat.assignee_id, user_id
        db.session.flush()
        emit(ChatAssigned(org_id=chat.org_id, actor_id=actor.user_id, chat_id=chat.id,
                          account_id=chat.account_id, from_user_id=previous, to_user_id=user_id))
    return chat


def check_assign_chats(actor: Membership, chat_ids: list[int] | tuple[int, ...]) -> list[int]:
    """``chat_ids`` once each, if ``actor`` may assign every one of them: CHATS_ASSIGN, and each a
    chat they may see. Raises Forbidden, or NotFound naming the others (field ``chat_ids``)."""
    require(actor, Permission.CHATS_ASSIGN)
    wanted = list(dict.fromkeys(int(i) for i in chat_ids))
    seen: set[int] = set()
    for start in range(0, len(wanted), 500):
        seen.update(db.session.scalars(select(Chat.id).where(chat_sight(actor),
                                                             Chat.id.in_(wanted[start:start + 500]))))
    missing = [i for i in wanted if i not in seen]
    if missing:
        named = ", ".join(str(i) for i in missing[:20]) + ("…" if len(missing) > 20 else "")
        message = _("No such chat in your organization: %(ids)s.", ids=named)
        raise NotFound(message, {"chat_ids": message})
    return wanted


def assign_chats(actor: Membership, chat_ids: list[int] | tuple[int, ...], user_id: int | None) -> int:
    """Assign chats ``chat_ids`` to member ``user_id`` (None: nobody), all or none
    (``check_assign_chats`` first); returns how many changed hands, each with its ``ChatAssigned``.
    Raises Forbidden, NotFound, DomainError (not a member)."""
    wanted = check_assign_chats(actor, chat_ids)
    if user_id is not None and db.session.scalar(select(Membership.user_id).where(
            Membership.org_id == actor.org_id, Membership.user_id == user_id)) is None:
        raise DomainError(_("Assign the chats to a member of this organization."),
                          {"user_id": _("Not a member of this organization.")})
    changed: list[tuple[int, int, int | None]] = []
    for start in range(0, len(wanted), 500):
        rows = db.session.execute(select(Chat.id, Chat.account_id, Chat.assignee_id).where(
            Chat.org_id == actor.org_id, Chat.id.in_(wanted[start:start + 500]),
            Chat.assignee_id.is_distinct_from(user_id)))
        changed += [(chat_id, account_id, was) for chat_id, account_id, was in rows]
    ids = [chat_id for chat_id, _account, _was in changed]
    for start in range(0, len(ids), 500):
        db.session.execute(update(Chat).where(Chat.id.in_(ids[start:start + 500])).values(assignee_id=user_id)
                           .execution_options(synchronize_session=False))
    db.session.expire_all()
    for chat_id, account_id, was in changed:
        emit(ChatAssigned(org_id=actor.org_id, actor_id=actor.user_id, chat_id=chat_id,
                          account_id=account_id, from_user_id=was, to_user_id=user_id))
    return len(changed)


# -- the CRM side ------------------------------------------------------------------------------

def contact_for_chat(actor: Membership, chat: Chat) -> Contact:
    """The chat's contact: the linked one, an existing one with the same Telegram id or username,
    or a new one made from the chat's name, username, phone and Telegram id. Links every chat of
    the organization with that person."""
    from app.blueprints.crm import public as crm

    if chat.contact_id is not None:
        contact = db.session.get(Contact, chat.contact_id)
        if contact is not None and contact.deleted_at is None:
            return contact
    matches = [Contact.telegram_user_id == chat.peer_id]
    if chat.username:
        matches.append(Contact.telegram_username == chat.username.lower())
    contact = db.session.scalar(select(Contact).where(
        Contact.org_id == chat.org_id, Contact.deleted_at.is_(None), or_(*matches),
    ).order_by(Contact.id).limit(1))
    if contact is None:
        first, _, last = (chat.title or "").strip().partition(" ")
        raw: dict[str, Any] = {"first_name": first or (chat.username or f"Telegram {chat.peer_id}"),
                               "last_name": last, "telegram_user_id": str(chat.peer_id),
                               "telegram_username": chat.username or "", "source": "Telegram"}
        phone = store.e164(chat.phone)  # an odd number does not stop the contact
        if phone:
            raw["phone"] = phone
        contact = crm.create_record(actor, "contact", raw)
    db.session.execute(update(Chat).where(
        Chat.org_id == chat.org_id, Chat.peer_id == chat.peer_id, Chat.contact_id.is_(None)
    ).values(contact_id=contact.id).execution_options(synchronize_session=False))
    chat.contact_id = contact.id
    db.session.flush()
    emit(ChatUpdated(org_id=chat.org_id, actor_id=actor.user_id, chat_id=chat.id,
                     account_id=chat.account_id, change="contact"))
    return contact


def create_deal_from_chat(actor: Membership, chat: Chat, title: str | None,
                          stage_id: int | None = None, value: str | None = None) -> Deal:
    """A deal for the chat's contact (made first when the chat has none), in ``stage_id`` (the
    default pipeline's first stage when None). Raises DomainError with field messages."""
    from app.blueprints.crm import public as crm

    if not can_see_chat(actor, chat):
        raise NotFound(_("Chat not found."))
    contact = contact_for_chat(actor, chat)
    raw: dict[str, Any] = {"title": (title or "").strip() or f"{contact.name} (Telegram)",
                           "contact": contact.id}
    if contact.company_id:
        raw["company"] = contact.company_id
    if stage_id:
        raw["stage"] = stage_id
    if value not in (None, ""):
        raw["value"] = value
    deal = crm.create_record(actor, "deal", raw)
    emit(ChatUpdated(org_id=chat.org_id, actor_id=actor.user_id, chat_id=chat.id,
                     account_id=chat.account_id, change="deal"))
    return deal


def carry_chats(event: ContactsMerged) -> None:
    """The merged contacts' chats now belong to the survivor (inside the merge's transaction)."""
    db.session.execute(update(Chat).where(
        Chat.org_id == event.org_id, Chat.contact_id.in_(event.merged_ids),
    ).values(contact_id=event.contact_id).execution_options(synchronize_session=False))


subscribe(ContactsMerged, carry_chats, in_transaction=True)


def contact_chats(viewer: Viewer, contact_id: int, limit: int = 20) -> list[Chat]:
    """The contact's chats ``viewer`` may see, the latest conversation first."""
    return list(db.session.scalars(select(Chat).where(chat_sight(viewer), Chat.contact_id == contact_id)
                                   .order_by(Chat.last_message_at.desc().nulls_last(), Chat.id.desc())
                                   .limit(limit)))


# -- starting a conversation from a record ---------------------------------------------------

CONNECTED = {AccountStatus.ONLINE, AccountStatus.LIMITED}  # held by a telegram process right now


def reachable(contact: Contact) -> bool:
    """Whether Telegram can be asked for this contact: they have a username or a phone number."""
    return bool(contact.telegram_username or contact.phone)


def startable_accounts(viewer: Viewer) -> list[BDAccount]:
    """The accounts ``viewer`` may start a conversation from: theirs to see (an agent's own) and
    connected now, oldest first."""
    return [a for a in visible_accounts(viewer) if AccountStatus(a.status) in CONNECTED]


def new_chats_per_day(account: BDAccount) -> int:
    """The account's daily budget of first messages (the telegram process's outbox holds the rest)."""
    return effective(account.config)["new_chats_per_day"]


def _contact_in_org(viewer: Viewer, contact_id: int | None) -> Contact:
    contact = None if contact_id is None else db.session.scalar(select(Contact).where(
        Contact.org_id == viewer.org_id, Contact.id == contact_id, Contact.deleted_at.is_(None),
    ).options(lazyload(Contact.tags)))
    if contact is None:
        raise NotFound(_("Contact not found."))
    return contact


def _account_to_start_from(viewer: Viewer, account_id: int | None) -> BDAccount:
    """The account, if ``viewer`` may send from it (an agent: only their accounts) and it can send
    now. Raises NotFound (foreign and hidden alike), then DomainError / TelegramRefused."""
    account = None if account_id is None else db.session.scalar(select(BDAccount).where(
        BDAccount.org_id == viewer.org_id, BDAccount.id == account_id))
    if account is None or not (sees_every_account(viewer) or is_agent_of(viewer, account.id)):
        raise NotFound(_("Telegram account not found."))
    status = AccountStatus(account.status)
    if status in UNSENDABLE:
        if status == AccountStatus.BANNED:
            raise DomainError(_("This Telegram account is banned; messages cannot be sent from it."),
                              {"account_id": _("The account is banned.")})
        raise DomainError(_("This Telegram account is deactivated; messages cannot be sent from it."),
                          {"account_id": _("The account is deactivated.")})
    if status not in CONNECTED:
        raise TelegramRefused("account_offline", _("This account is not connected right now. Try again "
                                                   "when it is online, or choose another account."))
    return account


def start_chat(actor: Viewer, contact_id: int | None, account_id: int | None, ask: Ask) -> Chat:
    """The conversation of ``account_id`` with the contact, for the composer: the chat that
    account already has with them, or one the telegram process opens (``chat.open``: it finds
    them on Telegram by username, else by phone number, and stores the chat linked to the
    contact). Nothing is sent: the first message the member writes goes through the outbox, which
    counts it against the account's budget of new chats and holds it when that is spent.

    Raises NotFound (another organization's or a deleted contact, an account the actor may not
    send from), DomainError (no username or phone; a banned account), TelegramRefused (the
    process's refusal: not on Telegram, account offline, flood wait, no process answering)."""
    contact = _contact_in_org(actor, contact_id)
    account = _account_to_start_from(actor, account_id)
    if not reachable(contact):
        message = _("Add the contact's Telegram username or phone number first.")
        raise DomainError(message, {"contact_id": message})
    existing = db.session.scalar(select(Chat).where(
        Chat.org_id == actor.org_id, Chat.account_id == account.id, Chat.contact_id == contact.id,
    ).order_by(Chat.last_message_at.desc().nulls_last(), Chat.id.desc()).limit(1))
    if existing is not None:
        return existing  # no look-up: Telegram limits them
    org_id, user_id, contact_key, account_key = actor.org_id, actor.user_id, contact.id, account.id
    lookups = ([{"username": contact.telegram_username}] if contact.telegram_username else []) + (
        [{"phone": contact.phone}] if contact.phone else [])
    for n, lookup in enumerate(lookups):
        try:
            answer = ask("chat.open", account_id=account_key, contact_id=contact_key, **lookup)
            break
        except ControlError as err:
            if err.code == "not_found" and n + 1 < len(lookups):
                continue  # the username is gone; the number may still find them
            raise TelegramRefused(err.code, err.message) from None
    db.session.rollback()  # end this request's snapshot: the process has just stored the chat
    chat = db.session.scalar(select(Chat).where(Chat.org_id == org_id, Chat.id == answer["chat_id"]))
    if chat is None:
        raise TelegramRefused("telegram_error", _("Telegram did not open the conversation. Try again."))
    if chat.contact_id is None:  # a chat that was there before, with nobody's contact
        chat.contact_id = contact_key
        db.session.flush()
        emit(ChatUpdated(org_id=org_id, actor_id=user_id, chat_id=chat.id, account_id=account_key,
                         change="contact"))
    return chat


@dataclass(frozen=True)
class TimelineMessage:
    """A message on its contact's timeline, shaped like an Activity where the template reads one."""

    message: Message
    chat: Chat
    actor: Any  # the member who wrote it from the app; None for theirs and for ours sent elsewhere
    kind: str = "message"

    @property
    def id(self) -> str:
        return f"message-{self.message.id}"

    @property
    def created_at(self) -> datetime:
        return self.message.date


def contact_messages(chats: list[Chat], limit: int = 30) -> list[TimelineMessage]:
    """The newest ``limit`` messages of ``chats`` (a contact's, as ``contact_chats`` gave them to
    the viewer), newest first, in one statement."""
    if not chats:
        return []
    by_id = {c.id: c for c in chats}
    rows = db.session.execute(
        select(Message, User).outerjoin(User, User.id == Message.author_id)
        .where(Message.org_id == chats[0].org_id, Message.chat_id.in_(list(by_id)),
               Message.deleted_at.is_(None))
        .order_by(Message.date.desc(), Message.id.desc()).limit(limit))
    return [TimelineMessage(message, by_id[message.chat_id], author) for message, author in rows]


def panel_contact(chat: Chat) -> Contact | None:
    """The chat's live contact with its company (tags are not read: the panel does not show them)."""
    if chat.contact_id is None:
        return None
    return db.session.scalar(select(Contact).where(
        Contact.id == chat.contact_id, Contact.org_id == chat.org_id, Contact.deleted_at.is_(None),
    ).options(lazyload(Contact.tags)))


def open_deals(org_id: int, contact_id: int | None) -> list[Deal]:
    """The contact's open deals with their stages, newest first (one statement)."""
    if contact_id is None:
        return []
    return list(db.session.scalars(select(Deal).where(
        Deal.org_id == org_id, Deal.contact_id == contact_id, Deal.deleted_at.is_(None),
        Deal.status == DealStatus.OPEN.value)
        .options(lazyload(Deal.tags), lazyload(Deal.contact), lazyload(Deal.company), lazyload(Deal.owner))
        .order_by(Deal.created_at.desc()).limit(20)))


def deal_stages(org_id: int) -> list[Pipeline]:
    """Pipelines with their stages for the create-deal form: read only (no default is made here)."""
    return list(db.session.scalars(select(Pipeline).where(Pipeline.org_id == org_id)
                                   .options(joinedload(Pipeline.stages))
                                   .order_by(Pipeline.position, Pipeline.id)).unique())


# -- figures -----------------------------------------------------------------------------------

def stats(viewer: Viewer, now: datetime | None = None) -> dict[str, Any]:
    """Chats, unread, messages in and out today (UTC) and over 7 days, overall and per account."""
    now = now or utcnow()
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    week = now - timedelta(days=7)
    per_account: dict[int, dict[str, int]] = {}

    def bucket(account_id: int) -> dict[str, int]:
        return per_account.setdefault(account_id, {
            "chats": 0, "unread_chats": 0, "unread_messages": 0, "in_today": 0, "out_today": 0,
            "in_7d": 0, "out_7d": 0})

    for account_id, chats, unread_chats, unread in db.session.execute(select(
            Chat.account_id, func.count(Chat.id), func.sum(case((Chat.unread_count > 0, 1), else_=0)),
            func.coalesce(func.sum(Chat.unread_count), 0),
    ).where(chat_sight(viewer)).group_by(Chat.account_id)):
        b = bucket(account_id)
        b.update(chats=int(chats), unread_chats=int(unread_chats or 0), unread_messages=int(unread or 0))
    visible = select(Chat.id).where(chat_sight(viewer))
    for account_id, out, week_count, today_count in db.session.execute(select(
            Message.account_id, Message.out, func.count(Message.id),
            func.sum(case((Message.date >= today, 1), else_=0))).where(
            Message.org_id == viewer.org_id, Message.chat_id.in_(visible), Message.date >= week,
            Message.status != MessageStatus.FAILED.value).group_by(Message.account_id, Message.out)):
        b = bucket(account_id)
        direction = "out" if out else "in"
        b[f"{direction}_7d"] += int(week_count)
        b[f"{direction}_today"] += int(today_count or 0)
    names = {a: (None if p.startswith("qr:") else p) for a, p in db.session.execute(
        select(BDAccount.id, BDAccount.phone).where(BDAccount.id.in_(list(per_account) or [0])))}
    totals = {key: sum(b[key] for b in per_account.values()) for key in (
        "chats", "unread_chats", "unread_messages", "in_today", "out_today", "in_7d", "out_7d")}
    return {**totals, "accounts": [{"account_id": a, "phone": names.get(a), **b}
                                   for a, b in sorted(per_account.items())]}
