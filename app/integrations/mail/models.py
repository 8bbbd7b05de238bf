"""The record of every mail the app sends: to whom, which template, its state and its attempts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime, utcnow
from app.extensions import db


class MailStatus:
    QUEUED = "queued"  # committed, its job enqueued (or owed: the sweep finds it)
    SENDING = "sending"  # an attempt is under way, or died mid-way
    SENT = "sent"  # handed to the SMTP server, or kept in the development mailbox
    FAILED = "failed"  # every attempt failed; ``last_error`` says why

    ALL = (QUEUED, SENDING, SENT, FAILED)


class OutboundMail(db.Model):
    """One mail for one event. ``dedupe_key`` is unique: the event that asks twice gets one mail.

    Subject and bodies are rendered when the mail is asked for, in the recipient's language. Mail
    sent over SMTP has its bodies dropped once delivered (they hold sign-in links); the development
    mailbox keeps them, since showing them is its purpose.
    """

    __tablename__ = "outbound_mail"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organization.id", ondelete="SET NULL"),
                                               index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"), index=True)
    to_address: Mapped[str] = mapped_column(String(254), index=True)
    template: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    subject: Mapped[str] = mapped_column(String(255))
    text_body: Mapped[str | None] = mapped_column(Text)
    html_body: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str] = mapped_column(String(255))  # the Message-ID header every attempt reuses
    transport: Mapped[str | None] = mapped_column(String(16))  # "smtp" or "mailbox", once sent
    status: Mapped[str] = mapped_column(String(16), default=MailStatus.QUEUED, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    sending_since: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the last attempt's start
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
