"""CSV import pages: upload, preview and mapping, progress, result, rejected rows, past imports."""

from __future__ import annotations

from flask import Blueprint, Response, g, redirect, request, stream_with_context, url_for
from flask_babel import gettext as _
from flask_login import login_required

from app.blueprints.crm import importing
from app.blueprints.crm.export.service import unescape_cell
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
    """The organization's imports, newest first."""
    return render("crm/imports/index.html", imports=importing.list_imports(g.membership.org_id),
                  names=importing.ENTITY_NAMES, words=importing.ENTITY_WORDS,
                  status_word=importing.status_word, error_text=importing.error_text)


@bp.get(f"/new/{ENTITY_PATH}")
def new(entities: str):
    return render("crm/imports/new.html", entities=entities, words=importing.ENTITY_WORDS[entities])


@bp.post(f"/new/{ENTITY_PATH}")
def upload(entities: str):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return render("crm/imports/new.html", entities=entities, words=importing.ENTITY_WORDS[entities],
                      error=_("Choose a CSV file to upload."), status=422)
    try:
        imp = importing.start_import(g.membership, entities, upload.filename, upload.stream)
    except DomainError as err:
        db.session.rollback()
        return render("crm/imports/new.html", entities=entities, words=importing.ENTITY_WORDS[entities],
                      error=err.message, status=422)
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
    """Queue the import; a contact mapping that names no one is sent back with the warning unless
    the person chose to import without names."""
    imp = importing.get_import(g.membership.org_id, import_id)
    chosen, dedupe, dry_run = _mapping_form(imp)
    try:
        importing.check_mapping(g.membership, imp, chosen, dedupe)
        if not importing.gives_names(imp.entity, chosen) and request.form.get("without_names") != "1":
            return _mapping_page(imp, chosen, dedupe=dedupe, dry_run=dry_run, stopped=True, status=422)
        importing.queue_import(g.membership, imp, chosen, dedupe=dedupe, dry_run=dry_run)
    except DomainError as err:
        db.session.rollback()
        if err.status not in (400, 422):
            raise
        imp = importing.get_import(g.membership.org_id, import_id)
        return _mapping_page(imp, chosen, dedupe=dedupe, dry_run=dry_run, error=err.message, status=422)
    db.session.commit()
    return redirect(url_for("crm_import.show", import_id=imp.id))


@bp.post("/<int:import_id>/mapping/check")
def check(import_id: int):
    """The mapping form as the choices made so far give it (the split names, the warning): the page
    asks for it when a column's field changes. Nothing is saved."""
    imp = importing.get_import(g.membership.org_id, import_id)
    if imp.status != ImportStatus.UPLOADED:
        return redirect(url_for("crm_import.show", import_id=imp.id))
    chosen, dedupe, dry_run = _mapping_form(imp)
    return _mapping_page(imp, chosen, dedupe=dedupe, dry_run=dry_run, block="mapping_form")


def _mapping_form(imp) -> tuple[dict[str, str], str, bool]:
    chosen = {header: request.form.get(f"map-{n}", "") for n, header in enumerate(imp.headers)}
    return chosen, request.form.get("dedupe", "skip"), request.form.get("dry_run") == "1"


def _mapping_page(imp, chosen: dict[str, str], dedupe: str, dry_run: bool, error: str | None = None,
                  stopped: bool = False, block: str | None = None, status: int = 200):
    """The mapping page. ``name_column``: the column split into first and last name, if any;
    ``nameless``: no column names the contacts (``stopped``: and the person tried to start)."""
    name_column = next((n for n, header in enumerate(imp.headers)
                        if chosen.get(header) == importing.FULL_NAME), None)
    return render("crm/imports/mapping.html", block=block, imp=imp, preview=importing.preview(imp),
                  chosen=chosen, choices=importing.field_choices(imp.org_id, imp.entity), dedupe=dedupe,
                  dry_run=dry_run, policies=importing.POLICY_LABELS,
                  entities=importing.ENTITY_NAMES[imp.entity],
                  words=importing.ENTITY_WORDS[importing.ENTITY_NAMES[imp.entity]], error=error,
                  name_column=name_column,
                  split_name=_split_name,
                  nameless=not importing.gives_names(imp.entity, chosen), stopped=stopped, status=status)


def _split_name(cell: str) -> importing.SplitName:
    """A preview cell's name as the run will split it (reading our export's formula guard as it does)."""
    return importing.split_full_name(unescape_cell(cell))


@bp.get("/<int:import_id>")
def show(import_id: int):
    """The progress page; its ``import_progress`` block polls this route until the import ends."""
    imp = importing.get_import(g.membership.org_id, import_id)
    return render("crm/imports/show.html", block="import_progress", imp=imp,
                  finished=importing.finished(imp), percent=importing.percent(imp),
                  entities=importing.ENTITY_NAMES[imp.entity],
                  words=importing.ENTITY_WORDS[importing.ENTITY_NAMES[imp.entity]],
                  status_word=importing.status_word(imp), error=importing.error_text(imp))


@bp.get("/<int:import_id>/rejected.csv")
def rejected(import_id: int):
    imp = importing.get_import(g.membership.org_id, import_id)
    # A person opens this one: its row and reason columns are named in their language (the API's
    # download keeps the names programs read).
    return Response(stream_with_context(importing.rejected_csv(imp, for_people=True)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="import-{imp.id}-rejected.csv"'})
