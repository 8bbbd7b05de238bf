"""Browser sessions held on the server, so that signing out ends them for good.

A cookie alone cannot be taken back: a copy of a signed session cookie (or of the remember-me
cookie) keeps working after sign-out unless the server refuses it. Each sign-in therefore opens a
``UserSession`` row; both cookies carry its random key (``User.get_id``), and a cookie loads only
while its row is open, its user's epoch unchanged and the session younger than ``MAX_AGE``.
Flask-free: callers pass the request's facts and commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import joinedload

from app.blueprints.auth.models import RefreshToken, User, UserSession
from app.blueprints.team.public import Membership
from app.db_types import utcnow
from app.errors import NotFound
from app.extensions import db, redis_store

MAX_AGE = timedelta(days=30)  # no session outlives the remember-me cookie, however active


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def open_session(user: User, *, ip: str | None, user_agent: str | None) -> UserSession:
    """A new session for ``user``; afterwards ``user.get_id()`` names it (for the cookies)."""
    key = secrets.token_urlsafe(32)
    row = UserSession(user_id=user.id, key_hash=_hash(key), ip=(ip or None) and ip[:64],
                      user_agent=(user_agent or None) and user_agent[:255])
    db.session.add(row)
    db.session.flush()
    user.session_key = key
    return row


@dataclass(frozen=True)
class SignedIn:
    user: User
    session_id: int


def parse_token(token: str) -> tuple[int, int, str] | None:
    """(user id, epoch, session key) of a cookie's ``user id:epoch:key``, or None."""
    user_id, _, rest = token.partition(":")
    epoch, _, key = rest.partition(":")
    if not user_id.isdigit() or not epoch.isdigit() or not key or len(user_id) > 18 or len(epoch) > 18:
        return None
    return int(user_id), int(epoch), key


def _open():
    """The one definition of a session that still signs in: not ended, younger than MAX_AGE."""
    return and_(UserSession.ended_at.is_(None), UserSession.created_at > utcnow() - MAX_AGE)


def load_signed_in(token: str) -> SignedIn | None:
    """The user a cookie signs in, if its session is still open; one statement.

    None for a malformed token, an ended or expired session, or an old epoch (signed out
    everywhere since the cookie was issued).
    """
    parsed = parse_token(token)
    if parsed is None:
        return None
    user_id, epoch, key = parsed
    row = db.session.execute(
        select(User, UserSession.id)
        .join(UserSession, and_(UserSession.user_id == User.id, UserSession.key_hash == _hash(key), _open()))
        .where(User.id == user_id, User.session_epoch == epoch)
        .options(joinedload(User.memberships))).unique().first()
    if row is None:
        return None
    user, session_id = row
    user.session_key = key
    _note_seen(session_id)
    return SignedIn(user, session_id)


def _seen_key(session_id: int) -> str:
    return f"auth:seen:{session_id}"


def _note_seen(session_id: int) -> None:
    """When a session was last used lives in Redis: a request that only reads never writes to the
    database (a write there would wait behind any other writer)."""
    redis_store.client.set(_seen_key(session_id), int(utcnow().timestamp()), ex=int(MAX_AGE.total_seconds()))


def session_role(session_id: int, org_id: int) -> str | None:
    """The role the session's user holds in ``org_id`` while the session is open; else None."""
    return db.session.scalar(
        select(Membership.role).join(UserSession, UserSession.user_id == Membership.user_id)
        .where(UserSession.id == session_id, Membership.org_id == org_id, _open()))


def end_session(session_id: int) -> None:
    """Sign one session out (its cookies stop loading)."""
    db.session.execute(update(UserSession).where(UserSession.id == session_id, UserSession.ended_at.is_(None))
                       .values(ended_at=utcnow()))


def end_session_of(user: User, session_id: int) -> None:
    """Sign out one of ``user``'s own sessions. Raises NotFound for any other session."""
    found = db.session.scalar(select(UserSession.id).where(
        UserSession.id == session_id, UserSession.user_id == user.id, _open()))
    if found is None:
        raise NotFound(_("That session has already ended."))
    end_session(found)


def end_every_session(user: User) -> None:
    """Sign ``user`` out everywhere: every browser session, every API sign-in (refresh tokens, and
    access tokens through the epoch they carry). The epoch is bumped in SQL: two of these at once
    must not both write the same next value."""
    now = utcnow()
    db.session.execute(update(User).where(User.id == user.id).values(session_epoch=User.session_epoch + 1)
                       .execution_options(synchronize_session=False))
    db.session.execute(update(UserSession).where(UserSession.user_id == user.id,
                                                 UserSession.ended_at.is_(None)).values(ended_at=now))
    db.session.execute(update(RefreshToken).where(RefreshToken.user_id == user.id,
                                                  RefreshToken.revoked_at.is_(None)).values(revoked_at=now))
    db.session.flush()
    db.session.expire(user, ["session_epoch"])


def end_other_sessions(user: User, keep_session_id: int | None) -> list[int]:
    """Sign out every browser session of ``user`` but ``keep_session_id``; returns the ids ended."""
    ended = list(db.session.scalars(select(UserSession.id).where(
        UserSession.user_id == user.id, UserSession.id != (keep_session_id or 0),
        UserSession.ended_at.is_(None))))
    if ended:
        db.session.execute(update(UserSession).where(UserSession.id.in_(ended)).values(ended_at=utcnow()))
    db.session.flush()
    return ended


@dataclass(frozen=True)
class ListedSession:
    id: int
    device: str
    ip: str | None
    created_at: datetime
    last_seen: datetime


def open_sessions(user: User, first_id: int | None = None) -> list[ListedSession]:
    """``user``'s sessions that still sign in: session ``first_id`` first, then the most recently
    used."""
    rows = list(db.session.scalars(select(UserSession).where(UserSession.user_id == user.id, _open())))
    seen = redis_store.client.mget([_seen_key(r.id) for r in rows]) if rows else []
    listed = [ListedSession(r.id, r.device, r.ip, r.created_at,
                            datetime.fromtimestamp(int(t), UTC) if t else r.created_at)
              for r, t in zip(rows, seen, strict=True)]
    return sorted(listed, key=lambda s: (s.id != first_id, -s.last_seen.timestamp(), -s.id))


def purge_ended(keep: timedelta = MAX_AGE) -> int:
    """Delete sessions that ended, or expired, more than ``keep`` ago; returns how many."""
    cutoff = utcnow() - keep
    return db.session.execute(delete(UserSession).where(
        or_(UserSession.ended_at < cutoff, UserSession.created_at < cutoff - MAX_AGE))).rowcount or 0
