"""Scheduled upkeep of CRM data (run by the ``clock`` process through RQ)."""

from __future__ import annotations

import logging

from app.blueprints.crm.records.service import TRASH_DAYS, purge_trash
from app.extensions import db

log = logging.getLogger(__name__)


def purge_expired_trash() -> int:
    """Job: delete for good every record that has spent more than TRASH_DAYS days in the trash."""
    purged = purge_trash(days=TRASH_DAYS)
    db.session.commit()
    log.info("purged %d records trashed more than %d days ago", purged, TRASH_DAYS)
    return purged
