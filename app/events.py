"""The internal domain event bus: services say what happened, later features subscribe.

A service calls ``emit(SomethingHappened(...))`` inside its transaction. Subscribers choose when they hear:

- ``subscribe(Event, handler, in_transaction=True)``: at once, inside the transaction, so that what
  the handler writes commits or rolls back with the change (for example counters). Its failure is
  the emitter's failure.
- ``subscribe(Event, handler, queue=Queues.DEFAULT)``: after the commit, as a job on that queue,
  for effects that must happen (campaigns stopping on a reply, automation, analytics). The
  emitting transaction writes the event into an outbox (``app.event_outbox``), so a committed
  event is never lost, even if the process dies before the job is enqueued; the job may run more
  than once (RQ's retries, a worker that died, the outbox sweep) but the handler's effect commits
  once per event (``event_id``): the job runs it in one transaction that also records the
  (event, handler) pair, and skips when that record exists. The handler must be a module-level
  function (its job finds it by name) and write through ``db.session`` (the job's transaction);
  side effects outside the database (Redis, HTTP) belong in ``after_commit``, which runs only
  once the effect committed, so a skipped or failed run does not repeat them.
- ``subscribe(Event, handler)``: after the commit, in the committing process, once per event, in
  order (realtime doorbells, closing sockets). Best effort: a process that dies right after the
  commit never runs it.
- ``subscribe(Event, handler, batch=True)``: the same, once per transaction, with the list of that
  transaction's events of the types subscribed. A bulk move of 5,000 deals rings one doorbell.

Plain after-commit subscribers (the last two) each run in a unit of work of their own right after
the change commits (``app.unit_of_work``: a fresh app context, hence a fresh session and an empty
``g``; the event carries what they need). Rows they add commit when they return and roll back if
they raise (the change stays committed, and the other subscribers still run); their
``after_commit``/``enqueue_after_commit`` work runs when their unit commits, that is at once;
events they emit are delivered like any other.

Delivery hangs on the session's commit, whoever commits: a route's ``db.session.commit()``, a
job's or a telegram database call's ``unit_of_work`` deliver the same way. Rolled-back work
(a rolled-back savepoint included) delivers nothing after commit: no outbox row, no job, no call
of an after-commit subscriber (what in-transaction subscribers wrote rolls back with it).

Events are small frozen dataclasses carrying ids and plain values, never ORM objects. Each has an
``event_id`` (random hex) and travels to jobs as JSON (``event_to_json``), its class found by name:
class names are unique, and an event with queued subscribers keeps its fields' names and meaning
(jobs still queued hold the old shape).
"""

from __future__ import annotations

import json
import logging
import typing
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import datetime
from importlib import import_module
from types import UnionType
from typing import Any

from flask import Flask, current_app

from app import event_outbox as outbox
from app.after_commit import TransactionBuffer
from app.db_types import utcnow
from app.jobs import Queues
from app.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

EVENT_TYPES: dict[str, type[DomainEvent]] = {}  # class name -> class: how JSON finds its class


def new_event_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    org_id: int
    actor_id: int | None
    occurred_at: datetime = field(default_factory=utcnow)
    event_id: str = field(default_factory=new_event_id)  # stable across retries of its jobs

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        known = EVENT_TYPES.setdefault(cls.__name__, cls)
        if known is not cls:
            raise TypeError(f"two event classes are named {cls.__name__}: jobs find events by name")

    @property
    def name(self) -> str:
        return type(self).__name__


# -- events as JSON, for jobs ----------------------------------------------------------------------

def event_to_json(event: DomainEvent) -> str:
    """The event's class name and fields; datetimes as ISO 8601, tuples as lists (both come back
    as they were from ``event_from_json``; inside dicts they stay strings and lists)."""
    return json.dumps({"type": event.name, "fields": {f.name: getattr(event, f.name)
                                                      for f in fields(event)}},
                      default=_jsonable, sort_keys=True)


def event_from_json(text: str) -> DomainEvent:
    data = json.loads(text)
    event_type = EVENT_TYPES.get(data["type"])
    if event_type is None:
        raise LookupError(f"no event class named {data['type']!r}")
    hints = typing.get_type_hints(event_type)
    return event_type(**{name: _revived(hints[name], value) for name, value in data["fields"].items()})


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"an event field holds a {type(value).__name__}: events carry ids and plain values")


