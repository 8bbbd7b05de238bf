"""The organization's rules for every campaign: the opt-out phrases, the frequency cap of first
messages to one person, and the default send window new campaigns start with."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from app.blueprints.campaigns import audience, windows
from app.blueprints.campaigns.models import OutreachSettings
from app.blueprints.team.public import Membership, Permission, require
from app.errors import DomainError
from app.extensions import db

MAX_PHRASES = 50
MAX_PHRASE = 60


def _phrases(raw: Any) -> list[str]:
    lines = raw.splitlines() if isinstance(raw, str) else list(raw or [])
    phrases = list(dict.fromkeys(" ".join(str(p).split()) for p in lines if str(p).strip()))
    if not phrases:
        message = _("Keep at least one opt-out phrase.")
        raise DomainError(message, {"opt_out_phrases": message})
    if len(phrases) > MAX_PHRASES or any(len(p) > MAX_PHRASE for p in phrases):
        message = _("At most %(count)s phrases of at most %(length)s characters each.", count=MAX_PHRASES,
                    length=MAX_PHRASE)
        raise DomainError(message, {"opt_out_phrases": message})
    return phrases


def _whole(raw: Any, field: str, low: int, high: int) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        value = None
    if value is None or not low <= value <= high:
        message = _("A whole number from %(low)s to %(high)s.", low=low, high=high)
        raise DomainError(message, {field: message})
    return value


def update_settings(actor: Membership, data: dict[str, Any]) -> OutreachSettings:
    """Change the rules (managers and up); every field is checked before any is saved."""
    require(actor, Permission.CAMPAIGNS_MANAGE)
    phrases = _phrases(data.get("opt_out_phrases"))
    cap_messages = _whole(data.get("cap_messages"), "cap_messages", 1, 100)
    cap_days = _whole(data.get("cap_days"), "cap_days", 1, 365)
    try:
        given = data.get("default_window")
        window = windows.SendWindow.parse(given).to_json() if given else None
    except windows.WindowError as err:
        from app.blueprints.campaigns.service import WINDOW_ERRORS

        message = str(WINDOW_ERRORS.get(err.code, WINDOW_ERRORS["bad_time"]))
        raise DomainError(message, {f"window.{err.field}": message}) from None
    found = db.session.get(OutreachSettings, actor.org_id)
    if found is None:
        found = audience.settings_for(actor.org_id)
        db.session.add(found)
    found.opt_out_phrases = phrases
    found.cap_messages = cap_messages
    found.cap_days = cap_days
    found.default_window = window
    db.session.flush()
    return found
