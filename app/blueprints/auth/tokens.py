"""API tokens: short-lived JWT access tokens and rotating refresh tokens.

Each sign-in starts a token family. A refresh spends its token and issues the next one in the
family; presenting a spent (or revoked) token again means it leaked, so the whole family is revoked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt
from flask_babel import gettext as _
from sqlalchemy import select, update

from app import audit
from app.blueprints.auth.models import RefreshToken, User
from app.blueprints.team.public import Membership
from app.db_types import utcnow
from app.errors import Unauthorized
from app.extensions import db

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenSettings:
    secret: str
    access_minutes: int = 15
    refresh_days: int = 30


@dataclass
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int

    def as_dict(self) -> dict:
        return {"access_token": self.access_token, "refresh_token": self.refresh_token,
                "token_type": "Bearer", "expires_in": self.expires_in}


def issue_pair(settings: TokenSettings, membership: Membership, family: str | None = None) -> TokenPair:
    """A fresh access token and the next refresh token of ``family`` (a new family if None)."""
    now = utcnow()
    access_exp = now + timedelta(minutes=settings.access_minutes)
    access = jwt.encode(
        {"sub": str(membership.user_id), "org": membership.org_id, "typ": "access",
         "ep": membership.user.session_epoch,  # signing out everywhere ends it before it expires
         "iat": now, "exp": access_exp, "jti": secrets.token_hex(8)},
        settings.secret, algorithm=ALGORITHM,
    )
    jti = secrets.token_hex(16)
    family = family or secrets.token_hex(16)
    refresh_exp = now + timedelta(days=settings.refresh_days)
    db.session.add(RefreshToken(jti=jti, family=family, user_id=membership.user_id,
                                org_id=membership.org_id, issued_at=now, expires_at=refresh_exp))
    refresh = jwt.encode(
        {"sub": str(membership.user_id), "org": membership.org_id, "typ": "refresh",
         "fam": family, "jti": jti, "iat": now, "exp": refresh_exp},
        settings.secret, algorithm=ALGORITHM,
    )
    db.session.flush()
    return TokenPair(access, refresh, settings.access_minutes * 60)


def _decode(settings: TokenSettings, token: str, expected_type: str) -> dict:
    try:
        claims = jwt.decode(token or "", settings.secret, algorithms=[ALGORITHM],
                            options={"require": ["sub", "exp", "typ", "jti"]})
    except jwt.ExpiredSignatureError as err:
        raise Unauthorized(_("The token has expired.")) from err
    except jwt.InvalidTokenError as err:
        raise Unauthorized(_("The token is not valid.")) from err
    if claims.get("typ") != expected_type:
        raise Unauthorized(_("The token is not valid."))
    return claims


def authenticate_access(settings: TokenSettings, token: str) -> Membership:
    """The membership an access token acts through. Raises Unauthorized."""
    claims = _decode(settings, token, "access")
    row = db.session.execute(
        select(Membership, User.session_epoch).join(User, User.id == Membership.user_id)
        .where(Membership.user_id == int(claims["sub"]), Membership.org_id == claims.get("org"))
    ).first()
    if row is None:
        raise Unauthorized(_("The token's user no longer belongs to this organization."))
    membership, epoch = row
    if "ep" not in claims:  # issued before tokens carried the epoch
        raise Unauthorized(_("The token has expired."))
    if claims["ep"] != epoch:
        raise Unauthorized(_("You signed out everywhere since this token was issued. Sign in again."))
    return membership


def rotate(settings: TokenSettings, token: str, ip: str | None = None) -> TokenPair:
    """Spend ``token`` and return the family's next pair.

    Raises Unauthorized for an invalid or expired token, and for a reused one after revoking its
    whole family (the caller must commit so the revocation sticks).
    """
    claims = _decode(settings, token, "refresh")
    row = db.session.scalar(select(RefreshToken).where(RefreshToken.jti == claims["jti"]))
    if row is None:
        raise Unauthorized(_("The token is not valid."))
    if row.revoked_at is not None and row.spent_at is None:  # signed out, not leaked
        raise Unauthorized(_("This sign-in has ended. Sign in again."))
    # Spend atomically: of two concurrent refreshes with one token, exactly one wins.
    spent = db.session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.spent_at.is_(None),
               RefreshToken.revoked_at.is_(None))
        .values(spent_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if not spent:
        revoke_family(row.family)
        audit.record("auth.refresh_reused", org_id=row.org_id, actor_id=row.user_id, ip=ip,
                     family=row.family)
        raise Unauthorized(_("This refresh token was already used; every session of its sign-in "
                             "was signed out. Sign in again."))
    membership = db.session.scalar(
        select(Membership).where(Membership.user_id == row.user_id, Membership.org_id == row.org_id)
    )
    if membership is None:
        revoke_family(row.family)
        raise Unauthorized(_("The token's user no longer belongs to this organization."))
    return issue_pair(settings, membership, family=row.family)


def revoke_family(family: str) -> None:
    db.session.execute(
        update(RefreshToken).where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def revoke(settings: TokenSettings, token: str) -> User | None:
    """Sign out: revoke the family of a refresh token. Raises Unauthorized for an invalid token."""
    claims = _decode(settings, token, "refresh")
    row = db.session.scalar(select(RefreshToken).where(RefreshToken.jti == claims["jti"]))
    if row is None:
        raise Unauthorized(_("The token is not valid."))
    revoke_family(row.family)
    return db.session.get(User, row.user_id)
