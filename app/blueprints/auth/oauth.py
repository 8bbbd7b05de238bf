"""Sign-in identities at other providers (Google, GitHub, Telegram) and the accounts they sign in.

The rules: an identity already linked signs its user in. Otherwise a provider that vouches for
the email address (OIDC ``email_verified``; GitHub's primary, verified address) links the identity
to the user with that address, or makes a new account with its first organization when nobody has
it; an address the provider does not vouch for never links to, nor creates, an account. Telegram
gives no address: a Telegram identity signs in only a user who linked it while signed in.

Linking by address to an account whose address was never verified first takes the password away
and ends its sessions: whoever set that password did not prove the address was theirs (a
squatter's sign-up must not survive the owner's arrival); the owner sets a new one by the reset.

Flask-free: callers pass the identity the provider vouched for and the request's facts, and commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, select

from app import audit
from app.blueprints.auth import browser_sessions
from app.blueprints.auth.models import OAuthIdentity, User
from app.blueprints.auth.service import NAME_MAX, default_membership, find_user, first_team_name
from app.blueprints.team.public import create_organization
from app.db_types import utcnow
from app.errors import Conflict, DomainError, NotFound, Unauthorized
from app.extensions import db
from app.i18n import LANGUAGES

PROVIDERS = ("google", "github", "telegram")
PROVIDER_NAMES = {"google": "Google", "github": "GitHub", "telegram": "Telegram"}  # brands: never translated
NO_PASSWORD = "!"  # noqa: S105 - a password hash no password matches (Argon2 refuses it): a sign-in only elsewhere


@dataclass(frozen=True)
class ProviderIdentity:
    """What a provider said about the person, once its answer was checked."""

    provider: str
    subject: str  # the provider's own id for the person
    email: str | None = None
    email_verified: bool = False
    name: str | None = None
    display: str | None = None  # how the profile page names it: the address, or @username


def sign_in_with(identity: ProviderIdentity, *, ip: str | None = None, language: str | None = None) -> User:
    """The user ``identity`` signs in (linked now, or made, by the rules above).

    Raises Unauthorized when the identity may sign nobody in: a Telegram identity nobody linked, or
    an address the provider does not vouch for. Refusals are audited: the caller commits anyway.
    """
    row = _identity(identity.provider, identity.subject)
    if row is not None:
        user = db.session.get(User, row.user_id)
        _refresh(row, identity)
    elif identity.provider == "telegram":
        raise Unauthorized(_("No account is linked to this Telegram account. Sign in another way, then "
                             "link Telegram on your profile page."))
    elif not identity.email or not identity.email_verified:
        raise Unauthorized(_("%(provider)s has not confirmed that this email address is yours, so it "
                             "cannot sign you in. Confirm the address there, or sign in another way.",
                             provider=PROVIDER_NAMES[identity.provider]))
    else:
        user = find_user(identity.email)
        if user is None:
            user = _new_account(identity, ip=ip, language=language)
        else:
            if user.email_verified_at is None:
                _disown_unproven_password(user)
            _link_row(user, identity, ip=ip)
    user.last_sign_in_at = utcnow()
    home = default_membership(user)
    audit.record("auth.sign_in", org_id=home.org_id if home else None, actor_id=user.id, target=user, ip=ip,
                 method=identity.provider)
    db.session.flush()
    return user


def link(user: User, identity: ProviderIdentity, *, ip: str | None = None) -> OAuthIdentity:
    """Link ``identity`` to ``user`` (signed in, so they control both).

    Raises Conflict when it is linked to another user, or the user already has another identity
    at that provider.
    """
    row = _identity(identity.provider, identity.subject)
    provider = PROVIDER_NAMES[identity.provider]
    if row is not None and row.user_id != user.id:
        raise Conflict(_("This %(provider)s account is already linked to another user.", provider=provider))
    if row is not None:
        _refresh(row, identity)
        return row
    if _identity_of(user, identity.provider) is not None:
        raise Conflict(_("You have already linked a %(provider)s account. Unlink it first.",
                         provider=provider))
    return _link_row(user, identity, ip=ip)


def unlink(user: User, provider: str, *, ip: str | None = None) -> None:
    """Unlink ``user``'s identity at ``provider``. Raises NotFound when there is none, and
    DomainError when it is their last way to sign in."""
    row = _identity_of(user, provider)
    if row is None:
        raise NotFound(_("No %(provider)s account is linked.",
                         provider=PROVIDER_NAMES.get(provider, provider)))
    if not has_password(user) and len(identities(user)) <= 1:
        raise DomainError(_("This is your only way to sign in. Link another account, or set a password "
                            "(Forgot your password? on the sign-in page), first."))
    db.session.execute(delete(OAuthIdentity).where(OAuthIdentity.id == row.id))
    home = default_membership(user)
    audit.record("auth.identity_unlinked", org_id=home.org_id if home else None, actor_id=user.id,
                 target=user, ip=ip, provider=provider)
    db.session.flush()


def identities(user: User) -> list[OAuthIdentity]:
    """``user``'s linked identities, in the order of ``PROVIDERS``."""
    rows = db.session.scalars(select(OAuthIdentity).where(OAuthIdentity.user_id == user.id))
    return sorted(rows, key=lambda r: PROVIDERS.index(r.provider) if r.provider in PROVIDERS else 99)


