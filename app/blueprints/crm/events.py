"""What the CRM tells others about its records: deals created, changed, trashed and restored, and
contacts merged. Where a deal is (its moves, won and lost) is the pipeline's: ``pipeline.events``."""

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
class ContactsMerged(DomainEvent):
    """Contacts ``merged_ids`` were folded into ``contact_id`` (and trashed); what pointed at them
    (chats, say) should point at the survivor."""

    contact_id: int
    merged_ids: tuple[int, ...]
