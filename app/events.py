"""The internal domain event bus: services say what happened, later features subscribe.

A service calls ``emit(DealMoved(...))`` inside its transaction. Subscribers choose when they hear:

- ``subscribe(Event, handler)``: after the transaction commits, once per event, in order. This is
  what side effects use (realtime doorbells, jobs for automation): they must not see work that is
  rolled back.
- ``subscribe(Event, handler, batch=True)``: after commit, once per transaction, with the list of
  that transaction's events of the types subscribed. A bulk move of 5,000 deals rings one doorbell.
- ``subscribe(Event, handler, in_transaction=True)``: at once, inside the transaction, so that what
  the handler writes commits or rolls back with the change (for example counters).

Events are small frozen dataclasses carrying ids, never ORM objects.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from app.after_commit import after_commit
from app.db_types import utcnow
from app.extensions import db

log = logging.getLogger(__name__)
_PENDING = "domain_events"


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    org_id: int
    actor_id: int | None
    occurred_at: datetime = field(default_factory=utcnow)

    @property
    def name(self) -> str:
        return type(self).__name__


@dataclass(frozen=True, kw_only=True)
class DealEvent(DomainEvent):
    deal_id: int
    pipeline_id: int | None
    stage_id: int | None


@dataclass(frozen=True, kw_only=True)
class DealCreated(DealEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class DealUpdated(DealEvent):
    changes: dict[str, Any] = field(default_factory=dict)  # field -> [old, new]


@dataclass(frozen=True, kw_only=True)
class DealMoved(DealEvent):
    from_stage_id: int | None
    from_pipeline_id: int | None


@dataclass(frozen=True, kw_only=True)
class DealWon(DealEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class DealLost(DealEvent):
    lost_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class DealDeleted(DealEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class DealRestored(DealEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class MessageReceived(DomainEvent):
    """Someone wrote to a connected Telegram account: heard live, or found by a reconcile after an
    outage (the first import of old history raises none)."""

    message_id: int
    chat_id: int
    account_id: int
    contact_id: int | None


@dataclass(frozen=True, kw_only=True)
class ContactsMerged(DomainEvent):
    """Contacts ``merged_ids`` were folded into ``contact_id`` (and trashed); what pointed at them
    (chats, say) should point at the survivor."""

    contact_id: int
    merged_ids: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class MemberRoleChanged(DomainEvent):
    """A member of the organization now holds another role (what they may see changed with it)."""

    membership_id: int
    user_id: int
    old_role: str
    new_role: str


Handler = Callable[[Any], None]


class EventBus:
    def __init__(self) -> None:
        self._now: dict[type, list[Handler]] = defaultdict(list)
        self._each: dict[type, list[Handler]] = defaultdict(list)
        self._batch: list[tuple[tuple[type, ...], Handler]] = []

    def subscribe(self, event_types: type | tuple[type, ...], handler: Handler, *,
                  batch: bool = False, in_transaction: bool = False) -> Handler:
        types = event_types if isinstance(event_types, tuple) else (event_types,)
        if batch:
            self._batch.append((types, handler))
        else:
            for event_type in types:
                (self._now if in_transaction else self._each)[event_type].append(handler)
        return handler

    def unsubscribe(self, handler: Handler) -> None:
        for table in (self._now, self._each):
            for handlers in table.values():
                while handler in handlers:
                    handlers.remove(handler)
        self._batch = [(types, h) for types, h in self._batch if h is not handler]

    def emit(self, event: DomainEvent) -> None:
        for handler in self._matching(self._now, event):
            handler(event)  # inside the transaction: a failure is the caller's failure
        session = db.session()
        pending = session.info.get(_PENDING)
        if pending is None:
            pending = session.info[_PENDING] = []
            after_commit(lambda: self._deliver(session.info.pop(_PENDING, [])))
        pending.append(event)

    def _deliver(self, events: list[DomainEvent]) -> None:
        for event in events:
            for handler in self._matching(self._each, event):
                self._safely(handler, event)
        for types, handler in self._batch:
            chosen = [e for e in events if isinstance(e, types)]
            if chosen:
                self._safely(handler, chosen)

    @staticmethod
    def _matching(table: dict[type, list[Handler]], event: DomainEvent) -> list[Handler]:
        return [h for event_type in type(event).__mro__ for h in table.get(event_type, ())]

    @staticmethod
    def _safely(handler: Handler, payload: Any) -> None:
        try:
            handler(payload)
        except Exception:  # the change is committed; one failing subscriber must not stop the rest
            log.exception("event subscriber %r failed", handler)


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, _previous) -> None:
    if not session.in_transaction():  # events of rolled-back work never happened
        session.info.pop(_PENDING, None)


bus = EventBus()
emit = bus.emit
subscribe = bus.subscribe
