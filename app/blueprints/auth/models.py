from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flask_babel import gettext as _
from flask_login import UserMixin
from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db_types import UTCDateTime, utcnow
from app.extensions import db

if TYPE_CHECKING:
    from app.blueprints.team.public import Membership


class User(UserMixin, db.Model):
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    # Bumped on sign-out-everywhere and password change: old session cookies stop loading.
    session_epoch: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The interface language the person chose ("ru", "en": ``app.i18n.LANGUAGES``), or the one they
    # signed up in; it wins over the switcher's cookie and the browser's on every device. None:
    # never chosen (the cookie, else Accept-Language, decides).
    language: Mapped[str | None] = mapped_column(String(8))
    # When the person proved the address is theirs (the link mailed at sign-up, or a provider that
    # vouches for it); None: unverified (inviting, connecting Telegram and exports wait for it).
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The IANA zone the person reads times in (None: the browser's, as app.js finds it).
    timezone: Mapped[str | None] = mapped_column(String(64))

    memberships: Mapped[list[Membership]] = relationship(back_populates="user",
                                                         cascade="all, delete-orphan")

    # The browser session this instance was loaded or signed in for (not a column): Flask-Login
    # stores get_id() in the session cookie and the remember cookie, so both name that session.
    session_key = None  # str | None: set by sign-in and by the cookie loader

    def get_id(self) -> str:
        return f"{self.id}:{self.session_epoch}:{self.session_key or ''}"

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def initials(self) -> str:
        parts = [p for p in self.name.split() if p]
        return "".join(p[0] for p in parts[:2]).upper() or self.email[:1].upper()


class RefreshToken(db.Model):
    """One issued refresh token. Tokens rotate inside a family; reusing a spent one revokes it all."""

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[str] = mapped_column(String(64), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organization.id", ondelete="CASCADE"))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The device of the sign-in that started the family, copied onto each token of it.
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))


class UserSession(db.Model):
    """One signed-in browser. Its cookies carry ``key``; only the key's hash is stored.

    A session ends at sign-out (``ended_at``); the cookies of an ended session, captured or not,
    never load again. When it was last used is kept in Redis (``browser_sessions``).
    """

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(255))

    @property
    def device(self) -> str:
        """"Firefox on Windows": enough to recognise a browser in the list of sessions."""
        return device_name(self.user_agent)


def device_name(user_agent: str | None) -> str:
    """"Firefox on Windows" for a browser's User-Agent; "A browser" when it says nothing we know."""
    agent = user_agent or ""
    browser = next((name for token, name in _BROWSERS if token in agent), None)
    system = next((name for token, name in _SYSTEMS if token in agent), None)
    if browser is None:
        return _("A browser on %(system)s", system=system) if system else _("A browser")
    return _("%(browser)s on %(system)s", browser=browser, system=system) if system else browser


# Order matters: Edge and Opera say "Chrome", Chrome says "Safari", Android says "Linux".
_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Safari/", "Safari"))
_SYSTEMS = (("Windows", "Windows"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Android", "Android"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


class TotpFactor(db.Model):
    """A user's authenticator app (TOTP, RFC 6238): at most one per user.

    Its secret is stored encrypted (``mfa``). Unconfirmed until the first code from the app is
    entered; only a confirmed factor is asked for at sign-in. ``last_step`` is the time step of the
    last code accepted: a code of that step or an earlier one is refused, so each code works once.
    """

    __tablename__ = "totp_factor"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    secret_encrypted: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_step: Mapped[int | None] = mapped_column(BigInteger)


class RecoveryCode(db.Model):
    """One of a user's single-use recovery codes; only a hash of the code is stored."""

    __tablename__ = "recovery_code"
    __table_args__ = (UniqueConstraint("user_id", "code_hash"),)  # also the index of a user's codes

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OAuthIdentity(db.Model):
    """A sign-in identity at another provider (Google, GitHub, Telegram) linked to a user.

    ``subject`` is the provider's own id for the person (never their email, which can change
    hands); one identity per provider and subject, one per provider and user.
    """

    __tablename__ = "oauth_identity"
    # (user_id, provider) is also the index of a user's identities.
    __table_args__ = (UniqueConstraint("provider", "subject"), UniqueConstraint("user_id", "provider"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    provider: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(255))
    # What the provider said when it was linked or last signed in: shown on the profile page.
    email: Mapped[str | None] = mapped_column(String(254))
    display_name: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
