"""Telegram BD accounts: a team's connected user accounts and their encrypted sessions."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime, utcnow
from app.extensions import db
from app.tenancy import OrgScoped


class AccountStatus(StrEnum):
    CONNECTING = "connecting"  # a login is under way
    ONLINE = "online"
    OFFLINE = "offline"  # signed in; no process holds it right now
    NEEDS_LOGIN = "needs_login"  # Telegram ended the session
    LIMITED = "limited"  # PeerFlood or a long FloodWait: sending paused until limited_until
    BANNED = "banned"
    DEACTIVATED = "deactivated"


# Agents see the chats of the accounts they are given here (and chats assigned to them);
# admins and managers see every account of the organization.
bd_account_agent = Table(
    "bd_account_agent",
    db.metadata,
    Column("account_id", ForeignKey("bd_account.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class BDAccount(OrgScoped, db.Model):
    __tablename__ = "bd_account"
    __table_args__ = (UniqueConstraint("org_id", "phone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    telegram_user_id: Mapped[int | None] = mapped_column(BigInteger)
    username: Mapped[str | None] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(200))  # Telegram's profile name, synced
    label: Mapped[str | None] = mapped_column(String(100))  # the team's own name for it (never synced)
    status: Mapped[str] = mapped_column(String(16), default=AccountStatus.CONNECTING.value)
    status_detail: Mapped[str | None] = mapped_column(String(300))
    limited_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sealed_session: Mapped[str | None] = mapped_column(Text)  # SessionVault ciphertext, never plain
    proxy: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # its password sealed like a session
    # Sending budgets and sync limits; keys absent fall back to DEFAULT_CONFIG (see accounts.config).
    config: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # last time it came online
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # first dialog import finished
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
