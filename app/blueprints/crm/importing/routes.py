"""CSV import pages: upload, preview and mapping, progress, result, rejected rows, past imports."""

from __future__ import annotations

from flask import Blueprint, Response, g, redirect, request, stream_with_context, url_for
from flask_login import login_required

from app.blueprints.crm import importing
from app.blueprints.crm.models import ImportStatus
from app.errors import DomainError
from app.extensions import db
from app.htmx import render

bp = Blueprint("crm_import", __name__, url_prefix="/imports")

ENTITY_PATH = "<any(contacts,companies,deals):entities>"


@bp.before_request
@login_required
def signed_in() -> None:
    """Every import page needs a signed-in member."""


@bp.get("/")
def index():
    return render("crm/imports/index.html", imports=importing.list_imports(g.membership.org_id),
                  names=importing.ENTITY_NAMES)


@bp.get(f"/new/{ENTITY_PATH}")
def new(entities: str):
    return render("crm/imports/new.html", entities=entities)


@bp.post(f"/new/{ENTITY_PATH}")
def upload(entities: str):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render("crm/imports/new.html", entities=entities, error="Choose a CSV file to upload.",
                      status=422)
    try:
        imp = importing.start_import(g.membership, entities, upload.filename, upload.stream)
    except DomainError as err:
        db.session.rollback()
        return render("crm/imports/new.html", entities=entities, error=err.message, status=422)
    db.session.commit()
    return redirect(url_for("crm_import.mapping", import_id=imp.id))


@bp.get("/<int:import_id>/mapping")
def mapping(import_id: int):
    imp = importing.get_import(g.membership.org_id, import_id)
    if imp.status != ImportStatus.UPLOADED:
        return redirect(url_for("crm_import.show", import_id=imp.id))
    chosen = importing.guess_mapping(imp.org_id, imp.entity, imp.headers)
    return _mapping_page(imp, chosen, dedupe="skip", dry_run=False)


@bp.post("/<int:import_id>/mapping")
def start(import_id: int):
    imp = importing.get_import(g.membership.org_id, import_id)
    chosen = {header: request.form.get(f"map-{n}", "") for n, header in enumerate(imp.headers)}
    dedupe, dry_run = request.form.get("dedupe", "skip"), request.form.get("dry_run") == "1"
    try:
        importing.queue_import(g.membership, imp, chosen, dedupe=dedupe, dry_run=dry_run)
    except DomainError as err:
        db.session.rollback()
        if err.status not in (400, 422):
            raise
        imp = importing.get_import(g.membership.org_id, import_id)
        return _mapping_page(imp, chosen, dedupe=dedupe, dry_run=dry_run, error=err.message, status=422)
    db.session.commit()
    return redirect(url_for("crm_import.show", import_id=imp.id))


def _mapping_page(imp, chosen: dict[str, str], dedupe: str, dry_run: bool, error: str | None = None,
                  status: int = 200):
    return render("crm/imports/mapping.html", imp=imp, preview=importing.preview(imp), chosen=chosen,
                  choices=importing.field_choices(imp.org_id, imp.entity), dedupe=dedupe, dry_run=dry_run,
                  policies=importing.POLICY_LABELS, entities=importing.ENTITY_NAMES[imp.entity],
                  error=error, status=status)


@bp.get("/<int:import_id>")
def show(import_id: int):
    """The progress page; its ``import_progress`` block polls this route until the import ends."""
    imp = importing.get_import(g.membership.org_id, import_id)
    return render("crm/imports/show.html", block="import_progress", imp=imp,
                  finished=importing.finished(imp), percent=importing.percent(imp),
                  entities=importing.ENTITY_NAMES[imp.entity])


@bp.get("/<int:import_id>/rejected.csv")
def rejected(import_id: int):
    imp = importing.get_import(g.membership.org_id, import_id)
    return Response(stream_with_context(importing.rejected_csv(imp)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="import-{imp.id}-rejected.csv"'})
