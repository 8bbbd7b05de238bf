"""Settings: the organization's custom fields on contacts, companies and deals."""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _

from app.blueprints.crm import bp
from app.blueprints.crm.custom_fields.service import create_custom_field, delete_custom_field
from app.blueprints.crm.models import CustomFieldKind, Entity
from app.blueprints.crm.records import service
from app.blueprints.team.public import Permission, can
from app.errors import DomainError, Forbidden
from app.extensions import db
from app.htmx import render


def _page(status: int = 200, **extra):
    org_id = g.membership.org_id
    return render("crm/custom_fields/index.html", status=status,
                  fields_by_entity={e.value: service.custom_fields(org_id, e.value) for e in Entity},
                  kinds=[k.value for k in CustomFieldKind],
                  manageable=can(g.membership.role, Permission.ORG_UPDATE), **extra)


@bp.route("/settings/custom-fields", methods=["GET", "POST"])
def custom_fields():
    if request.method == "GET":
        return _page(data={})
    try:
        field = create_custom_field(g.membership, request.form.get("entity", ""),
                                    request.form.get("label", ""), request.form.get("kind", ""),
                                    request.form.get("options", ""))
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden):
            raise
        return _page(status=422, data=request.form, errors=err.fields, message=err.message)
    db.session.commit()
    flash(_("Added the field %(name)s.", name=field.label), "success")
    return redirect(url_for("crm.custom_fields"))


@bp.post("/settings/custom-fields/<int:field_id>/delete")
def delete_custom_field_page(field_id: int):
    field = delete_custom_field(g.membership, field_id)
    db.session.commit()
    flash(_("Removed the field %(name)s. Values already entered are kept.", name=field.label), "success")
    return redirect(url_for("crm.custom_fields"))
