"""The transactional outbox of queued event subscribers, and the record of what they handled.

A queued subscriber (``subscribe(Event, handler, queue=...)``) must hear every committed event,
even when the process dies right after the commit, and its effect must happen once although RQ
delivers at least once. So:

1. The transaction that raises the event also writes one ``EventOutbox`` row per queued
   subscriber: the row commits, or rolls back, with the change.
2. After the commit the rows are enqueued as jobs (``relay``) and struck from the outbox: a row
   still there is owed to the queue. The job id comes from the event id and the handler, so
   enqueueing a row twice never makes two different jobs.
3. The ``clock`` runs ``sweep_outbox`` every minute: rows older than ``SWEEP_GRACE`` were never
   enqueued (the process died between commit and enqueue, or Redis refused), or their strike
   failed; they are relayed now (a second copy of a job skips, see 4).
4. The job (``app.events.deliver_queued``) runs the handler in one transaction that also
   records (event id, handler) in ``HandledEvent`` (``claim``), whose primary key makes the record
   unique: a retried job, a duplicate, or a job re-run after its worker died finds it committed
   and skips, so the handler's effect commits exactly once.

``HandledEvent`` rows are kept ``HANDLED_KEPT`` (``purge_handled_events``, nightly): a copy of a
job that turns up later than that (a failed job requeued by hand a month on) would run again.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from rq import Queue
from sqlalchemy import String, Text, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from app.db_types import UTCDateTime, utcnow
from app.extensions import db
from app.jobs import queue, retry_policy
from app.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

JOB = "app.events.deliver_queued"  # by name: the bus imports this module, not the other way
RETRIES = 5
SWEEP_GRACE = timedelta(minutes=2)  # longer than any relay takes: a younger row is still on its way
SWEEP_BATCH = 500
HANDLED_KEPT = timedelta(days=30)


class EventOutbox(db.Model):
    """An event owed to a queued subscriber's job (see the module docstring)."""

    event_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    handler: Mapped[str] = mapped_column(String(255), primary_key=True)  # module.qualname
    queue: Mapped[str] = mapped_column(String(32))
    payload: Mapped[str] = mapped_column(Text)  # the event as JSON (app.events.event_to_json)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class HandledEvent(db.Model):
    """Handler ``handler`` committed its effect for event ``event_id``: never again."""

    event_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    handler: Mapped[str] = mapped_column(String(255), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


@dataclass(frozen=True)
class Entry:
    """One outbox row as plain data: it outlives the session that wrote it."""

    event_id: str
    handler: str
    queue: str
    payload: str

    @property
    def job_id(self) -> str:
        # RQ ids allow [A-Za-z0-9_-] only; a digest keeps long handler paths short and distinct.
        digest = hashlib.sha256(self.handler.encode()).hexdigest()[:16]
        return f"event-{self.event_id}-{digest}"

    @classmethod
    def of(cls, row: EventOutbox) -> Entry:
        return cls(event_id=row.event_id, handler=row.handler, queue=row.queue, payload=row.payload)


def add(entry: Entry) -> None:
    """Write ``entry`` in the current transaction (it commits or rolls back with the event)."""
    db.session.add(EventOutbox(event_id=entry.event_id, handler=entry.handler, queue=entry.queue,
                               payload=entry.payload))


def relay(entries: list[Entry]) -> int:
    """Enqueue the committed ``entries`` and strike them from the outbox; returns how many were
    struck. Never raises: what could not be enqueued or struck stays for the sweep."""
    if not entries:
        return 0
    try:
        _enqueue(entries)
    except Exception:
        log.exception("could not enqueue %d event job(s); the outbox sweep will", len(entries))
        return 0
    try:
        with unit_of_work(current_app._get_current_object()):  # the caller's session may be mid-commit
            db.session.execute(delete(EventOutbox.__table__).where(
                EventOutbox.event_id == bindparam("e"), EventOutbox.handler == bindparam("h")),
                [{"e": entry.event_id, "h": entry.handler} for entry in entries])
    except Exception:
        log.exception("enqueued %d event job(s) but could not strike them from the outbox; the "
                      "sweep enqueues them again and their handlers skip", len(entries))
        return 0
    return len(entries)


def _enqueue(entries: Iterable[Entry]) -> None:
    by_queue: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_queue[entry.queue].append(entry)
    for name, chosen in by_queue.items():
        queue(name).enqueue_many([
            Queue.prepare_data(JOB, args=(entry.handler, entry.payload), job_id=entry.job_id,
                               retry=retry_policy(RETRIES),
                               description=f"{entry.handler} <- event {entry.event_id}")
            for entry in chosen])


def sweep_outbox(now: datetime | None = None) -> int:
    """Job (every minute, from the clock): relay the outbox rows older than ``SWEEP_GRACE``.
    Returns how many were relayed."""
    cutoff = (now or utcnow()) - SWEEP_GRACE
    relayed = 0
    while True:
        with unit_of_work():
            entries = [Entry.of(row) for row in db.session.scalars(
                select(EventOutbox).where(EventOutbox.created_at < cutoff)
                .order_by(EventOutbox.created_at).limit(SWEEP_BATCH))]
        struck = relay(entries)
        relayed += struck
        if struck < SWEEP_BATCH:  # the last batch, or Redis or the database refused: next minute
            break
    if relayed:
        log.warning("the outbox sweep enqueued %d event job(s) their commit never enqueued", relayed)
    return relayed


def claim(event_id: str, handler: str) -> bool:
    """Record, in the current transaction, that ``handler`` handles ``event_id``; False when a
    committed transaction already did. On PostgreSQL a concurrent claim of the same pair waits
    for the first one's transaction to end, then wins only if that one rolled back."""
    dialect = db.session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (insert(HandledEvent.__table__)
                 .values(event_id=event_id, handler=handler, handled_at=utcnow())
                 .on_conflict_do_nothing().returning(HandledEvent.__table__.c.event_id))
    return db.session.execute(statement).first() is not None


def purge_handled_events(now: datetime | None = None) -> int:
    """Job (nightly, from the clock): forget handled markers older than ``HANDLED_KEPT``."""
    with unit_of_work():
        purged = db.session.execute(delete(HandledEvent).where(
            HandledEvent.handled_at < (now or utcnow()) - HANDLED_KEPT)).rowcount
    log.info("purged %d handled-event markers", purged)
    return purged
