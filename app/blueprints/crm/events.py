"""What the CRM tells others about its records: contacts created and merged; deals created, changed,
trashed and restored; imports' contacts and their end. Where a deal is (its moves, won and lost) is the
pipeline's: ``pipeline.events``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.events import DomainEvent


@dataclass(frozen=True, kw_only=True)
class DealEvent(DomainEvent):
    """Something happened to a deal; ``pipeline_id`` and ``stage_id`` say where it is now."""

    deal_id: int
    pipeline_id: int | None
    stage_id: int | None


@dataclass(frozen=True, kw_only=True)
class DealCreated(DealEvent):
    """A new deal (from a form, the API, the board or an import), raised before it enters its
    first stage."""


@dataclass(frozen=True, kw_only=True)
class DealUpdated(DealEvent):
    """Fields of a deal other than its stage changed."""

    changes: dict[str, Any] = field(default_factory=dict)  # field -> [old, new]


@dataclass(frozen=True, kw_only=True)
class DealDeleted(DealEvent):
    """A deal went to the trash."""


@dataclass(frozen=True, kw_only=True)
class DealRestored(DealEvent):
    """A deal came back from the trash."""


@dataclass(frozen=True, kw_only=True)
class ContactCreated(DomainEvent):
    """A new contact from a form or the API (``via`` "app"), or made by the system when someone wrote
    to a connected Telegram account ("telegram"). An import's contacts come as ContactsImported."""

    contact_id: int
    via: str = "app"


@dataclass(frozen=True, kw_only=True)
class ContactsImported(DomainEvent):
    """A batch of an import created these contacts: one event per batch (up to 5,000), not one per
    contact, so that a large import costs its subscribers (and itself) little."""

    import_id: int
    contact_ids: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class ImportFinished(DomainEvent):
    """An import ended: ``status`` "done" (with its counts) or "failed" (``error`` says why; rows of
    the batches committed before stay). A dry run raises it too, having written nothing."""

    import_id: int
    entity: str
    status: str
    dry_run: bool
    created: int
    updated: int
    skipped: int
    rejected: int
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class ContactsMerged(DomainEvent):
    """Contacts ``merged_ids`` were folded into ``contact_id`` (and trashed); what pointed at them
    (chats, say) should point at the survivor."""

    contact_id: int
    merged_ids: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class ContactShared(DomainEvent):
    """Contact ``contact_id`` is now shared with members ``user_ids``: they edit it and its deals,
    and see its chats."""

    contact_id: int
    user_ids: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class ContactUnshared(DomainEvent):
    """Contact ``contact_id`` is no longer shared with members ``user_ids``: what they saw only
    through it (its chats) leaves their pages."""

    contact_id: int
    user_ids: tuple[int, ...]
