"""What the accounts domain tells others: a connected Telegram account's status and sync.

Raised where the change is flushed (``store`` for what the telegram process writes, ``service`` for
what members do), delivered after the commit like every domain event (``app.events``). ``live.py``
turns them into the realtime doorbells ``account.status`` and ``inbox.synced``.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class AccountEvent(DomainEvent):
    """Something happened to one connected Telegram account (base of the domain's events)."""

    account_id: int


@dataclass(frozen=True, kw_only=True)
class AccountStatusChanged(AccountEvent):
    """The account's status moved from ``old_status`` to ``new_status`` (``AccountStatus`` values),
    or, with the same status, its detail or its limit changed: the telegram process connecting,
    losing or limiting it, a sign-in finishing, Telegram ending the session; or a member
    disconnecting it (``actor_id``)."""

    old_status: str
    new_status: str


@dataclass(frozen=True, kw_only=True)
class AccountSynced(AccountEvent):
    """The telegram process finished importing or reconciling the account's chats."""
