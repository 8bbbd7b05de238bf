"""Run side effects only once the transaction that justified them has committed.

Jobs read rows by id and realtime events tell browsers to re-read: both must wait for the commit,
and both must vanish if the transaction rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session

from app.extensions import db

log = logging.getLogger(__name__)
_KEY = "after_commit_callbacks"


def after_commit(callback: Callable[[], None]) -> None:
    """Call ``callback`` after the current session's next successful commit (dropped on rollback)."""
    session = db.session()
    if not session.in_transaction():
        session.begin()  # tie the callback to a transaction, so a rollback reliably drops it
    session.info.setdefault(_KEY, []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_callbacks(session: Session) -> None:
    callbacks = session.info.pop(_KEY, [])
    for callback in callbacks:
        try:
            callback()
        except Exception:  # one failing side effect must not hide the others; the data is committed
            log.exception("after-commit callback failed")


@event.listens_for(Session, "after_soft_rollback")
def _drop_callbacks(session: Session, _previous) -> None:
    if not session.in_transaction():  # a savepoint rolling back leaves the outer work standing
        session.info.pop(_KEY, None)
