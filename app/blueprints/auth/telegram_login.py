"""Telegram Login (https://core.telegram.org/widgets/login): checking what the widget sends back.

The widget sends the person's Telegram id, names, username, photo, the time they signed in
(``auth_date``) and ``hash``: the HMAC-SHA256, keyed with SHA-256 of our bot's token, of every other
field as ``key=value`` lines sorted by key (the data-check-string). Data whose hash does not match
was not signed by Telegram for our bot; data older than a day is refused, and a signed answer is
accepted once (a link copied from the address bar or a log must not sign in again).

Flask-free: callers pass the fields received and the bot's token.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from flask_babel import gettext as _

from app.blueprints.auth.oauth import ProviderIdentity
from app.errors import Unauthorized
from app.extensions import redis_store

MAX_AGE_SECONDS = 24 * 60 * 60
CLOCK_SKEW_SECONDS = 5 * 60  # an auth_date this far ahead of our clock is still believed
MAX_FIELD = 512


def data_check_string(fields: Mapping[str, str]) -> str:
    """Every field but ``hash``, as ``key=value`` lines in the order of their keys."""
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def signature(fields: Mapping[str, str], bot_token: str) -> str:
    secret = hashlib.sha256(bot_token.encode()).digest()
    return hmac.new(secret, data_check_string(fields).encode(), hashlib.sha256).hexdigest()


def verify(fields: Mapping[str, str], bot_token: str, *, now: float | None = None) -> ProviderIdentity:
    """The Telegram identity the widget's ``fields`` sign in (only Telegram's own fields: the
    caller leaves out anything of ours). Raises Unauthorized for data not signed for our bot, too
    old (a day), or already used."""
    now = time.time() if now is None else now
    refused = Unauthorized(_("Telegram could not confirm this sign-in. Try again."))
    given = fields.get("hash") or ""
    if (not given or not fields.get("id", "").isdigit() or not fields.get("auth_date", "").isdigit()
            or any(len(value) > MAX_FIELD for value in fields.values())):
        raise refused
    if not hmac.compare_digest(signature(fields, bot_token), given.lower()):
        raise refused
    signed_at = int(fields["auth_date"])
    if now - signed_at > MAX_AGE_SECONDS or signed_at - now > CLOCK_SKEW_SECONDS:
        raise Unauthorized(_("That Telegram sign-in is too old. Sign in with Telegram again."))
    if not redis_store.client.set(f"auth:telegram-login:{given.lower()}", 1, nx=True,
                                  ex=MAX_AGE_SECONDS + CLOCK_SKEW_SECONDS):
        raise refused
    name = " ".join(p for p in (fields.get("first_name"), fields.get("last_name")) if p).strip() or None
    username = fields.get("username")
    return ProviderIdentity(provider="telegram", subject=fields["id"], name=name,
                            display=f"@{username}" if username else name)
