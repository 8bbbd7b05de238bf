from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext
from flask_login import login_required

from app import audit
from app.blueprints.team import (  # live: realtime renderers; member_routes: the team page
    activity_routes,  # noqa: F401
    bp,
    live,  # noqa: F401
    member_routes,  # noqa: F401
    service,
)
from app.blueprints.team.forms import OrganizationForm
from app.blueprints.team.permissions import Permission, can, require
from app.canonical import timezone_label
from app.errors import DomainError, attach_to_form
from app.extensions import db
from app.htmx import render


@bp.before_request
@login_required
def signed_in() -> None:
    """Every settings page needs a signed-in member."""


@bp.route("/organization", methods=["GET", "POST"])
def organization():
    org = g.membership.organization
    form = OrganizationForm(obj=org)
    if form.validate_on_submit():
        given = {key: getattr(form, key).data for key in ("default_country", "default_currency")
                 if key in request.form}  # a post without one leaves it as it is
        try:
            # A checkbox left unticked is not sent: without it, MFA is not required.
            mfa_enabled = g.get("mfa_enabled") or (lambda: False)  # auth's answer (team cannot ask auth)
            service.update_organization(g.membership, name=form.name.data, timezone=form.timezone.data,
                                        require_mfa=form.require_mfa.data, actor_has_mfa=mfa_enabled(),
                                        ip=request.remote_addr, **given)
        except DomainError as err:
            db.session.rollback()
            attach_to_form(form, err)
        else:
            db.session.commit()
            flash(gettext("Organization saved."), "success")
            return redirect(url_for("team.organization"))
    status = 422 if form.is_submitted() else 200
    return render("team/organization.html", form=form, editable=can(g.membership.role,
                  Permission.ORG_UPDATE), country=service.country_name(org.default_country),
                  currency=service.default_currency(org.id), timezone=timezone_label(org.timezone),
                  status=status)


@bp.get("/audit")
def audit_log():
    """The audit log by member, event and UTC days, a page at a time; the filter form's HTMX requests
    get the ``audit_results`` block. Filters that are not valid are a 422 naming them."""
    require(g.membership, Permission.AUDIT_VIEW)
    try:
        query = service.audit_query(g.membership.org_id, request.args)
    except DomainError as err:
        return _audit_page(service.AuditQuery(), service.AuditPage(), err)
    return _audit_page(query, service.audit_log(g.membership, query))


def _audit_page(query: service.AuditQuery, page: service.AuditPage, err: DomainError | None = None):
    team = service.people(g.membership.org_id)
    return render("team/audit.html", block="audit_results", status=422 if err else 200, query=query,
                  page=page, values=request.args, errors=err.fields if err else {},
                  error=err.message if err else None, team=[(u.id, u.name) for u in team],
                  names={u.id: u.name for u in team},
                  actions=audit.ACTIONS, label=audit.label, details=audit.details)
