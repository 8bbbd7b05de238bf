"""Scheduled upkeep of sign-in data (run by the ``clock`` process through RQ)."""

from __future__ import annotations

import logging

from app.blueprints.auth.browser_sessions import purge_ended
from app.extensions import db

log = logging.getLogger(__name__)


def purge_ended_sessions() -> int:
    """Job: forget browser sessions that ended or expired over a month ago."""
    purged = purge_ended()
    db.session.commit()
    log.info("purged %d ended browser sessions", purged)
    return purged
