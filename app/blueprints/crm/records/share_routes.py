"""A contact page's "Shared with" card: sharing with teammates and taking them off. An HTMX
request gets the card (and the timeline, out of band: it says who shared with whom); a plain
form post goes back to the page."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from jinja2_fragments.flask import render_block

from app.blueprints.crm import bp
from app.blueprints.crm.models import Entity
from app.blueprints.crm.records import service, sharing
from app.blueprints.crm.records.record_routes import detail_context
from app.canonical import id_or_none
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.htmx import is_partial_request, render
from app.realtime import oob


@bp.post("/contacts/<int:record_id>/shares")
def share_contact(record_id: int):
    chosen = request.form.getlist("user_ids")
    try:
        shared = sharing.share_contact(g.membership, record_id, chosen, ip=request.remote_addr)
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden | NotFound):
            raise
        return _card(record_id, status=422, error=err.fields.get("user_ids", err.message), chosen=chosen)
    db.session.commit()
    return _card(record_id, toast=_("Contact shared.") if shared else _("Nothing changed."))


@bp.post("/contacts/<int:record_id>/shares/remove")
def unshare_contact(record_id: int):
    user_id = id_or_none(request.form.get("user_id"))
    removed = user_id is not None and sharing.unshare_contact(g.membership, record_id, user_id,
                                                              ip=request.remote_addr)
    db.session.commit()
    return _card(record_id, toast=_("No longer shared.") if removed else _("Nothing changed."))


def _card(record_id: int, status: int = 200, error: str | None = None, chosen: list[str] | None = None,
          toast: str | None = None):
    """The card (HTMX), or back to the page with the toast as a flash; a refused plain post
    redraws the page with the card saying why (422)."""
    record = service.get_record(g.membership.org_id, Entity.CONTACT, record_id)
    if error is None and not is_partial_request():
        flash(toast or "", "success")
        return redirect(url_for("crm.detail", entities="contacts", record_id=record_id))
    card = sharing.panel(g.membership, record, error, chosen or ())
    context = detail_context("contacts", record, sharing=card)
    response = render("crm/record.html", block="shared_with", status=status, toast=toast, **context)
    if error is None:
        response.set_data(response.get_data(as_text=True) + oob(render_block("crm/record.html", "timeline",
                                                                             **context)))
    return response
