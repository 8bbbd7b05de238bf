"""Chats and messages mirrored from Telegram, and the outbox (outbound messages are rows first).

A ``Chat`` is one account's private conversation with one Telegram user. A ``Message`` is
deduplicated by (chat, Telegram message id). An outbound message is written before it is sent,
with the ``random_id`` every attempt reuses, so Telegram itself drops a repeated send.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    JSON,
    BigInteger,
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
from app.i18n import in_words
from app.tenancy import OrgScoped

# What a message's media is called where a person reads it (lazy: in their language). The chat
# list's preview of a media-only message is stored in English ("[Photo]": ``store.MEDIA_LABELS``,
# written by the telegram process) and read through these (``Chat.shown_preview``).
MEDIA_LABELS = {"photo": _l("Photo"), "video": _l("Video"), "voice": _l("Voice message"),
                "audio": _l("Audio"), "sticker": _l("Sticker"), "document": _l("File")}
ATTACHMENT = _l("Attachment")
_STORED_MEDIA = {"Photo": MEDIA_LABELS["photo"], "Video": MEDIA_LABELS["video"],
                 "Voice message": MEDIA_LABELS["voice"], "Audio": MEDIA_LABELS["audio"],
                 "Sticker": MEDIA_LABELS["sticker"], "File": MEDIA_LABELS["document"],
                 "Attachment": ATTACHMENT}
_MEDIA_PREVIEW = re.compile(r"\[([A-Za-z ]+)\]")


class MessageStatus(StrEnum):
    RECEIVED = "received"  # inbound
    QUEUED = "queued"  # outbox: written, waiting for its turn (send_after, budgets, a flood)
    SENDING = "sending"  # outbox: handed to Telegram, no answer recorded yet
    SENT = "sent"  # Telegram confirmed (telegram_id set)
    FAILED = "failed"  # will not be sent; ``error`` says why
    CANCELLED = "cancelled"  # withdrawn before it went (they replied first, a campaign stopped)


class Chat(OrgScoped, db.Model):
    __tablename__ = "chat"
    __table_args__ = (
        UniqueConstraint("account_id", "peer_id"),
        Index("ix_chat_org_last", "org_id", "last_message_at", "id"),
        Index("ix_chat_org_assignee", "org_id", "assignee_id"),
    )
    org_id_index = False

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("bd_account.id", ondelete="CASCADE"))
    peer_id: Mapped[int] = mapped_column(BigInteger)  # the other side's Telegram user id
    peer_access_hash: Mapped[int | None] = mapped_column(BigInteger)  # as this account sees them
    title: Mapped[str] = mapped_column(String(200), default="")
    username: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"),
                                                   index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    unread_count: Mapped[int] = mapped_column(Integer, default=0)
    # Read marks as Telegram message ids: ours over their messages, theirs over ours.
    read_inbox_max_id: Mapped[int] = mapped_column(BigInteger, default=0)
    read_outbox_max_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_telegram_id: Mapped[int] = mapped_column(BigInteger, default=0)  # newest message we hold
    has_inbound: Mapped[bool] = mapped_column(default=False)  # they wrote at least once
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_message_preview: Mapped[str | None] = mapped_column(String(200))
    last_message_out: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account = relationship("BDAccount", lazy="joined")

    @property
    def shown_preview(self) -> str | None:
        """The last message's preview as the viewer reads it: a media-only one ("[Photo]") in
        their language, text as it is."""
        found = _MEDIA_PREVIEW.fullmatch(self.last_message_preview or "")
        label = _STORED_MEDIA.get(found.group(1)) if found else None
        return f"[{label}]" if label is not None else self.last_message_preview


class Message(OrgScoped, db.Model):
    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("chat_id", "telegram_id"),
        UniqueConstraint("account_id", "random_id"),
        Index("ix_message_chat_date", "chat_id", "date", "id"),
        Index("ix_message_outbox", "account_id", "status", "send_after"),
        # Deletions in private chats name only the account's message ids, not the chat.
        Index("ix_message_account_telegram", "account_id", "telegram_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None only for an outbox message to someone the account has no chat with yet (``recipient``):
    # the telegram process finds them on Telegram when it sends, and the message joins that chat.
    chat_id: Mapped[int | None] = mapped_column(ForeignKey("chat.id", ondelete="CASCADE"))
    account_id: Mapped[int] = mapped_column(ForeignKey("bd_account.id", ondelete="CASCADE"))
    telegram_id: Mapped[int | None] = mapped_column(BigInteger)  # None until Telegram confirms a send
    random_id: Mapped[int | None] = mapped_column(BigInteger)  # outbound: reused by every attempt
    out: Mapped[bool] = mapped_column(default=False)
    text: Mapped[str] = mapped_column(Text, default="")
    date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # deleted on Telegram
    status: Mapped[str] = mapped_column(String(10), default=MessageStatus.RECEIVED.value)
    error: Mapped[str | None] = mapped_column(String(300))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    # Media metadata: kind (photo/document/voice/video/sticker), mime_type, size, file_name,
    # width, height, duration. The bytes are fetched on demand into MessageFile.
    media: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    send_after: Mapped[datetime | None] = mapped_column(UTCDateTime)  # outbox: not before
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # Outbox messages another domain queued (``queue_outreach``): who, so it hears how they end
    # (``OutboxSettled``); the person to find when there is no chat yet ({contact_id, user_id,
    # username, phone}); and whether a message from the person since it was queued withdraws it.
    origin: Mapped[str | None] = mapped_column(String(20))
    recipient: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    cancel_on_reply: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def media_label(self) -> str:
        """What its media is, in the viewer's language ("Photo", "Voice message", "File")."""
        kind = (self.media or {}).get("kind")
        return str(MEDIA_LABELS.get(kind, ATTACHMENT))

    @property
    def error_text(self) -> str:
        """Why it failed, in the viewer's language. The telegram process writes the reason in no
        language (``app.i18n.said``) or in English (older rows, its plain reasons): either is said
        through the catalog (``app.i18n.in_words``)."""
        return in_words(self.error)


class StoredBlob(OrgScoped, db.Model):
    """The bytes of a file we send, stored once per organization and content (sha256): a campaign
    step's file sent to a thousand people is one row the thousand ``MessageFile`` rows name. A
    blob no file names any more is deleted by ``blobs.purge_unused_blobs``."""

    __tablename__ = "stored_blob"
    __table_args__ = (UniqueConstraint("org_id", "sha256"),)
    org_id_index = False  # the unique (org_id, sha256) leads with it

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageFile(OrgScoped, db.Model):
    """A message's file: an attachment waiting to be sent, or media fetched from Telegram on demand.

    Kept in the database so every process (web dynos, telegram processes) reads the same bytes. An
    attachment we send names its bytes in ``StoredBlob`` (shared by every message sending the same
    file); media fetched from Telegram, and attachments written before blobs existed, hold their
    own (``own_data``). ``data`` reads whichever the row has.
    """

    __tablename__ = "message_file"

    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"),
                                            primary_key=True)
    own_data: Mapped[bytes | None] = mapped_column("data", LargeBinary)
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("stored_blob.id"), index=True)
    mime_type: Mapped[str] = mapped_column(String(100), default="application/octet-stream")
    file_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    blob: Mapped[StoredBlob | None] = relationship()

    @property
    def data(self) -> bytes:
        return self.blob.data if self.blob is not None else (self.own_data or b"")

    @data.setter
    def data(self, value: bytes) -> None:
        self.own_data = value
