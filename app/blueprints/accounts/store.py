"""What the telegram process writes about accounts: which to run, their status, their session.

Flask-free: each function runs inside one unit of work that its caller commits. Every status
change raises ``AccountStatusChanged``, a finished sync ``AccountSynced`` (``events.py``; open pages
hear them through ``live.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from app import audit
from app.blueprints.accounts.config import effective
from app.blueprints.accounts.events import AccountStatusChanged, AccountSynced
from app.blueprints.accounts.models import AccountStatus, BDAccount
from app.blueprints.accounts.service import account_name, is_pending_qr
from app.blueprints.accounts.vault import SessionVault
from app.db_types import utcnow
from app.events import emit
from app.extensions import db
from app.i18n import in_words, is_said

# Statuses in which a signed-in account is kept connected by some telegram process.
RUNNABLE = (AccountStatus.CONNECTING, AccountStatus.ONLINE, AccountStatus.OFFLINE, AccountStatus.LIMITED)
# Statuses Telegram put the account in: nothing runs until someone signs in again.
ENDED = (AccountStatus.NEEDS_LOGIN, AccountStatus.BANNED, AccountStatus.DEACTIVATED)


@dataclass(frozen=True)
class AccountInfo:
    """An account as the process needs it to connect: the session already opened."""

    id: int
    org_id: int
    phone: str
    status: str
    detail: str | None
    session: str | None
    proxy: dict[str, Any] | None
    config: dict[str, int]
    limited_until: datetime | None
    synced_at: datetime | None


def runnable(exclude: set[int] | frozenset[int] = frozenset()) -> list[tuple[int, int]]:
    """(account id, org id) of every account that should be connected: signed in, not ended."""
    rows = db.session.execute(
        select(BDAccount.id, BDAccount.org_id)
        .where(BDAccount.status.in_([s.value for s in RUNNABLE]), BDAccount.sealed_session.is_not(None))
        .order_by(BDAccount.id)
    ).all()
    return [(account_id, org_id) for account_id, org_id in rows if account_id not in exclude]


def existing(account_ids: list[int]) -> set[int]:
    """Which of these accounts still exist and should run (the web may have removed or ended them)."""
    if not account_ids:
        return set()
    return set(db.session.scalars(
        select(BDAccount.id).where(BDAccount.id.in_(account_ids),
                                   BDAccount.status.in_([s.value for s in RUNNABLE]),
                                   BDAccount.sealed_session.is_not(None))))


def unfinished_logins(before: datetime) -> list[int]:
    """Accounts left connecting without a session since ``before`` (a login whose process died)."""
    return list(db.session.scalars(select(BDAccount.id).where(
        BDAccount.status == AccountStatus.CONNECTING.value, BDAccount.sealed_session.is_(None),
        BDAccount.updated_at < before)))


def opened_proxy(stored: dict[str, Any] | None, vault: SessionVault) -> dict[str, Any] | None:
    """The stored proxy with its password opened (only the telegram process ever needs it)."""
    proxy = dict(stored) if stored else None
    if proxy and proxy.get("sealed_password"):
        proxy["password"] = vault.open(proxy.pop("sealed_password"))
    return proxy


def load(account_id: int, vault: SessionVault) -> AccountInfo | None:
    account = db.session.get(BDAccount, account_id)
    if account is None:
        return None
    proxy = opened_proxy(account.proxy, vault)
    return AccountInfo(
        id=account.id, org_id=account.org_id, phone=account.phone, status=account.status,
        detail=account.status_detail,
        session=vault.open(account.sealed_session) if account.sealed_session else None,
        proxy=proxy, config=effective(account.config), limited_until=account.limited_until,
        synced_at=account.synced_at)


KEEP: Any = object()
DETAIL_LENGTH = 300  # BDAccount.status_detail


def set_status(account_id: int, status: str, *, detail: str | None = None,
               limited_until: datetime | None = KEEP, **fields: Any) -> bool:
    """Move the account to ``status`` (with a human ``detail``: a text ``app.i18n.said`` made, which the
    pages say in their viewer's language, or a plain one); False when the row is gone.

    ``limited_until`` stays as it is unless given: a limit outlives reconnects and restarts, and
    only ending it (None) lifts it. ``fields`` sets other columns (connected_at, ...).
    """
    account = db.session.get(BDAccount, account_id)
    if account is None:
        return False
    before = (account.status, account.status_detail, account.limited_until)
    account.status = str(status)
    account.status_detail = _fitting(detail)
    if limited_until is not KEEP:
        account.limited_until = limited_until
    for name, value in fields.items():
        setattr(account, name, value)
    if before != (account.status, account.status_detail, account.limited_until):
        emit(AccountStatusChanged(org_id=account.org_id, actor_id=None, account_id=account.id,
                                  old_status=before[0], new_status=account.status))
    return True


def _fitting(detail: str | None) -> str | None:
    """The detail as its column holds it: one too long to keep ``said`` is kept in English words."""
    if not detail:
        return None
    if is_said(detail) and len(detail) > DETAIL_LENGTH:
        return in_words(detail)[:DETAIL_LENGTH]
    return detail[:DETAIL_LENGTH]


def save_login(account_id: int, sealed_session: str, *, telegram_user_id: int, username: str | None,
               display_name: str, actor_id: int | None = None) -> bool:
    """A finished sign-in: the sealed session and who it is; the account is online. Audited in the
    same unit as ``account.connected``, by ``actor_id`` (who started the sign-in; when the process
    was not told, the member who added the account)."""
    saved = set_status(account_id, AccountStatus.ONLINE, sealed_session=sealed_session,
                       telegram_user_id=telegram_user_id, username=username,
                       display_name=display_name[:200], connected_at=utcnow())
    if saved:
        account = db.session.get(BDAccount, account_id)
        audit.record("account.connected", org_id=account.org_id, actor_id=actor_id or account.created_by_id,
                     target=account, name=account_name(account), username=username,
                     phone=None if is_pending_qr(account) else account.phone)
    return saved


def end_session(account_id: int, status: str, detail: str) -> bool:
    """Telegram ended the session (or we signed out): forget it, show why."""
    return set_status(account_id, status, detail=detail, sealed_session=None)


def mark_synced(account_id: int) -> None:
    account = db.session.get(BDAccount, account_id)
    if account is not None:
        account.synced_at = utcnow()
        emit(AccountSynced(org_id=account.org_id, actor_id=None, account_id=account.id))
