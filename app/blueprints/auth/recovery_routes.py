"""Pages for proving an address and getting back in: the sign-up's "check your inbox", email
confirmation, and password reset by a mailed link."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, session, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user, login_required, logout_user

from app.blueprints.auth import bp, recovery, recovery_jobs
from app.blueprints.auth.recovery_forms import ForgotPasswordForm, ResetPasswordForm
from app.blueprints.auth.sign_in_flow import continue_sign_in
from app.errors import DomainError, attach_to_form
from app.extensions import db, limiter
from app.htmx import render
from app.integrations.mail import external_url

SENT_TO = "auth.mailed_to"  # the session key holding the address a "check your inbox" page names


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


def _submitted_email() -> str:
    return (request.form.get("email") or "").strip().lower() or request.remote_addr or "-"


@bp.get("/signup/sent")
def sign_up_sent():
    """What every sign-up is answered with: check your inbox (the same for an address that has
    an account: its owner was mailed instead)."""
    return render("auth/check_inbox.html", email=session.get(SENT_TO), reason="sign_up")


@bp.get("/verify/<token>")
def verify_email(token: str):
    """The link mailed at sign-up: the address is confirmed; a visitor whose first confirmation
    this is lands signed in (the link proved the inbox, the password was theirs to set)."""
    try:
        verified = recovery.verify_email(token, secret=_secret(), ip=request.remote_addr)
    except DomainError as err:
        db.session.rollback()
        flash(err.message, "error")
        return redirect(url_for("core.home" if current_user.is_authenticated else "auth.sign_in"))
    if current_user.is_authenticated and current_user.id != verified.user.id:
        db.session.commit()
        flash(_("That address is confirmed. You are signed in as someone else, so you stay so."), "success")
        return redirect(url_for("core.home"))
    if not current_user.is_authenticated:
        if not verified.first_time:
            db.session.commit()
            flash(_("Your address was confirmed already. Sign in to go on."), "success")
            return redirect(url_for("auth.sign_in"))
        # Through the same door as every sign-in: one who set up MFA meanwhile is asked for a code.
        response = continue_sign_in(verified.user, remember=False, next_url=None)
        db.session.commit()
        flash(_("Your email address is confirmed."), "success")
        return response
    db.session.commit()
    flash(_("Your email address is confirmed."), "success")
    return redirect(url_for("core.home"))


@bp.post("/verify/resend")
@login_required
@limiter.limit("5 per hour", key_func=lambda: f"verify:{current_user.id}")
def resend_verification():
    user = current_user._get_current_object()
    if user.email_verified:
        flash(_("Your address is confirmed already."), "success")
    else:
        recovery.send_verification(user, secret=_secret(), link=external_url)
        db.session.commit()
        flash(_("We sent a new confirmation link to %(email)s.", email=user.email), "success")
    return redirect(request.referrer if _same_site(request.referrer) else url_for("core.home"))


def _same_site(target: str | None) -> bool:
    return bool(target) and target.startswith(request.host_url)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
@limiter.limit("3 per hour", methods=["POST"], key_func=_submitted_email)
def forgot_password():
    """Ask for a reset link. The answer is the same whether the address has an account or not,
    in the same time: the lookup and the mail happen in a job."""
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        recovery_jobs.queue_password_reset(form.email.data.strip(), language=str(get_locale()),
                                           base=request.host_url)
        db.session.commit()
        session[SENT_TO] = form.email.data.strip()[:254]
        return redirect(url_for("auth.forgot_password_sent"))
    status = 422 if form.is_submitted() else 200
    return render("auth/forgot_password.html", form=form, status=status)


@bp.get("/password/forgot/sent")
def forgot_password_sent():
    return render("auth/check_inbox.html", email=session.get(SENT_TO), reason="reset")


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def reset_password(token: str):
    """Choose a new password through a mailed link; afterwards every session of the account is
    signed out, this browser included, and the person signs in with the new password."""
    try:
        user = recovery.user_for_reset(token, _secret())
    except DomainError as err:
        return render("auth/reset_password.html", form=None, error=err.message, status=410)
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            recovery.reset_password(token, form.password.data, secret=_secret(), link=external_url,
                                    ip=request.remote_addr)
        except DomainError as err:
            db.session.rollback()
            attach_to_form(form, err)
        else:
            db.session.commit()
            session.clear()
            logout_user()
            flash(_("Your password is changed and every session signed out. Sign in with the new one."),
                  "success")
            return redirect(url_for("auth.sign_in", email=user.email))
    status = 422 if form.is_submitted() else 200
    return render("auth/reset_password.html", form=form, email=user.email, error=None, status=status)
