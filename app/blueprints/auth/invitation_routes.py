"""The page an invitation's link opens: join as a new person (name and password), sign in to
join with the account the address has, or join at once when signed in as that address."""

from __future__ import annotations

from flask import current_app, flash, redirect, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from app.blueprints.auth import bp, joining
from app.blueprints.auth.recovery_forms import AcceptInvitationForm
from app.blueprints.auth.session import start_session, switch_org
from app.errors import DomainError, attach_to_form
from app.extensions import db, limiter
from app.htmx import render


def _secret() -> str:
    return current_app.config["SECRET_KEY"]


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def accept_invitation(token: str):
    try:
        found = joining.invited(token, _secret())
    except DomainError as err:
        return render("auth/invitation.html", error=err.message, status=410)
    invitation = found.invitation
    signed_in = current_user.is_authenticated
    form = AcceptInvitationForm()
    if request.method == "POST":
        try:
            if signed_in:
                membership = joining.join_with_account(token, _secret(), current_user._get_current_object(),
                                                       ip=request.remote_addr)
            elif form.validate_on_submit():
                membership = joining.join_as_new_person(token, _secret(), name=form.name.data,
                                                        password=form.password.data,
                                                        language=str(get_locale()), ip=request.remote_addr)
            else:
                membership = None
        except DomainError as err:
            db.session.rollback()
            attach_to_form(form, err)
            return render("auth/invitation.html", invitation=invitation, account=found.account, form=form,
                          error=None if form.errors else err.message, status=err.status)
        if membership is not None:
            if not signed_in:
                start_session(membership.user, membership, remember=False)
            db.session.commit()
            switch_org(membership)
            flash(_("Welcome to %(org)s.", org=membership.organization.name), "success")
            return redirect(url_for("core.home"))
    status = 422 if form.errors else 200
    return render("auth/invitation.html", invitation=invitation, account=found.account, form=form,
                  error=None, status=status)
