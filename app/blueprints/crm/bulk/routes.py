"""Bulk actions on selected rows (or every row matching the filter), their progress, and merge."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import abort, flash, g, redirect, request, url_for
from flask_babel import gettext as _

from app.blueprints.crm import bp
from app.blueprints.crm.bulk import jobs as bulk_jobs
from app.blueprints.crm.bulk import service as bulk_service
from app.blueprints.crm.deal_stages import keeper as stage_keeper
from app.blueprints.crm.models import Entity
from app.blueprints.crm.records import queries, service
from app.blueprints.crm.records.forms import build_inputs
from app.blueprints.crm.records.list_routes import ENTITY_PATH
from app.blueprints.crm.records.page_context import count_of, entity_of, list_context
from app.blueprints.crm.records.queries import ListQuery
from app.blueprints.team.public import people
from app.errors import DomainError, Forbidden, NotFound, toast_header
from app.extensions import db
from app.htmx import render

VALUE_FIELDS = {"assign": "to_owner", "add_tag": "tag_name", "remove_tag": "tag_name",
                "move_stage": "to_stage"}


def _selected_ids(entity: str, query: ListQuery) -> list[int]:
    if request.form.get("all") == "1":
        return queries.matching_ids(g.membership.org_id, entity, query)
    return [int(i) for i in request.form.getlist("ids") if i.isdigit()]


def _value_label(action: str, value: str | None) -> str | None:
    if action == "assign":
        names = {str(u.id): u.name for u in people(g.membership.org_id)}
        return names.get(str(value or ""))  # None: nobody
    if action == "move_stage" and value:
        try:
            return stage_keeper().find(g.membership.org_id, value).name
        except ValueError:
            return value
    return value


def _results(entities: str, query: ListQuery, status: int = 200, toast: str | None = None,
             error: str | None = None, **extra):
    response = render("crm/list.html", block="results", status=status, toast=toast,
                      **list_context(g.membership.org_id, entities, query), **extra)
    if error:
        response.headers["HX-Trigger"] = toast_header(error, "error")
    return response


@bp.post(f"/{ENTITY_PATH}/bulk")
def bulk(entities: str):
    """Apply one action to the selection; above BACKGROUND_AT rows it becomes a job with progress."""
    entity = entity_of(entities)
    query = ListQuery.from_args(request.form)
    action = request.form.get("action", "")
    ids = _selected_ids(entity, query)
    if action == "merge":
        return "", 204, {"HX-Redirect": url_for("crm.merge") + "?" + urlencode({"ids": ids}, doseq=True)}
    value = request.form.get(VALUE_FIELDS[action]) if action in VALUE_FIELDS else None
    if not ids:
        return _results(entities, query, status=422, error=_("Select at least one row first."))
    label = _value_label(action, value)
    try:
        if len(ids) > bulk_jobs.BACKGROUND_AT:
            job_id = bulk_jobs.start(g.membership, entity, action, ids, value, label)
            db.session.commit()
            return _results(entities, query, progress=bulk_jobs.progress(g.membership.org_id, job_id))
        changed = bulk_service.bulk(g.membership, entity, action, ids, value)
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden | NotFound):
            raise
        return _results(entities, query, status=422, error=err.message)
    db.session.commit()
    message = bulk_jobs.summary(entity, action, changed, label)
    undo = {"entities": entities, "ids": ids, "message": message} if action == "delete" else None
    return _results(entities, query, toast=message, undo=undo)


@bp.get(f"/{ENTITY_PATH}/bulk/progress")
def bulk_progress(entities: str):
    progress = bulk_jobs.progress(g.membership.org_id, request.args.get("job", ""))
    if progress is None:
        abort(404)
    return render("crm/_bulk_progress.html", block="bulk_progress", entities=entities, progress=progress)


@bp.route("/contacts/merge", methods=["GET", "POST"])
def merge():
    """GET: which contact survives and what it keeps; POST: fold the others into it."""
    if request.method == "POST":
        keep = request.form.get("keep", "")
        others = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
        if not keep.isdigit():
            abort(400)
        contact = service.merge_contacts(g.membership, int(keep), others)
        db.session.commit()
        merged = count_of(Entity.CONTACT, len(set(others) - {contact.id}))
        flash(_("Merged %(count)s into %(name)s.", count=merged, name=contact.name), "success")
        return redirect(url_for("crm.detail", entities="contacts", record_id=contact.id))
    ids = list(dict.fromkeys(int(i) for i in request.args.getlist("ids") if i.isdigit()))
    if len(ids) < 2:
        flash(_("Select two or more contacts to merge."), "info")
        return redirect(url_for("crm.contacts"))
    records = [service.get_record(g.membership.org_id, Entity.CONTACT, i) for i in ids[:10]]
    custom = service.custom_fields(g.membership.org_id, Entity.CONTACT)
    members = people(g.membership.org_id)
    values = [build_inputs(Entity.CONTACT, custom, record=r, members=members) for r in records]
    for inputs in values:  # show what people read (the owner's name, a zone's), not what the form posts
        for item in inputs:
            if item.kind in ("owner", "select"):
                item.value = dict(item.choices).get(item.value, item.value)
            elif item.kind == "checkbox":
                item.value = _("Yes") if item.value else ""
    rows = [(item.label, [v[n].value for v in values])
            for n, item in enumerate(build_inputs(Entity.CONTACT, custom))]
    return render("crm/contacts/merge.html", records=records, rows=rows)
