"""Settings → Outreach: the rules every campaign of the organization follows."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.blueprints.campaigns import audience, outreach_settings
from app.blueprints.campaigns.labels import day_names
from app.blueprints.campaigns.service import DEFAULT_WINDOW
from app.blueprints.team.public import Permission, can
from app.errors import DomainError, Forbidden
from app.extensions import db
from app.htmx import render

bp = Blueprint("outreach_settings", __name__, url_prefix="/settings/outreach")
WEEKDAYS = range(1, 8)


@bp.before_request
@login_required
def signed_in() -> None:
    """The settings need a signed-in member."""


def _page(status: int = 200, **extra):
    found = audience.settings_for(g.membership.org_id)
    return render("campaigns/outreach_settings.html", status=status, settings=found,
                  window=found.default_window or DEFAULT_WINDOW, weekdays=WEEKDAYS, day_names=day_names(),
                  can_manage=can(g.membership.role, Permission.CAMPAIGNS_MANAGE), **extra)


@bp.get("")
def show():
    return _page()


@bp.post("")
def save():
    form = request.form
    data = {"opt_out_phrases": form.get("opt_out_phrases", ""), "cap_messages": form.get("cap_messages"),
            "cap_days": form.get("cap_days"),
            "default_window": {"days": [int(d) for d in form.getlist("days") if d.isdigit()],
                               "start": form.get("start", ""), "end": form.get("end", "")}}
    try:
        outreach_settings.update_settings(g.membership, data)
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden):
            raise
        return _page(status=422, error=err.message, errors=err.fields, data=form)
    db.session.commit()
    flash(_("Outreach settings saved."), "success")
    return redirect(url_for("outreach_settings.show"))
