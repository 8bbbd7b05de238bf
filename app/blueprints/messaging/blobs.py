"""The bytes of files we send, stored once (``StoredBlob``) and named by every message sending them.

A campaign step's file sent to a thousand people is one blob, not a thousand copies. A blob is
found by (organization, sha256) inside the caller's transaction and created when missing; a
concurrent writer of the same bytes loses the unique key in a savepoint and takes the winner's row.
Deleting messages leaves a blob nobody names; ``purge_unused_blobs`` (the clock, nightly) deletes
those.

Against the purge, a writer reading a blob it is about to name locks it (FOR SHARE on PostgreSQL):
the purge skips locked blobs, and a blob the purge has locked first is gone once the writer's read
returns, so the writer makes it again. SQLite serializes writers, so neither race exists there.
"""

from __future__ import annotations

import hashlib
import logging

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from app.blueprints.messaging.models import MessageFile, StoredBlob
from app.extensions import db

log = logging.getLogger(__name__)

PURGE_BATCH = 500


def _found(org_id: int, digest: str) -> StoredBlob | None:
    return db.session.scalar(select(StoredBlob)
                             .where(StoredBlob.org_id == org_id, StoredBlob.sha256 == digest)
                             .with_for_update(read=True))


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def shared_blob(org_id: int, data: bytes, sha256: str | None = None) -> StoredBlob:
    """The organization's stored copy of ``data`` (``sha256``: its digest, when the caller has it
    already), made now if there is none (flushed; the caller commits)."""
    key = sha256 or digest(data)
    found = _found(org_id, key)
    if found is not None:
        return found
    blob = StoredBlob(org_id=org_id, sha256=key, size=len(data), data=data)
    try:
        with db.session.begin_nested():
            db.session.add(blob)
    except IntegrityError:  # a concurrent writer stored the same bytes first: theirs stands
        found = _found(org_id, key)
        if found is None:  # theirs was purged in between (no file named it yet): try again later
            raise
        return found
    return blob


def purge_unused_blobs() -> int:
    """Job: delete every blob no message file names (their messages were deleted)."""
    purged = 0
    while True:
        unused = db.session.scalars(
            select(StoredBlob).where(~exists().where(MessageFile.blob_id == StoredBlob.id))
            .order_by(StoredBlob.id).limit(PURGE_BATCH).with_for_update(skip_locked=True)).all()
        if not unused:
            break
        for blob in unused:
            try:
                with db.session.begin_nested():
                    db.session.delete(blob)
            except IntegrityError:  # named by a file committed since the query's snapshot: kept
                continue
            purged += 1
        db.session.commit()
        if len(unused) < PURGE_BATCH:
            break
    db.session.commit()
    log.info("purged %d stored blobs no message file names", purged)
    return purged
