"""What the inbox tells others: messages that arrived."""

from __future__ import annotations

from dataclasses import dataclass

from app.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class MessageReceived(DomainEvent):
    """Someone wrote to a connected Telegram account: heard live, or found by a reconcile after an
    outage (the first import of old history raises none)."""

    message_id: int
    chat_id: int
    account_id: int
    contact_id: int | None
