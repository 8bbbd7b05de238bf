from __future__ import annotations

import re

from flask import flash, g, redirect, request, session, url_for
from flask_babel import get_locale, refresh
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.blueprints.auth import (  # recovery_routes: its views register on bp
    bp,
    browser_sessions,
    invitation_routes,  # noqa: F401 - its views register on bp
    recovery,
    recovery_jobs,
    recovery_routes,
    service,
    settings_route,
    tokens,
)
from app.blueprints.auth.forms import NewOrganizationForm, ProfileForm, SignInForm, SignUpForm
from app.blueprints.auth.oauth_routes import sign_in_providers
from app.blueprints.auth.session import (
    end_every_session,
    end_other_session,
    end_session,
    switch_org,
)
from app.blueprints.auth.sign_in_flow import continue_sign_in, safe_next
from app.blueprints.team import public as team
from app.errors import DomainError, NotFound, attach_to_form
from app.extensions import db, limiter
from app.htmx import render


def _submitted_email() -> str:
    return (request.form.get("email") or "").strip().lower() or request.remote_addr or "-"


def _language_region() -> str | None:
    """The region of the browser's first language ("ru-RU" -> "RU"): the country guess of a
    sign-up whose page ran no script (htmx's boosted navigation runs none, and JS may be off)."""
    first = next(iter(request.accept_languages.values()), "")
    match = re.fullmatch(r"[a-z]{2,3}(?:[-_][a-z]{4})?[-_]([a-z]{2})", first, re.IGNORECASE)
    return match.group(1).upper() if match else None


@bp.route("/signup", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
@limiter.limit("5 per hour", methods=["POST"], key_func=_submitted_email)
def sign_up():
    """Every valid sign-up is answered the same, in the same time: "check your inbox". A job
    makes the account and mails its confirmation link, or mails the owner of an address that
    has one (``recovery``), so the form tells nobody which addresses are registered."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            asked = recovery.check_sign_up(email=form.email.data, password=form.password.data,
                                           name=form.name.data, organization_name=form.organization.data,
                                           language=str(get_locale()),
                                           country=form.country.data or _language_region())
        except DomainError as err:
            attach_to_form(form, err)
        else:
            recovery_jobs.queue_sign_up(asked, ip=request.remote_addr, base=request.host_url)
            db.session.commit()
            session[recovery_routes.SENT_TO] = asked.email
            return redirect(url_for("auth.sign_up_sent"))
    status = 422 if form.is_submitted() else 200
    return render("auth/sign_up.html", form=form, status=status)


@bp.route("/signin", methods=["GET", "POST"])
@limiter.limit("30 per minute;200 per hour", methods=["POST"])
@limiter.limit("10 per minute", methods=["POST"], key_func=_submitted_email)
def sign_in():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = SignInForm()
    if form.validate_on_submit():
        try:
            user = service.authenticate(email=form.email.data, password=form.password.data,
                                        ip=request.remote_addr)
        except DomainError as err:
            db.session.commit()  # the failed attempt stays in the audit log
            attach_to_form(form, err)
        else:
            response = continue_sign_in(user, remember=form.remember.data, next_url=request.args.get("next"))
            db.session.commit()
            return response
    status = 422 if form.is_submitted() else 200
    return render("auth/sign_in.html", form=form, status=status, providers=sign_in_providers())


@bp.post("/signout")
@login_required
def sign_out():
    end_session()
    db.session.commit()
    return redirect(url_for("auth.sign_in", signed_out=1))


@bp.post("/signout-everywhere")
@login_required
def sign_out_everywhere():
    end_every_session(current_user._get_current_object())
    db.session.commit()
    return redirect(url_for("auth.sign_in", signed_out="everywhere"))


@bp.get("/sessions")
@login_required
def sessions():
    current_id = g.get("user_session_id")
    return render("auth/sessions.html", current_id=current_id,
                  sessions=browser_sessions.open_sessions(current_user, first_id=current_id),
                  api_sign_ins=tokens.open_sign_ins(current_user))


@bp.post("/sessions/<int:session_id>/end")
@login_required
def end_one_session(session_id: int):
    if session_id == g.get("user_session_id"):
        return sign_out()
    end_other_session(current_user._get_current_object(), session_id)
    db.session.commit()
    flash(_("That session is signed out."), "success")
    return redirect(url_for("auth.sessions"))


# -- your organizations: the ones you are in, a new one, and switching (at /settings/organizations) --

@settings_route("/organizations", methods=["GET"])
@login_required
def organizations():
    return render("auth/organizations.html", memberships=current_user.memberships,
                  form=NewOrganizationForm())


@settings_route("/organizations", methods=["POST"])
@login_required
def create_organization():
    form = NewOrganizationForm()
    if form.validate_on_submit():
        try:
            current = g.get("membership")  # its phone numbers' country is likely the new one's too
            membership = team.create_organization(
                owner=current_user, name=form.name.data, ip=request.remote_addr,
                default_country=current.organization.default_country if current else None)
        except DomainError as err:
            db.session.rollback()
            attach_to_form(form, err)
        else:
            db.session.commit()
            switch_org(membership)
            flash(_("Created %(name)s. You are its owner.", name=membership.organization.name), "success")
            return redirect(url_for("core.home"))
    return render("auth/organizations.html", memberships=current_user.memberships, form=form,
                  status=422)


@settings_route("/organizations/<int:org_id>/switch", methods=["POST"])
@login_required
def switch_organization(org_id: int):
    membership = team.membership_for(current_user, org_id)
    if membership is None:
        raise NotFound(_("Organization not found."))
    switch_org(membership)
    return redirect(url_for("core.home"))


# -- your profile: your name and the language you read the app in (at /settings/profile) --

@settings_route("/profile", methods=["GET", "POST"])
@login_required
def profile():
    user = current_user._get_current_object()
    form = ProfileForm(name=user.name, language=user.language or "", timezone=user.timezone or "")
    if form.validate_on_submit():
        try:
            service.update_profile(user, name=form.name.data, language=form.language.data or None,
                                   timezone=form.timezone.data or None)
        except DomainError as err:
            db.session.rollback()
            attach_to_form(form, err)
        else:
            db.session.commit()
            refresh()  # the answer is in the language just chosen
            flash(_("Profile saved."), "success")
            return redirect(url_for("auth.profile"))
    status = 422 if form.is_submitted() else 200
    return render("auth/profile.html", form=form, status=status)
