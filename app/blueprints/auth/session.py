"""Browser sessions: Flask-Login wiring and the membership each request acts through."""

from __future__ import annotations

from flask import Flask, g, redirect, request, session, url_for
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user

from app import audit, realtime
from app.blueprints.auth import browser_sessions, mfa, tokens
from app.blueprints.auth.models import User
from app.blueprints.auth.service import default_membership
from app.blueprints.team.public import Membership
from app.errors import is_htmx, respond_with_error, wants_json
from app.extensions import login

# What a member sent to set up MFA may still reach: the set-up itself, signing out, going to another
# of their organizations, the language switcher, the health checks (static files and the API are
# left alone before these are asked).
MFA_ENROLMENT_OPEN = frozenset({"auth.security", "auth.mfa_enable", "auth.sign_out",
                                "auth.switch_organization", "core.language", "core.healthz", "core.readyz",
                                "static"})


@login.user_loader
def load_user(token: str) -> User | None:
    """The user of the session cookie or the remember-me cookie, while their session is open."""
    signed_in = browser_sessions.load_signed_in(token)
    if signed_in is None:
        return None
    g.user_session_id = signed_in.session_id
    return signed_in.user


@login.unauthorized_handler
def unauthorized():
    if wants_json():
        return respond_with_error(401, "unauthorized", gettext("Sign in to use this endpoint."))
    target = url_for("auth.sign_in", next=request.full_path if request.method == "GET" else None)
    if is_htmx():
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def start_session(user: User, membership: Membership | None, remember: bool) -> None:
    """Sign ``user`` in with a brand-new session (nothing of the old cookie survives sign-in).

    The caller commits, before the response: the session row must exist when its cookie comes back.
    """
    session.clear()
    row = browser_sessions.open_session(user, ip=request.remote_addr,
                                        user_agent=request.headers.get("User-Agent"))
    login_user(user, remember=remember)
    g.user_session_id = row.id
    if membership is not None:
        session["org_id"] = membership.org_id


def end_session() -> None:
    """Sign this browser out: its session ends on the server too, so a copy of either cookie is
    worthless, and its open sockets close. The caller commits."""
    user_id = current_user.id if current_user.is_authenticated else None  # loads the session's id
    session_id = g.get("user_session_id")
    session.clear()
    logout_user()  # after clear: it leaves the order to delete the remember-me cookie in the session
    if session_id is not None:
        browser_sessions.end_session(session_id)
        realtime.close_sockets(user_id=user_id, session_id=session_id, code=realtime.CLOSE_SIGNED_OUT)


def end_other_session(user: User, session_id: int) -> None:
    """Sign out another of ``user``'s browsers. Raises NotFound unless it is theirs and open."""
    browser_sessions.end_session_of(user, session_id)
    realtime.close_sockets(user_id=user.id, session_id=session_id, code=realtime.CLOSE_SIGNED_OUT)
    _audit("auth.session_ended", user, session_id=session_id)


def end_other_sessions(user: User) -> None:
    """Sign ``user`` out of every other browser and every API sign-in, keeping this browser. The
    caller commits."""
    keep = g.get("user_session_id")
    ended = browser_sessions.end_other_sessions(user, keep)
    tokens.end_every_sign_in(user)
    for session_id in ended:
        realtime.close_sockets(user_id=user.id, session_id=session_id, code=realtime.CLOSE_SIGNED_OUT)
    _audit("auth.signed_out_others", user, sessions=len(ended))


def end_api_sign_in(user: User, family: str) -> None:
    """End one of ``user``'s API sign-ins. Raises NotFound unless it is theirs and open."""
    tokens.end_sign_in(user, family)
    _audit("auth.api_sign_in_ended", user, family=family)


def end_every_session(user: User) -> None:
    """Sign ``user`` out of every browser and API sign-in, this one included. The caller commits."""
    browser_sessions.end_every_session(user)
    realtime.close_sockets(user_id=user.id, code=realtime.CLOSE_SIGNED_OUT)
    _audit("auth.signed_out_everywhere", user)
    session.clear()
    logout_user()


def _audit(action: str, user: User, **detail) -> None:
    membership = g.get("membership")
    audit.record(action, org_id=membership.org_id if membership else None, actor_id=user.id, target=user,
                 ip=request.remote_addr, **detail)


def switch_org(membership: Membership) -> None:
    session["org_id"] = membership.org_id


def init_session_auth(app: Flask) -> None:
    login.login_view = "auth.sign_in"
    login.session_protection = "basic"

    @app.before_request
    def load_membership() -> None:
        if request.path.startswith(("/static/", "/api/")) or not current_user.is_authenticated:
            return
        membership = default_membership(current_user, session.get("org_id"))
        g.membership = membership
        if membership is not None and session.get("org_id") != membership.org_id:
            session["org_id"] = membership.org_id

    @app.before_request
    def send_to_mfa_enrolment():
        """A member whose organization requires MFA, and who has none, sets it up before anything
        else (``mfa.mfa_required_for`` says who). ``g.mfa_enabled()`` answers, for the signed-in
        user, whether they have it (asked only where needed: team's organization settings ask it
        before requiring MFA of everyone, which team cannot ask auth itself)."""
        if request.path.startswith(("/static/", "/api/")) or not current_user.is_authenticated:
            return None
        user = current_user._get_current_object()
        known: list[bool] = []

        def mfa_enabled() -> bool:
            if not known:
                known.append(mfa.enabled(user))
            return known[0]

        g.mfa_enabled = mfa_enabled
        if request.endpoint in MFA_ENROLMENT_OPEN or not mfa.mfa_required_for(g.get("membership")):
            return None
        if mfa_enabled():
            return None
        target = url_for("auth.security")
        if is_htmx():
            return "", 204, {"HX-Redirect": target}
        return redirect(target)
