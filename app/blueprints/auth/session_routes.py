"""The "Your sessions" page's actions beyond signing out one browser: ending an API sign-in, and
signing out everything but this browser."""

from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.blueprints.auth import bp
from app.blueprints.auth.session import end_api_sign_in, end_other_sessions
from app.errors import NotFound
from app.extensions import db


@bp.post("/sessions/api/end")
@login_required
def end_one_api_sign_in():
    """End the API sign-in (token family) the form names: its tokens stop working at once."""
    family = (request.form.get("family") or "").strip()
    if not family or len(family) > 64:
        raise NotFound(_("That sign-in has already ended."))
    end_api_sign_in(current_user._get_current_object(), family)
    db.session.commit()
    flash(_("That API sign-in is ended."), "success")
    return redirect(url_for("auth.sessions"))


@bp.post("/sessions/end-others")
@login_required
def sign_out_other_sessions():
    end_other_sessions(current_user._get_current_object())
    db.session.commit()
    flash(_("Every other session is signed out. This browser stays signed in."), "success")
    return redirect(url_for("auth.sessions"))
