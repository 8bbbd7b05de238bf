"""What the web side holds to reach Telegram: the control channel and the login wizard's step.

The step of a login under way is kept in Redis for a quarter of an hour, so a reloaded wizard
page shows the step it was on; losing it only means starting the sign-in again.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any

from flask import current_app

from app.blueprints.accounts.service import Ask
from app.extensions import redis_store
from app.integrations.telegram import control

CONTROL_TIMEOUT = 20.0  # seconds a login step may take (the process talks to Telegram meanwhile)
STEP_TTL_SECONDS = 15 * 60


def telegram(timeout: float | None = None) -> Ask:
    """``control.call`` bound to this app's Redis (``TELEGRAM_CONTROL_TIMEOUT`` overrides the wait)."""
    wait = timeout or current_app.config.get("TELEGRAM_CONTROL_TIMEOUT", CONTROL_TIMEOUT)
    return partial(control.call, redis_store.client, timeout=wait)


def _step_key(account_id: int) -> str:
    return f"accounts:login:{account_id}"


def remember_step(account_id: int, step: dict[str, Any]) -> None:
    redis_store.client.set(_step_key(account_id), json.dumps(step), ex=STEP_TTL_SECONDS)


def login_step(account_id: int) -> dict[str, Any] | None:
    raw = redis_store.client.get(_step_key(account_id))
    return json.loads(raw) if raw else None


def forget_step(account_id: int) -> None:
    redis_store.client.delete(_step_key(account_id))
