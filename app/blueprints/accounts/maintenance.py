"""Scheduled upkeep of Telegram accounts (run by the ``clock`` process through RQ)."""

from __future__ import annotations

import logging

from app.blueprints.accounts import gateway, service
from app.extensions import db

log = logging.getLogger(__name__)

ASK_TIMEOUT = 5.0  # seconds: dropping a login client is quick, and the purge is best effort


def purge_abandoned_qr_logins() -> int:
    """Job: delete QR sign-ins nobody finished within ``service.QR_LOGIN_EXPIRY``."""
    purged = service.purge_abandoned_qr_logins(gateway.telegram(timeout=ASK_TIMEOUT))
    db.session.commit()
    log.info("purged %d QR sign-ins left unfinished", purged)
    return purged
