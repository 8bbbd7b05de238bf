"""API tokens: short-lived JWT access tokens and rotating refresh tokens.

Each sign-in starts a token family. A refresh spends its token and issues the next one in the
family; presenting a spent (or revoked) token again means it leaked, so the whole family is revoked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from flask_babel import gettext as _
from sqlalchemy import exists, literal, select, update

from app import audit
from app.blueprints.auth import mfa
from app.blueprints.auth.models import RefreshToken, User, device_name
from app.blueprints.team.public import Membership
from app.db_types import utcnow
from app.errors import NotFound, Unauthorized
from app.extensions import db, redis_store

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


def issue_pair(settings: TokenSettings, membership: Membership, family: str | None = None, *,
               ip: str | None = None, user_agent: str | None = None) -> TokenPair:
    """A fresh access token and the next refresh token of ``family`` (a new family if None: a
    sign-in, from the device ``ip`` and ``user_agent`` name, which its later tokens keep)."""
    now = utcnow()
    jti = secrets.token_hex(16)
    if family is not None:
        first = db.session.execute(select(RefreshToken.ip, RefreshToken.user_agent)
                                   .where(RefreshToken.family == family).order_by(RefreshToken.id)
                                   .limit(1)).first()
        ip, user_agent = first if first is not None else (ip, user_agent)
    family = family or secrets.token_hex(16)
    access_exp = now + timedelta(minutes=settings.access_minutes)
    access = jwt.encode(
        {"sub": str(membership.user_id), "org": membership.org_id, "typ": "access",
         "ep": membership.user.session_epoch,  # signing out everywhere ends it before it expires
         "fam": family,  # and so does ending its sign-in (its family revoked)
         "iat": now, "exp": access_exp, "jti": secrets.token_hex(8)},
        settings.secret, algorithm=ALGORITHM,
    )
    refresh_exp = now + timedelta(days=settings.refresh_days)
    db.session.add(RefreshToken(jti=jti, family=family, user_id=membership.user_id,
                                org_id=membership.org_id, issued_at=now, expires_at=refresh_exp,
                                ip=(ip or None) and ip[:64],
                                user_agent=(user_agent or None) and user_agent[:255]))
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
    family = claims.get("fam")
    open_family = (exists().where(RefreshToken.family == family, RefreshToken.revoked_at.is_(None))
                   if isinstance(family, str) else literal(True))
    row = db.session.execute(
        select(Membership, User.session_epoch, open_family.label("open"))
        .join(User, User.id == Membership.user_id)
        .where(Membership.user_id == int(claims["sub"]), Membership.org_id == claims.get("org"))
    ).first()
    if row is None:
        raise Unauthorized(_("The token's user no longer belongs to this organization."))
    membership, epoch, still_open = row
    if "ep" not in claims:  # issued before tokens carried the epoch
        raise Unauthorized(_("The token has expired."))
    if claims["ep"] != epoch:
        raise Unauthorized(_("You signed out everywhere since this token was issued. Sign in again."))
    if not still_open:
        raise Unauthorized(_("This sign-in has ended. Sign in again."))
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
    if mfa.needs_enrolment(membership.user, membership):  # required since this sign-in
        revoke_family(row.family)
        mfa.check_api_sign_in(membership.user, membership)
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


# -- the second step of an API sign-in: a short-lived ticket for POST /api/auth/mfa ---------------

TICKET_SECONDS = 5 * 60


@dataclass(frozen=True)
class Ticket:
    user: User
    org_id: int | None
    nonce: str
    expires_at: int


def issue_mfa_ticket(settings: TokenSettings, user: User, org_id: int | None) -> str:
    """A signed ticket naming ``user`` (whose password was right), the organization asked for and
    a random nonce; valid ``TICKET_SECONDS``, once (``spend_mfa_ticket``)."""
    now = utcnow()
    return jwt.encode({"sub": str(user.id), "org": org_id, "typ": "mfa", "ep": user.session_epoch,
                       "jti": secrets.token_hex(16), "iat": now,
                       "exp": now + timedelta(seconds=TICKET_SECONDS)}, settings.secret, algorithm=ALGORITHM)


def read_mfa_ticket(settings: TokenSettings, ticket: str) -> Ticket:
    """The sign-in a ticket continues. Raises Unauthorized for one that is not valid, has
    expired, was spent, or whose user signed out everywhere since."""
    try:
        claims = _decode(settings, ticket, "mfa")
    except Unauthorized:
        raise Unauthorized(_("The sign-in ticket is not valid or has expired. Sign in again.")) from None
    user = db.session.get(User, int(claims["sub"])) if str(claims["sub"]).isdigit() else None
    if user is None or claims.get("ep") != user.session_epoch or _ticket_spent(claims["jti"]):
        raise Unauthorized(_("The sign-in ticket is not valid or has expired. Sign in again."))
    org_id = claims.get("org")
    return Ticket(user, org_id if isinstance(org_id, int) else None, claims["jti"], int(claims["exp"]))


def spend_mfa_ticket(ticket: Ticket) -> None:
    """Mark the ticket used until it expires. Raises Unauthorized when it already was (two
    requests with one ticket: one wins)."""
    ttl = max(1, ticket.expires_at - int(utcnow().timestamp()))
    if not redis_store.client.set(_ticket_key(ticket.nonce), 1, nx=True, ex=ttl):
        raise Unauthorized(_("The sign-in ticket is not valid or has expired. Sign in again."))


def _ticket_key(nonce: str) -> str:
    return f"auth:mfa-ticket:{nonce}"


def _ticket_spent(nonce: str) -> bool:
    return bool(redis_store.client.exists(_ticket_key(nonce)))


# -- API sign-ins as the "Your sessions" page lists them ---------------------------------------------

@dataclass(frozen=True)
class ApiSignIn:
    family: str
    device: str
    ip: str | None
    signed_in_at: datetime
    last_used: datetime
    organization: str


def open_sign_ins(user: User) -> list[ApiSignIn]:
    """``user``'s API sign-ins that can still refresh (a family with a live, unspent token): the
    device recorded at sign-in, when, and when it was last refreshed; the most recent first."""
    now = utcnow()
    live = (select(RefreshToken.family).where(
        RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None), RefreshToken.spent_at.is_(None),
        RefreshToken.expires_at > now)).scalar_subquery()
    rows = list(db.session.scalars(select(RefreshToken).where(
        RefreshToken.user_id == user.id, RefreshToken.family.in_(live)).order_by(RefreshToken.id)))
    names = {m.org_id: m.organization.name for m in user.memberships}
    families: dict[str, list[RefreshToken]] = {}
    for row in rows:
        families.setdefault(row.family, []).append(row)
    listed = [ApiSignIn(family, _client_name(tokens[0].user_agent), tokens[0].ip, tokens[0].issued_at,
                        max(t.issued_at for t in tokens), names.get(tokens[-1].org_id, ""))
              for family, tokens in families.items()]
    return sorted(listed, key=lambda s: s.last_used, reverse=True)


def _client_name(agent: str | None) -> str:
    """A browser by name ("Firefox on Windows"); any other client by its first product token
    ("python-requests/2.32.3"), else "An API client"."""
    if agent and any(token in agent for token in ("Mozilla/", "Firefox/", "Chrome/", "Safari/")):
        return device_name(agent)
    first = (agent or "").split(" ", 1)[0][:60]
    return first or _("An API client")


def end_sign_in(user: User, family: str) -> None:
    """Revoke one of ``user``'s API sign-ins (its access tokens stop at once). Raises NotFound for
    a family that is not theirs or is already over."""
    if family not in {s.family for s in open_sign_ins(user)}:
        raise NotFound(_("That sign-in has already ended."))
    revoke_family(family)
    db.session.flush()


def end_every_sign_in(user: User) -> int:
    """Revoke every API sign-in of ``user``; returns how many tokens it revoked."""
    revoked = db.session.execute(update(RefreshToken).where(
        RefreshToken.user_id == user.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())).rowcount
    db.session.flush()
    return revoked or 0
