from __future__ import annotations

from urllib.parse import urlsplit

from flask import redirect, request, url_for
from flask_login import current_user, login_required

from app.blueprints.auth import bp, service
from app.blueprints.auth.forms import SignInForm, SignUpForm
from app.blueprints.auth.session import end_session, start_session
from app.errors import DomainError, attach_to_form
from app.extensions import db, limiter
from app.htmx import render


def _submitted_email() -> str:
    return (request.form.get("email") or "").strip().lower() or request.remote_addr or "-"


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect after sign-in is a phishing tool."""
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("core.home")


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@limiter.limit("5 per hour", methods=["POST"], key_func=_submitted_email)
def sign_up():
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            result = service.sign_up(email=form.email.data, password=form.password.data,
                                     name=form.name.data, organization_name=form.organization.data,
                                     ip=request.remote_addr)
        except DomainError as err:
            db.session.rollback()
            attach_to_form(form, err)
        else:
            db.session.commit()
            start_session(result.user, result.membership, remember=False)
            return redirect(url_for("core.home"))
    status = 422 if form.is_submitted() else 200
    return render("auth/sign_up.html", form=form, status=status)


@bp.route("/signin", methods=["GET", "POST"])
@limiter.limit("30 per minute;200 per hour", methods=["POST"])
@limiter.limit("10 per minute", methods=["POST"], key_func=_submitted_email)
def sign_in():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = SignInForm()
    if form.validate_on_submit():
        try:
            user = service.authenticate(email=form.email.data, password=form.password.data,
                                        ip=request.remote_addr)
        except DomainError as err:
            db.session.commit()  # the failed attempt stays in the audit log
            attach_to_form(form, err)
        else:
            membership = service.default_membership(user)
            db.session.commit()
            start_session(user, membership, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
    status = 422 if form.is_submitted() else 200
    return render("auth/sign_in.html", form=form, status=status)


@bp.post("/signout")
@login_required
def sign_out():
    end_session()
    return redirect(url_for("auth.sign_in", signed_out=1))
