"""One record's pages: detail with timeline, create/edit forms, inline edit, notes, trash/restore."""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, session, url_for
from flask_babel import gettext as _

from app.blueprints.crm import bp
from app.blueprints.crm import panels as record_panels
from app.blueprints.crm.deal_stages import keeper as stage_keeper
from app.blueprints.crm.models import Entity, Record
from app.blueprints.crm.records import queries, service, sharing
from app.blueprints.crm.records.forms import build_inputs, raw_from, record_value
from app.blueprints.crm.records.list_routes import ENTITY_PATH
from app.blueprints.crm.records.page_context import NOUNS, WORDS, count_of, entity_of
from app.blueprints.team.public import Permission, can, default_currency, people
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.htmx import render

RECORD_PATH = f"/{ENTITY_PATH}/<int:record_id>"


def _inputs(entity: str, custom: list, **kwargs) -> list:
    """The record's inputs, with the team and stages as choices, as the viewer's role allows."""
    org_id = g.membership.org_id
    stage_rows = stage_keeper().choices(org_id) if entity == Entity.DEAL else ()
    return build_inputs(entity, custom, can_assign=can(g.membership.role, Permission.RECORDS_EDIT_ALL),
                        members=people(org_id), stage_rows=stage_rows, **kwargs)


def _form_context(entity: str, entities: str) -> dict:
    return {"entity": entity, "entities": entities, "noun": NOUNS[Entity(entity)],
            "words": WORDS[Entity(entity)]}


def _form_page(entities: str, record: Record | None = None):
    """GET draws the form; POST saves, or re-renders with the service's field messages (422)."""
    entity = entity_of(entities)
    custom = service.custom_fields(g.membership.org_id, entity)
    message, errors, data = None, None, None
    if request.method == "POST":
        data = request.form
        raw = raw_from(request.form, _inputs(entity, custom, data=data))
        try:
            if record is None:
                record = service.create_record(g.membership, entity, raw)
            else:
                service.update_record(g.membership, entity, record.id, raw)
        except DomainError as err:
            db.session.rollback()
            if isinstance(err, Forbidden | NotFound):
                raise
            message, errors = err.message, err.fields
        else:
            db.session.commit()
            flash(str(WORDS[Entity(entity)]["saved"]), "success")
            return redirect(url_for("crm.detail", entities=entities, record_id=record.id))
    inputs = _inputs(entity, custom, record=record, data=data, errors=errors)
    if record is None and data is None:
        for item in inputs:
            item.value = {"owner": str(g.membership.user_id),
                          "currency": default_currency(g.membership.org_id)}.get(item.name, "")
    return render("crm/form.html", record=record, inputs=inputs, message=message,
                  status=422 if errors is not None else 200, **_form_context(entity, entities))


@bp.get("/<any(contacts, companies):entities>/suggest")
def suggest(entities: str):
    """A deal form's contact or company picker: <option>s for what is typed so far (the input
    sends itself: ``contact`` or ``company``); the newest records while nothing is typed."""
    entity = entity_of(entities)
    records = queries.suggestions(g.membership.org_id, entity, request.args.get(entity, ""))
    return render("crm/_suggestions.html", entity=entity, records=records)


@bp.route(f"/{ENTITY_PATH}/new", methods=["GET", "POST"])
def new(entities: str):
    return _form_page(entities)


@bp.route(f"{RECORD_PATH}/edit", methods=["GET", "POST"])
def edit(entities: str, record_id: int):
    record = service.get_record(g.membership.org_id, entity_of(entities), record_id)
    service.check_edit(g.membership, record)
    return _form_page(entities, record)


def detail_context(entities: str, record: Record, **extra) -> dict:
    entity = entity_of(entities)
    custom = service.custom_fields(g.membership.org_id, entity)
    members = people(g.membership.org_id)
    panels, entries = record_panels.shown(g.membership, entity, record)  # e.g. the inbox's chats
    return {"entity": entity, "entities": entities, "record": record, "noun": NOUNS[Entity(entity)],
            "words": WORDS[Entity(entity)],
            "inputs": _inputs(entity, custom, record=record),
            "editable": service.can_edit(g.membership, record), "owners": {u.id: u for u in members},
            "timeline": queries.timeline(g.membership.org_id, entity, record, also=entries), "panels": panels,
            "labels": {i.name: i.label for i in build_inputs(entity, custom)},
            "lost_reasons": queries.lost_reasons(g.membership.org_id) if entity == Entity.DEAL else [],
            "sharing": sharing.panel(g.membership, record) if entity == Entity.CONTACT else None,
            **queries.related(record), **extra}


