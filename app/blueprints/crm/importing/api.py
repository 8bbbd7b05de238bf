"""``/api/crm/<entity>/import`` and ``/api/crm/imports/<id>``: CSV import for API clients.

The upload is ``multipart/form-data`` with the CSV in ``file``; the import runs in the background
exactly as one started from the pages, and its status, counts and rejected rows are read back here.
"""

from __future__ import annotations

from flask import Blueprint, Response, g, jsonify, request, stream_with_context, url_for
from flask_babel import gettext as _

from app.api.auth import protect
from app.api.docs import MULTIPART, NO_NUL, documented, integer, obj, string
from app.blueprints.crm import importing
from app.blueprints.crm.models import Import, ImportStatus
from app.blueprints.crm.records.serialize import always
from app.errors import DomainError
from app.extensions import db
from app.request_input import load_json_field

bp = protect(Blueprint("crm_import_api", __name__, url_prefix="/api/crm"))

ENTITY_PATH = "<any(contacts,companies,deals):entities>"
COUNTS = always(created=integer(minimum=0), updated=integer(minimum=0), skipped=integer(minimum=0),
                rejected=integer(minimum=0))
NULL_TIME = {"type": ["string", "null"], "format": "date-time"}
IMPORT = always(
    id=integer(), entity=string(enum=["contact", "company", "deal"]),
    status=string(enum=[s.value for s in ImportStatus]), filename=string(),
    dedupe=string(enum=list(importing.POLICIES)), dry_run={"type": "boolean"},
    mapping={"type": "object", "additionalProperties": {"type": "string"},
             "description": "column header -> field name, for the columns imported"},
    total_rows=integer(minimum=0), processed_rows=integer(minimum=0), counts=COUNTS,
    error={"type": ["string", "null"]}, created_at=string(format="date-time"), started_at=NULL_TIME,
    finished_at=NULL_TIME,
    links=always(self=string(description="this import"),
                 rejected=string(description="the rejected rows as CSV, with a reason column")))
UPLOAD = obj(
    ["file"], file=string(format="binary", description="the CSV (UTF-8 or UTF-16; , ; or tab separated)"),
    mapping=string(pattern=NO_NUL, contentMediaType="application/json",
                   description='JSON object, column header -> field name ("" skips a column); '
                               "without it the guessed mapping is used"),
    dedupe=string(enum=list(importing.POLICIES), default="skip",
                  description="what a row matching an existing record does; update needs a manager role"),
    dry_run=string(enum=["true", "false"], default="false", description="count everything, write nothing"))
THE_IMPORT = {"import_id": "$response.body#/id"}
IMPORT_LINKS = {"GetImport": {"operationId": "crm_import_api.status", "parameters": THE_IMPORT},
                "GetRejectedRows": {"operationId": "crm_import_api.rejected", "parameters": THE_IMPORT}}


def as_json(imp: Import) -> dict:
    return {
        "id": imp.id, "entity": imp.entity, "status": imp.status, "filename": imp.filename,
        "dedupe": imp.dedupe, "dry_run": imp.dry_run, "mapping": imp.mapping,
        "total_rows": imp.total_rows, "processed_rows": imp.processed_rows,
        "counts": {"created": imp.created_count, "updated": imp.updated_count,
                   "skipped": imp.skipped_count, "rejected": imp.rejected_count},
        "error": importing.error_text(imp) or None,  # in the language of Accept-Language
        "created_at": imp.created_at.isoformat(),
        "started_at": imp.started_at.isoformat() if imp.started_at else None,
        "finished_at": imp.finished_at.isoformat() if imp.finished_at else None,
        "links": {"self": url_for("crm_import_api.status", import_id=imp.id),
                  "rejected": url_for("crm_import_api.rejected", import_id=imp.id)},
    }


def _mapping_arg() -> dict[str, str] | None:
    raw = request.form.get("mapping")
    if raw is None or not raw.strip():
        return None
    mapping = load_json_field("mapping", raw)  # DomainError on mapping: malformed, too deep, a NUL
    if not isinstance(mapping, dict):
        raise DomainError(_("mapping must be a JSON object of column header -> field name."),
                          {"mapping": _("Not a JSON object.")})
    return mapping


@bp.post(f"/{ENTITY_PATH}/import")
@documented("Upload a CSV and import it in the background", tag="crm import", bodies={MULTIPART: UPLOAD},
            responses={202: {"description": "Queued; poll links.self", "schema": IMPORT,
                             "links": IMPORT_LINKS, "headers": {"Location": {
                                 "description": "the import (its links.self)", "required": True,
                                 "schema": string()}}},
                       400: "A NUL in the file's name or a form field",
                       403: "The role may not use dedupe=update", 413: "Larger than 64 MB",
                       422: f"Unreadable file (among them one of over {importing.MAX_COLUMNS} columns or "
                            f"with a header row over {importing.MAX_HEADER_BYTES // 1024} KB), or a mapping "
                            "that is not a JSON object of the file's columns to fields (code invalid)"})
def start(entities: str):
    upload = request.files.get("file")
    if upload is None:  # a plain form field named file passes the contract, which sees names only
        raise DomainError(_("Attach the CSV as the multipart field 'file'."), {"file": _("Not a file.")})
    imp = importing.import_file(g.membership, entities, upload.filename or "upload.csv", upload.stream,
                                mapping=_mapping_arg(), dedupe=request.form.get("dedupe", "skip"),
                                dry_run=request.form.get("dry_run") == "true")
    db.session.commit()
    response = jsonify(as_json(imp))
    response.status_code = 202
    response.headers["Location"] = url_for("crm_import_api.status", import_id=imp.id)
    return response


@bp.get("/imports/<int:import_id>")
@documented("An import's status, counts and links", tag="crm import",
            responses={200: {"description": "The import", "schema": IMPORT}, 404: "No such import"})
def status(import_id: int):
    return jsonify(as_json(importing.get_import(g.membership.org_id, import_id)))


@bp.get("/imports/<int:import_id>/rejected.csv")
@documented("The rejected rows: the file's columns plus row and reason", tag="crm import",
            responses={200: {"description": "CSV", "content": {"text/csv": {"schema": string()}}},
                       404: "No such import"})
def rejected(import_id: int):
    imp = importing.get_import(g.membership.org_id, import_id)
    return Response(stream_with_context(importing.rejected_csv(imp)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="import-{imp.id}-rejected.csv"'})
