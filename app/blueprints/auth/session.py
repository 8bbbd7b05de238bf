"""Browser sessions: Flask-Login wiring and the membership each request acts through."""

from __future__ import annotations

import secrets

from flask import Flask, g, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.blueprints.auth.models import User
from app.blueprints.auth.service import default_membership
from app.blueprints.team.models import Membership
from app.errors import is_htmx, respond_with_error, wants_json
from app.extensions import db, login


@login.user_loader
def load_user(token: str) -> User | None:
    user_id, _, epoch = token.partition(":")
    if not user_id.isdigit() or not epoch.isdigit():
        return None
    # One statement: the user, their memberships and organizations (every page shows them).
    user = db.session.scalars(select(User).where(User.id == int(user_id))
                              .options(joinedload(User.memberships))).unique().first()
    if user is None or user.session_epoch != int(epoch):
        return None  # signed out everywhere, or the password changed, since this cookie was issued
    return user


@login.unauthorized_handler
def unauthorized():
    if wants_json():
        return respond_with_error(401, "unauthorized", "Sign in to use this endpoint.")
    target = url_for("auth.sign_in", next=request.full_path if request.method == "GET" else None)
    if is_htmx():
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def start_session(user: User, membership: Membership | None, remember: bool) -> None:
    """Sign ``user`` in with a brand-new session (the old session id never survives sign-in)."""
    session.clear()
    login_user(user, remember=remember)
    session["sid"] = secrets.token_urlsafe(16)
    if membership is not None:
        session["org_id"] = membership.org_id


def end_session() -> None:
    logout_user()
    session.clear()


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