@bp.get(RECORD_PATH)
def detail(entities: str, record_id: int):
    record = service.get_record(g.membership.org_id, entity_of(entities), record_id)
    return render("crm/record.html", **detail_context(entities, record))


@bp.post("/deals/<int:record_id>/outcome")
def deal_outcome(record_id: int):
    """The deal page's Won and Lost buttons; a refusal (a rule of the won stage, no reason given)
    re-renders the page saying why, with the reason as typed."""
    outcome, reason = request.form.get("outcome"), request.form.get("lost_reason", "")
    try:
        service.close_deal(g.membership, record_id, outcome, reason)
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden | NotFound):
            raise
        record = service.get_record(g.membership.org_id, Entity.DEAL, record_id)
        return render("crm/record.html", status=422, **detail_context(
            "deals", record, outcome_error=err.fields.get("lost_reason") or err.message,
            outcome_tried=outcome, lost_reason=reason))
    db.session.commit()
    flash(_("Deal marked won.") if outcome == "won" else _("Deal marked lost."), "success")
    return redirect(url_for("crm.detail", entities="deals", record_id=record_id))


@bp.post(f"{RECORD_PATH}/notes")
def add_note(entities: str, record_id: int):
    entity = entity_of(entities)
    try:
        service.add_note(g.membership, entity, record_id, request.form.get("body", ""))
    except DomainError as err:
        if isinstance(err, NotFound):
            raise
        record = service.get_record(g.membership.org_id, entity, record_id)
        return render("crm/record.html", block="timeline", status=422, note=request.form.get("body"),
                      note_error=err.fields.get("body", err.message), **detail_context(entities, record))
    db.session.commit()
    record = service.get_record(g.membership.org_id, entity, record_id)
    return render("crm/record.html", block="timeline", **detail_context(entities, record))


@bp.route(f"{RECORD_PATH}/field/<name>", methods=["GET", "POST"])
def field(entities: str, record_id: int, name: str):
    """Inline edit: GET draws the input (or, with ``cancel``, the value); POST saves one field."""
    entity = entity_of(entities)
    record = service.get_record(g.membership.org_id, entity, record_id)
    custom = service.custom_fields(g.membership.org_id, entity)
    inputs = [i for i in _inputs(entity, custom, record=record) if i.name == name]
    if not inputs:
        abort(404)
    item = inputs[0]
    context = {"entities": entities, "record": record, "owners": {u.id: u for u in people(record.org_id)}}
    if request.method == "GET":
        block = "cell" if request.args.get("cancel") else "cell_edit"
        return render("crm/_cell.html", block=block, item=item,
                      editable=service.can_edit(g.membership, record), **context)
    try:
        service.update_record(g.membership, entity, record_id, raw_from(request.form, [item]))
    except DomainError as err:
        db.session.rollback()
        if isinstance(err, Forbidden | NotFound):
            raise
        item.value = request.form.get(name, "")
        item.error = err.fields.get(name, err.message)
        return render("crm/_cell.html", block="cell_edit", item=item, status=422, **context)
    db.session.commit()
    record = service.get_record(g.membership.org_id, entity, record_id)
    item.value = record_value(record, name)
    return render("crm/_cell.html", block="cell", item=item, editable=True,
                  **{**context, "record": record})


@bp.post(f"{RECORD_PATH}/delete")
def delete(entities: str, record_id: int):
    entity = entity_of(entities)
    record = service.get_record(g.membership.org_id, entity, record_id)
    name = getattr(record, "name", None) or getattr(record, "title", "")
    service.trash_records(g.membership, entity, [record_id])
    db.session.commit()
    session["crm_undo"] = {"entities": entities, "ids": [record_id],
                           "message": _("Moved %(name)s to the trash.", name=name)}
    return redirect(url_for(f"crm.{entities}"))


@bp.post(f"/{ENTITY_PATH}/restore")
def restore(entities: str):
    ids = [int(i) for i in request.form.getlist("ids") if i.isdigit()]
    restored = service.restore_records(g.membership, entity_of(entities), ids)
    db.session.commit()
    flash(_("Restored %(count)s.", count=count_of(entity_of(entities), restored)), "success")
    back = request.form.get("next")
    return redirect(back if back and back.startswith("/") and not back.startswith("//")
                    else url_for(f"crm.{entities}"))
