"""A signed-in person who belongs to no organization (they left their last one, or were removed
from it) has no workspace to show: every page sends them here, to start an organization of their
own or open an invitation's link; signing out, their language and the links mailed to them still
work."""

from __future__ import annotations

from flask import Flask, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from app.blueprints.auth import bp
from app.blueprints.auth.forms import NewOrganizationForm
from app.blueprints.auth.session import switch_org
from app.blueprints.team import public as team
from app.errors import DomainError, attach_to_form, is_htmx
from app.extensions import db
from app.htmx import render

# What works without an organization: this page, leaving, the language, the links mailed to them.
WITHOUT_ORGANIZATION = {"auth.no_organization", "auth.sign_out", "auth.sign_out_everywhere",
                        "auth.accept_invitation", "auth.verify_email", "auth.resend_verification",
                        "core.language", "core.index", "core.healthz", "core.readyz", "static"}


@bp.route("/no-organization", methods=["GET", "POST"])
@login_required
def no_organization():
    if g.get("membership") is not None:
        return redirect(url_for("core.home"))
    form = NewOrganizationForm()
    if form.validate_on_submit():
        try:
            membership = team.create_organization(owner=current_user, name=form.name.data,
                                                  ip=request.remote_addr)
        except DomainError as err:
            db.session.rollback()
            attach_to_form(form, err)
        else:
            db.session.commit()
            switch_org(membership)
            flash(_("Created %(name)s. You are its owner.", name=membership.organization.name), "success")
            return redirect(url_for("core.home"))
    return render("auth/no_organization.html", form=form, status=422 if form.is_submitted() else 200)


def init_no_organization(app: Flask) -> None:
    @app.before_request
    def send_to_no_organization():
        if (request.path.startswith(("/static/", "/api/")) or not current_user.is_authenticated
                or g.get("membership") is not None or request.endpoint in WITHOUT_ORGANIZATION
                or request.path == "/ws"):
            return None
        target = url_for("auth.no_organization")
        return ("", 204, {"HX-Redirect": target}) if is_htmx() else redirect(target)
