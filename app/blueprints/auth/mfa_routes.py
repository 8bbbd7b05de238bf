"""Two-factor authentication pages: the code a sign-in asks for (``/auth/mfa``), and setting it up,
renewing its recovery codes or turning it off (``/settings/security``)."""

from __future__ import annotations

import segno
from flask import flash, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from markupsafe import Markup

from app.blueprints.auth import bp, mfa, settings_route
from app.blueprints.auth.forms import MfaCodeForm
from app.blueprints.auth.models import User
from app.blueprints.auth.service import default_membership
from app.blueprints.auth.sign_in_flow import (
    PENDING_KEY,
    finish_pending_sign_in,
    mfa_keys,
    pending_sign_in,
)
from app.errors import DomainError, attach_to_form
from app.extensions import db, limiter
from app.htmx import render

CODE_LIMIT = "10 per minute"


def _pending_user_key() -> str:
    pending = session.get(PENDING_KEY)
    user_id = pending.get("user_id") if isinstance(pending, dict) else None
    return f"mfa-user:{user_id}" if isinstance(user_id, int) else request.remote_addr or "-"


def _user_key() -> str:
    return f"mfa-user:{current_user.id}" if current_user.is_authenticated else request.remote_addr or "-"


def _org_id(user: User) -> int | None:
    membership = g.get("membership") or default_membership(user)
    return membership.org_id if membership else None


@bp.route("/mfa", methods=["GET", "POST"])
@limiter.limit(CODE_LIMIT, methods=["POST"])
@limiter.limit(CODE_LIMIT, methods=["POST"], key_func=_pending_user_key)
def mfa_challenge():
    """The second step of a sign-in: a code from the authenticator app, or a recovery code."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    had_pending = PENDING_KEY in session
    found = pending_sign_in()
    if found is None:
        if had_pending:
            flash(_("That sign-in waited too long for its code. Sign in again."), "info")
        return redirect(url_for("auth.sign_in"))
    user, pending = found
    form = MfaCodeForm()
    if form.validate_on_submit():
        try:
            mfa.verify(user, form.code.data, mfa_keys(), ip=request.remote_addr, org_id=_org_id(user))
        except DomainError as err:
            db.session.commit()  # the failure stays counted and in the audit log
            attach_to_form(form, err)
        else:
            response = finish_pending_sign_in(user, pending)
            db.session.commit()
            return response
    return render("auth/mfa_challenge.html", form=form, status=422 if form.is_submitted() else 200)


# -- your two-factor authentication (at /settings/security) ------------------------------------------

def qr_svg(uri: str) -> Markup:
    """The provisioning URI as an inline SVG QR code (no image request, nothing for the CSP)."""
    svg = segno.make(uri, error="m").svg_inline(scale=5, border=2, light="#fff", svgclass="mfa-qr",
                                                title=_("QR code for your authenticator app"))
    return Markup(svg)  # noqa: S704 - segno's own markup of our own URI


def _enrol_page(user: User, form: MfaCodeForm, status: int = 200):
    enrolment = mfa.start_enrolment(user, mfa_keys())
    db.session.commit()  # the secret shown is the one a code is later checked against
    forced = mfa.mfa_required_for(g.get("membership"))
    return render("auth/mfa_enrol.html", form=form, enrolment=enrolment, qr=qr_svg(enrolment.uri),
                  forced=forced, status=status)


@settings_route("/security", methods=["GET"])
@login_required
def security():
    user = current_user._get_current_object()
    if mfa.enabled(user):
        return _manage_page(user)
    return _enrol_page(user, MfaCodeForm())


def _manage_page(user: User, failed: MfaCodeForm | None = None):
    """Two forms, each asking a fresh code: new recovery codes, and turning MFA off; ``failed`` is
    the one sent back with its errors."""
    forms = {prefix: failed if failed is not None and failed._prefix == f"{prefix}-"
             else MfaCodeForm(prefix=prefix, formdata=None) for prefix in ("renew", "disable")}
    return render("auth/mfa_manage.html", renew_form=forms["renew"], disable_form=forms["disable"],
                  left=mfa.recovery_codes_left(user), status=422 if failed is not None else 200)


@settings_route("/security/totp", methods=["POST"])
@login_required
@limiter.limit(CODE_LIMIT, key_func=_user_key)
def mfa_enable():
    user = current_user._get_current_object()
    form = MfaCodeForm()
    if form.validate_on_submit():
        try:
            codes = mfa.confirm_enrolment(user, form.code.data, mfa_keys(), ip=request.remote_addr,
                                          org_id=_org_id(user))
        except DomainError as err:
            db.session.commit()
            attach_to_form(form, err)
        else:
            db.session.commit()
            return render("auth/mfa_recovery_codes.html", codes=codes, enabled_now=True)
    return _enrol_page(user, form, status=422)


@settings_route("/security/recovery-codes", methods=["POST"])
@login_required
@limiter.limit(CODE_LIMIT, key_func=_user_key)
def mfa_recovery_codes():
    user = current_user._get_current_object()
    form = MfaCodeForm(prefix="renew")
    if form.validate_on_submit():
        try:
            codes = mfa.renew_recovery_codes(user, form.code.data, mfa_keys(), ip=request.remote_addr,
                                             org_id=_org_id(user))
        except DomainError as err:
            db.session.commit()
            attach_to_form(form, err)
        else:
            db.session.commit()
            return render("auth/mfa_recovery_codes.html", codes=codes, enabled_now=False)
    return _manage_page(user, failed=form)


@settings_route("/security/disable", methods=["POST"])
@login_required
@limiter.limit(CODE_LIMIT, key_func=_user_key)
def mfa_disable():
    user = current_user._get_current_object()
    form = MfaCodeForm(prefix="disable")
    if form.validate_on_submit():
        try:
            mfa.disable(user, form.code.data, mfa_keys(), ip=request.remote_addr, org_id=_org_id(user))
        except DomainError as err:
            db.session.commit()
            attach_to_form(form, err)
        else:
            db.session.commit()
            flash(_("Two-factor authentication is off."), "success")
            return redirect(url_for("auth.security"))
    return _manage_page(user, failed=form)