def has_password(user: User) -> bool:
    return not user.password_hash.startswith(NO_PASSWORD)


def _identity(provider: str, subject: str) -> OAuthIdentity | None:
    return db.session.scalar(select(OAuthIdentity).where(OAuthIdentity.provider == provider,
                                                         OAuthIdentity.subject == subject))


def _identity_of(user: User, provider: str) -> OAuthIdentity | None:
    return db.session.scalar(select(OAuthIdentity).where(OAuthIdentity.user_id == user.id,
                                                         OAuthIdentity.provider == provider))


def _refresh(row: OAuthIdentity, identity: ProviderIdentity) -> None:
    row.last_used_at = utcnow()
    row.email = identity.email or row.email
    row.display_name = (identity.display or row.display_name or "")[:255] or None


def _link_row(user: User, identity: ProviderIdentity, *, ip: str | None) -> OAuthIdentity:
    row = OAuthIdentity(user_id=user.id, provider=identity.provider, subject=identity.subject[:255],
                        email=identity.email, display_name=(identity.display or "")[:255] or None,
                        last_used_at=utcnow())
    db.session.add(row)
    if (identity.email_verified and identity.email and user.email_verified_at is None
            and identity.email == user.email.lower()):
        user.email_verified_at = utcnow()  # the provider vouched for this very address
    home = default_membership(user)
    audit.record("auth.identity_linked", org_id=home.org_id if home else None, actor_id=user.id,
                 target=user, ip=ip, provider=identity.provider)
    db.session.flush()
    return row


def _disown_unproven_password(user: User) -> None:
    user.password_hash = f"{NO_PASSWORD}{secrets.token_hex(16)}"
    browser_sessions.end_every_session(user)


def _new_account(identity: ProviderIdentity, *, ip: str | None, language: str | None) -> User:
    """A user for ``identity``'s verified address with no password, and their first organization."""
    name = (identity.name or "").strip()[:NAME_MAX] or identity.email.split("@")[0][:NAME_MAX]
    user = User(email=identity.email, name=name, password_hash=f"{NO_PASSWORD}{secrets.token_hex(16)}",
                language=language if language in LANGUAGES else None, email_verified_at=utcnow())
    db.session.add(user)
    db.session.flush()
    membership = create_organization(owner=user, name=first_team_name(name), ip=ip)
    audit.record("auth.sign_up", org_id=membership.org_id, actor_id=user.id, target=user, ip=ip,
                 method=identity.provider)
    _link_row(user, identity, ip=ip)
    return user