def _revived(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    union = typing.get_origin(hint) in (typing.Union, UnionType)
    for kind in typing.get_args(hint) if union else (hint,):
        if kind is datetime:
            return datetime.fromisoformat(value)
        if typing.get_origin(kind) is tuple:
            return tuple(value)
    return value


# -- the bus ---------------------------------------------------------------------------------------

Handler = Callable[[Any], None]


def handler_name(handler: Handler) -> str:
    """How a queued subscriber is named in its outbox rows, jobs and handled markers."""
    return f"{handler.__module__}.{handler.__qualname__}"


class EventBus:
    def __init__(self) -> None:
        self._now: dict[type, list[Handler]] = defaultdict(list)
        self._each: dict[type, list[Handler]] = defaultdict(list)
        self._batch: list[tuple[tuple[type, ...], Handler]] = []
        self._queued: dict[type, list[tuple[str, str]]] = defaultdict(list)  # (handler name, queue)
        self._by_name: dict[str, Handler] = {}
        # Ordered: the outbox is relayed before the in-process subscribers run.
        self._owed: TransactionBuffer[outbox.Entry] = TransactionBuffer("event_outbox", outbox.relay)
        self._pending: TransactionBuffer[DomainEvent] = TransactionBuffer("domain_events",
                                                                          self._deliver)

    def subscribe(self, event_types: type | tuple[type, ...], handler: Handler, *,
                  batch: bool = False, in_transaction: bool = False,
                  queue: str | None = None) -> Handler:
        types = event_types if isinstance(event_types, tuple) else (event_types,)
        if queue is not None:
            self._subscribe_queued(types, handler, queue, batch=batch, in_transaction=in_transaction)
        elif batch:
            self._batch.append((types, handler))
        else:
            for event_type in types:
                (self._now if in_transaction else self._each)[event_type].append(handler)
        return handler

    def _subscribe_queued(self, event_types: tuple[type, ...], handler: Handler, queue: str, *,
                          batch: bool, in_transaction: bool) -> None:
        if batch or in_transaction:
            raise ValueError("a queued subscriber hears each event after the commit: "
                             "no batch, no in_transaction")
        if queue not in Queues.ALL:
            raise ValueError(f"unknown queue {queue!r}")
        if "." in handler.__qualname__ or "<" in handler.__qualname__:
            raise ValueError(f"{handler!r}: a queued subscriber must be a module-level function "
                             "(its job finds it by name)")
        name = handler_name(handler)
        if self._by_name.setdefault(name, handler) is not handler:
            raise ValueError(f"another queued subscriber is named {name}")
        for event_type in event_types:
            self._queued[event_type].append((name, queue))

    def unsubscribe(self, handler: Handler) -> None:
        for table in (self._now, self._each):
            for handlers in table.values():
                while handler in handlers:
                    handlers.remove(handler)
        self._batch = [(types, h) for types, h in self._batch if h is not handler]
        for name in [n for n, h in self._by_name.items() if h is handler]:
            del self._by_name[name]
            for event_type, queued in self._queued.items():
                self._queued[event_type] = [(n, q) for n, q in queued if n != name]

    def emit(self, event: DomainEvent) -> None:
        for handler in self._matching(self._now, event):
            handler(event)  # inside the transaction: a failure is the caller's failure
        queued = dict(self._matching(self._queued, event))  # a handler subscribed twice hears once
        if queued:
            payload = event_to_json(event)
            for name, queue in queued.items():
                entry = outbox.Entry(event_id=event.event_id, handler=name, queue=queue,
                                     payload=payload)
                outbox.add(entry)
                self._owed.add(entry)
        self._pending.add(event)

    def queued_handler(self, name: str) -> Handler:
        """The queued subscriber called ``name``, importing its module when this process has not
        (subscribing happens at import)."""
        if name not in self._by_name:
            import_module(name.rpartition(".")[0])
        try:
            return self._by_name[name]
        except KeyError:
            raise LookupError(f"no queued subscriber named {name!r}") from None

    def _deliver(self, events: list[DomainEvent]) -> None:
        app = current_app._get_current_object()
        for event in events:
            for handler in self._matching(self._each, event):
                self._in_own_unit(app, handler, event)
        for types, handler in self._batch:
            chosen = [e for e in events if isinstance(e, types)]
            if chosen:
                self._in_own_unit(app, handler, chosen)

    @staticmethod
    def _matching(table: dict[type, list], event: DomainEvent) -> list:
        return [h for event_type in type(event).__mro__ for h in table.get(event_type, ())]

    @staticmethod
    def _in_own_unit(app: Flask, handler: Handler, payload: Any) -> None:
        try:
            with unit_of_work(app):
                handler(payload)
        except Exception:  # the change is committed; one failing subscriber must not stop the rest
            log.exception("event subscriber %r failed", handler)


bus = EventBus()
emit = bus.emit
subscribe = bus.subscribe


def deliver_queued(name: str, payload: str) -> bool:
    """Job of a queued subscriber: run handler ``name`` on the event, once per event id.

    One transaction claims (event id, handler) and runs the handler: both commit, or neither. A
    run that finds the claim committed skips (returns False), so retries and duplicates of the
    job commit the effect once. A handler that raises rolls its work back and fails the job, which
    RQ retries.
    """
    event = event_from_json(payload)
    handler = bus.queued_handler(name)
    with unit_of_work(current_app._get_current_object()):
        if not outbox.claim(event.event_id, name):
            log.info("%s already handled event %s; skipped", name, event.event_id)
            return False
        handler(event)
    return True
