"""One database transaction with one ending, for requests, jobs and the telegram process alike.

Events and after-commit work hang on the session's commit (``app.after_commit``), not on who
commits: a route's ``db.session.commit()``, a job's or a telegram database call's unit all hand
them over the same way, in the committing process, once the data is durable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

from flask import Flask
from sqlalchemy.orm import Session

from app.extensions import db


@contextmanager
def unit_of_work(app: Flask | None = None) -> Iterator[Session]:
    """Commit when the block ends normally; roll back and re-raise when it raises (anything,
    ``BaseException`` included: a unit interrupted half-way leaves nothing behind).

    With ``app`` the unit runs in an app context of its own, hence a session of its own that is
    closed afterwards: what a job, a telegram database call or an after-commit subscriber needs.
    Without it the unit is the current app context's session, so it must not be opened with other
    work already pending there (that work would commit or roll back with it).
    """
    with app.app_context() if app is not None else nullcontext():
        session = db.session()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
