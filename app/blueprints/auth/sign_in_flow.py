"""Finishing a sign-in once its first factor is verified (a password, Google, GitHub, Telegram).

Every sign-in path ends in ``continue_sign_in``: a user without MFA gets their session at once; a
user with MFA gets none yet. A pending sign-in (who, remember me, where to go next, and when it
expires) waits in the Flask session for the code page (``/auth/mfa``), which calls
``finish_pending_sign_in`` once the second factor is right.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from flask import current_app, redirect, session, url_for
from werkzeug.wrappers import Response

from app.blueprints.auth import mfa
from app.blueprints.auth.models import User
from app.blueprints.auth.service import default_membership
from app.blueprints.auth.session import start_session
from app.extensions import db

PENDING_KEY = "mfa_pending"
PENDING_SECONDS = 5 * 60


def mfa_keys() -> mfa.MfaKeys:
    return mfa.MfaKeys(tuple(current_app.config["SETTINGS"].session_keys))


def safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after sign-in is a phishing tool."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("core.home")


def continue_sign_in(user: User, *, remember: bool, next_url: str | None) -> Response:
    """Sign ``user``, whose first factor is verified, in, or ask for their second factor first.

    Returns the redirect to follow; the caller commits before returning it (a new session's row
    must exist when its cookie comes back).
    """
    target = safe_next(next_url)
    if mfa.enabled(user):
        session.pop(PENDING_KEY, None)
        session[PENDING_KEY] = {"user_id": user.id, "epoch": user.session_epoch, "remember": bool(remember),
                                "next": target, "expires": int(time.time()) + PENDING_SECONDS}
        return redirect(url_for("auth.mfa_challenge"))
    start_session(user, default_membership(user), remember=remember)
    return redirect(target)


def pending_sign_in() -> tuple[User, dict] | None:
    """The user waiting for their second factor in this browser, and the sign-in's details; None
    (and the pending sign-in forgotten) when there is none, it expired, or the user signed out
    everywhere since."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    user = db.session.get(User, pending.get("user_id")) if isinstance(pending.get("user_id"), int) else None
    if user is None or pending.get("expires", 0) < time.time() or pending.get("epoch") != user.session_epoch:
        session.pop(PENDING_KEY, None)
        return None
    return user, pending


def finish_pending_sign_in(user: User, pending: dict) -> Response:
    """Start the session the pending sign-in waited for (its second factor is right). The caller
    commits."""
    start_session(user, default_membership(user), remember=bool(pending.get("remember")))
    return redirect(safe_next(pending.get("next")))
