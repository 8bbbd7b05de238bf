"""Proving an address and getting back in: sign-up that reveals nothing, email verification,
password reset. Flask-free: callers pass the secret, the language and the links' builder, and commit.

Nothing a stranger can ask here tells whether an address has an account: sign-up and "forgot my
password" answer the same, in the same time, whoever's address it is. The request only checks the
form, hashes the password (the cost is the same either way) and queues a job; the job creates the
account and mails its confirmation link, or tells the address's owner that someone tried.

Links carry tokens signed with the app's secret (itsdangerous): a reset token names the user and a
fingerprint of their password hash, so it stops working once used (the hash changes) or after an
hour; a verification token names the user and the address, valid three days, single use because
a verified address is not verified again.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from app import audit, realtime
from app.blueprints.auth import browser_sessions
from app.blueprints.auth.models import User
from app.blueprints.auth.passwords import hash_password
from app.blueprints.auth.service import (
    NAME_MAX,
    check_password_strength,
    default_membership,
    find_user,
    first_team_name,
    normalize_email,
)
from app.blueprints.team.public import adopt_country_guess, create_organization
from app.db_types import utcnow
from app.errors import DomainError
from app.extensions import db
from app.i18n import DEFAULT_LANGUAGE, LANGUAGES
from app.integrations.mail import register_template, send_mail

RESET_MAX_AGE = timedelta(hours=1)
VERIFY_MAX_AGE = timedelta(days=3)
_RESET_SALT = "auth.password-reset"
_VERIFY_SALT = "auth.verify-email"

VERIFY_MAIL = register_template("auth.verify_email", _l("Confirm your email address for Relay CRM"))
REGISTERED_MAIL = register_template("auth.already_registered",
                                    _l("Someone tried to sign up to Relay CRM with your address"))
RESET_MAIL = register_template("auth.password_reset", _l("Reset your Relay CRM password"))
RESET_UNKNOWN_MAIL = register_template("auth.password_reset_unknown",
                                       _l("A password reset was asked for this address"))
CHANGED_MAIL = register_template("auth.password_changed", _l("Your Relay CRM password was changed"))

# Builds an absolute link from an endpoint and its values (``mail.external_url`` in the app).
LinkBuilder = Callable[..., str]


# -- sign-up ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SignUpRequest:
    """A checked sign-up form, ready for the job: the password already hashed."""

    email: str
    name: str
    organization: str
    password_hash: str
    language: str | None
    country: str | None

    def as_job(self) -> dict[str, Any]:
        return dict(self.__dict__)


def check_sign_up(*, email: str, password: str, name: str, organization_name: str,
                  language: str | None, country: str | None) -> SignUpRequest:
    """The sign-up form checked and its password hashed, whether or not the address has an
    account (that is the job's to find out). Raises DomainError naming the field at fault."""
    email = normalize_email(email)
    check_password_strength(password, email)
    name = (name or "").strip()[:NAME_MAX]
    if not name:
        raise DomainError(_("Tell us your name."), {"name": _("Enter your name.")})
    return SignUpRequest(email=email, name=name, organization=(organization_name or "").strip(),
                         password_hash=hash_password(password),
                         language=language if language in LANGUAGES else None, country=country)


def complete_sign_up(request: SignUpRequest, *, secret: str, link: LinkBuilder,
                     ip: str | None = None) -> User | None:
    """Create the account and mail its confirmation link; or, when the address has an account,
    mail its owner instead (and create nothing). Returns the new user, or None."""
    existing = find_user(request.email)
    if existing is not None:
        send_mail(REGISTERED_MAIL, to=existing.email, language=existing.language or request.language,
                  dedupe_key=f"auth.already_registered:{existing.id}:{_nonce()}", user_id=existing.id,
                  context={"name": existing.name, "sign_in_url": link("auth.sign_in"),
                           "reset_url": link("auth.forgot_password")})
        return None
    user = User(email=request.email, name=request.name, password_hash=request.password_hash,
                language=request.language)
    db.session.add(user)
    db.session.flush()
    with force_locale(request.language or DEFAULT_LANGUAGE):  # a job: no request says the language
        team = request.organization or first_team_name(request.name)
    membership = create_organization(owner=user, name=team, ip=ip)
    adopt_country_guess(membership.organization, request.country)
    audit.record("auth.sign_up", org_id=membership.org_id, actor_id=user.id, target=user, ip=ip)
    send_verification(user, secret=secret, link=link)
    return user


def _nonce() -> str:
    """Each ask is an event of its own: its mail's key (asking twice sends two mails)."""
    return secrets.token_hex(8)


# -- email verification -------------------------------------------------------------------------

def verification_token(user: User, secret: str) -> str:
    return URLSafeTimedSerializer(secret, salt=_VERIFY_SALT).dumps([user.id, user.email])


def send_verification(user: User, *, secret: str, link: LinkBuilder) -> None:
    """Mail ``user`` a link that confirms their address (each ask is its own mail)."""
    send_mail(VERIFY_MAIL, to=user.email, language=user.language, user_id=user.id,
              dedupe_key=f"auth.verify_email:{user.id}:{_nonce()}",
              context={"name": user.name, "verify_url": link("auth.verify_email",
                                                             token=verification_token(user, secret)),
                       "days": VERIFY_MAX_AGE.days})


@dataclass(frozen=True)
class Verified:
    user: User
    first_time: bool  # False: the address was confirmed already (by this link or another)


def verify_email(token: str, *, secret: str, ip: str | None = None) -> Verified:
    """Mark the address the token names as the user's, proven. Raises DomainError for a link that
    is not ours, has expired, or names an address the user no longer has."""
    try:
        user_id, email = URLSafeTimedSerializer(secret, salt=_VERIFY_SALT).loads(
            token, max_age=int(VERIFY_MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise DomainError(_("This confirmation link has expired. Sign in and ask for a new one.")) from None
    except (BadSignature, ValueError, TypeError):
        raise DomainError(_("This confirmation link is not valid. Sign in and ask for a new one.")) from None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or user.email != email:
        raise DomainError(_("This confirmation link is not valid. Sign in and ask for a new one."))
    if user.email_verified_at is not None:
        return Verified(user, first_time=False)
    user.email_verified_at = utcnow()
    home = default_membership(user)
    audit.record("auth.email_verified", org_id=home.org_id if home else None, actor_id=user.id,
                 target=user, ip=ip)
    db.session.flush()
    return Verified(user, first_time=True)


# -- password reset -----------------------------------------------------------------------------

def _fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:20]


def reset_token(user: User, secret: str) -> str:
    return URLSafeTimedSerializer(secret, salt=_RESET_SALT).dumps([user.id, _fingerprint(user.password_hash)])


def request_password_reset(email: str, *, secret: str, link: LinkBuilder,
                           language: str | None = None) -> None:
    """The job behind "forgot my password": mail the account's owner a reset link, or tell an
    address with no account that a reset was asked for it (someone mistyped, or tried it)."""
    try:
        email = normalize_email(email)
    except DomainError:
        return
    user = find_user(email)
    if user is None:
        send_mail(RESET_UNKNOWN_MAIL, to=email, language=language,
                  dedupe_key=f"auth.password_reset_unknown:{email}:{_nonce()}",
                  context={"sign_up_url": link("auth.sign_up")})
        return
    send_mail(RESET_MAIL, to=user.email, language=user.language or language, user_id=user.id,
              dedupe_key=f"auth.password_reset:{user.id}:{_nonce()}",
              context={"name": user.name, "reset_url": link("auth.reset_password",
                                                            token=reset_token(user, secret)),
                       "minutes": int(RESET_MAX_AGE.total_seconds() // 60)})


def user_for_reset(token: str, secret: str) -> User:
    """The user a reset link is for, while it is fresh and unused. Raises DomainError."""
    try:
        user_id, fingerprint = URLSafeTimedSerializer(secret, salt=_RESET_SALT).loads(
            token, max_age=int(RESET_MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise DomainError(_("This reset link has expired: links work for one hour. "
                            "Ask for a new one.")) from None
    except (BadSignature, ValueError, TypeError):
        raise DomainError(_("This reset link is not valid. Ask for a new one.")) from None
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None or _fingerprint(user.password_hash) != fingerprint:
        raise DomainError(_("This reset link was already used. Ask for a new one if you need it."))
    return user


def reset_password(token: str, password: str, *, secret: str, link: LinkBuilder,
                   ip: str | None = None) -> User:
    """Set a new password through a reset link: the link is spent, and every browser session and
    API sign-in of the user ends (whoever knew the old password is out). Raises DomainError."""
    user = user_for_reset(token, secret)
    check_password_strength(password, user.email)
    user.password_hash = hash_password(password)
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()  # the link came to their inbox: the address is theirs
    browser_sessions.end_every_session(user)
    realtime.close_sockets(user_id=user.id, code=realtime.CLOSE_SIGNED_OUT)
    home = default_membership(user)
    audit.record("auth.password_reset", org_id=home.org_id if home else None, actor_id=user.id,
                 target=user, ip=ip)
    send_mail(CHANGED_MAIL, to=user.email, language=user.language, user_id=user.id,
              dedupe_key=f"auth.password_changed:{user.id}:{_nonce()}",
              context={"name": user.name, "reset_url": link("auth.forgot_password")})
    db.session.flush()
    return user
