"""Run side effects only once the transaction that justified them has committed.

Jobs read rows by id and realtime events tell browsers to re-read: both must wait for the commit,
and both must vanish if the transaction rolls back.

Guarantees, for ``after_commit`` and every ``TransactionBuffer`` (the event bus keeps its pending
events in two):

- What is added is tied to the innermost transaction open at that moment. Releasing a savepoint
  is not a commit: its items pass to the enclosing transaction. A transaction that rolls back, or
  is closed without committing, drops its items (and those of its savepoints).
- When the outermost transaction commits, the items are handed over in the order they were added.
  Items added while that after-commit phase runs (a callback calling ``after_commit`` or
  ``enqueue_after_commit``) are handed over in the same phase, right after the others: they take
  effect now, not at some later commit of the session.
- The after-commit phase runs inside SQLAlchemy's ``after_commit`` hook, where the session can no
  longer emit SQL: work that writes must open its own unit (``app.unit_of_work``), as the event
  bus does for its subscribers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from app.extensions import db

log = logging.getLogger(__name__)
T = TypeVar("T")


class TransactionBuffer(Generic[T]):
    """Items gathered during a transaction and handed, as one list, to ``on_commit`` once the
    outermost transaction has committed (see the module docstring for savepoints and rollbacks).
    Buffers hand over in the order they were created; ``on_commit`` must not raise."""

    _all: ClassVar[list[TransactionBuffer]] = []

    def __init__(self, key: str, on_commit: Callable[[list[T]], None]) -> None:
        if any(buffer.key == key for buffer in self._all):
            raise ValueError(f"a transaction buffer named {key!r} exists")
        self.key, self.on_commit = key, on_commit
        self._all.append(self)

    def add(self, item: T) -> None:
        session = db.session()
        if not session.in_transaction():
            session.begin()  # tie the item to a transaction, so a rollback reliably drops it
        holder = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(self.key, []).append((holder, item))

    # -- the session's transaction events -----------------------------------------------------------

    def _hand_over(self, session: Session) -> bool:
        tied = session.info.pop(self.key, None)
        if tied:
            self.on_commit([item for _, item in tied])
        return bool(tied)

    def _pass_to_parent(self, session: Session, savepoint: SessionTransaction) -> None:
        tied = session.info.get(self.key)
        if tied:
            session.info[self.key] = [(savepoint.parent if holder is savepoint else holder, item)
                                      for holder, item in tied]

    def _drop(self, session: Session, ended: SessionTransaction) -> None:
        tied = session.info.get(self.key)
        if tied:
            kept = [(holder, item) for holder, item in tied if not _within(holder, ended)]
            if kept:
                session.info[self.key] = kept
            else:
                del session.info[self.key]


def _within(transaction: SessionTransaction | None, outer: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is outer:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    savepoint = session.get_nested_transaction()
    if savepoint is not None:
        for buffer in TransactionBuffer._all:
            buffer._pass_to_parent(session, savepoint)
        return
    handed = True
    while handed:  # again while handing over added items (to this buffer or an earlier one)
        handed = False
        for buffer in TransactionBuffer._all:
            handed = buffer._hand_over(session) or handed


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # After a commit the items were handed over already; what is still tied to the transaction
    # that ended (rolled back, or closed unfinished) belongs to work that never happened.
    for buffer in TransactionBuffer._all:
        buffer._drop(session, transaction)


def _run_callbacks(callbacks: list[Callable[[], Any]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:  # one failing side effect must not hide the others; the data is committed
            log.exception("after-commit callback failed")


_callbacks: TransactionBuffer[Callable[[], Any]] = TransactionBuffer("after_commit_callbacks",
                                                                     _run_callbacks)


def after_commit(callback: Callable[[], Any]) -> None:
    """Call ``callback`` after the current transaction commits (dropped if it rolls back); called
    during an after-commit phase, it runs in that phase."""
    _callbacks.add(callback)
