from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.blueprints.team.permissions import Role
from app.db_types import UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.blueprints.auth.public import User


class Organization(db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # ISO 3166 alpha-2: the country contacts' phone numbers written without a country code are
    # read in ("8 916 111-22-33" in RU); None: numbers need their country code.
    default_country: Mapped[str | None] = mapped_column(String(2))
    # A new deal's currency; None: the default country's (RUB for RU), else USD.
    default_currency: Mapped[str | None] = mapped_column(String(3))
    # Members whose role can connect or read Telegram accounts must sign in with a second factor.
    require_mfa: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    memberships: Mapped[list[Membership]] = relationship(back_populates="organization",
                                                         cascade="all, delete-orphan")


class Membership(db.Model):
    """A user's seat in an organization, with the role every permission check reads."""

    __table_args__ = (UniqueConstraint("org_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16), default=Role.AGENT.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    organization: Mapped[Organization] = relationship(back_populates="memberships", lazy="joined")
    user: Mapped[User] = relationship(back_populates="memberships", lazy="joined")

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class Invitation(db.Model):
    """An invitation to join an organization with a role, by email.

    Its link carries a signed token naming the invitation and a random nonce; only the nonce's
    hash is stored, and a resend draws a new one (the old link stops working). Pending until
    accepted, revoked, or ``expires_at``; one pending invitation per address and organization.
    """

    __table_args__ = (
        Index("uq_invitation_pending", "org_id", "email", unique=True,
              sqlite_where=text("accepted_at IS NULL AND revoked_at IS NULL"),
              postgresql_where=text("accepted_at IS NULL AND revoked_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))  # stored lower-cased
    role: Mapped[str] = mapped_column(String(16))
    # The language the mail is written in: the inviter's, when they sent it.
    language: Mapped[str | None] = mapped_column(String(8))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    nonce_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_count: Mapped[int] = mapped_column(default=1)
    last_sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organization: Mapped[Organization] = relationship(lazy="joined")
    invited_by: Mapped[User | None] = relationship(foreign_keys=[invited_by_id], lazy="joined")

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    @property
    def pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None

    def expired(self, now: datetime) -> bool:
        return self.expires_at <= now
