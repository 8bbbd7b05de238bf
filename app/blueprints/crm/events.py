"""What the CRM tells others about its records (the deal events still live in app/events.py)."""

from __future__ import annotations

from dataclasses import dataclass

from app.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class ContactsMerged(DomainEvent):
    """Contacts ``merged_ids`` were folded into ``contact_id`` (and trashed); what pointed at them
    (chats, say) should point at the survivor."""

    contact_id: int
    merged_ids: tuple[int, ...]
