"""``/api/crm``: companies, contacts and deals over the same services and queries as the pages.

Lists validate their arguments: a bad ``page``, ``per_page`` (1-200), ``sort`` or date is a 422
envelope naming the argument, never a silent clamp. JSON bodies are strict too: an unknown key is
a 422 naming it. Each user gets ``RATE`` requests over the whole CRM API.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, g, jsonify, request, url_for

from app.api.auth import json_body, only_fields, per_member_limit, protect
from app.api.docs import documented, integer, obj, string
from app.blueprints.crm.bulk import service as bulk_service
from app.blueprints.crm.export.routes import csv_response
from app.blueprints.crm.models import DealStatus
from app.blueprints.crm.records import queries, serialize, service
from app.blueprints.crm.records.queries import ListQuery
from app.errors import DomainError
from app.extensions import db

bp = protect(Blueprint("crm_api", __name__, url_prefix="/api/crm"))

ENTITIES = {"contacts": "contact", "companies": "company", "deals": "deal"}
ANY = "<any(contacts,companies,deals):entities>"
RATE = "600 per minute"
MAX_BULK = 10_000
FILTER_KEYS = ("q", "owner", "tag", "company", "stage", "status", "created_from", "created_to",
               "trashed", "sort")


per_user = per_member_limit("crm_api", RATE)

# -- OpenAPI pieces ----------------------------------------------------------------------------

RECORD = {"type": "object", "description": "A contact, company or deal: see the per-entity schemas",
          "oneOf": [serialize.schema("contact"), serialize.schema("company"), serialize.schema("deal")]}
LIST = obj(["items", "total", "page", "per_page", "pages", "links"], items={"type": "array", "items": RECORD},
           total=integer(), page=integer(), per_page=integer(), pages=integer(),
           links=obj(self=string(), next={"type": ["string", "null"]}, prev={"type": ["string", "null"]}))
WRITE_BODY = {"type": "object", "description": (
    "Field names as in the record. References (company, contact, stage, owner) take an id, "
    "{\"id\": n}, a name (an email for contact and owner) or <reference>_id; tags a list of names; "
    "custom values an object keyed by the custom field's key. Read-only keys of a record "
    "(id, created_at, ...) are ignored; any other unknown key is a 422.")}


def _query(name: str, description: str, **schema: Any) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or string()}


LIST_PARAMS = [
    _query("page", "1-based page number", type="integer", minimum=1),
    _query("per_page", "page size, 1-200 (default 50)", type="integer", minimum=1, maximum=200),
    _query("q", "search names, emails, phones, Telegram handles"),
    _query("owner", "owner's user id, or none for unowned records"),
    _query("tag", "tag name"),
    _query("company", "company id (contacts and deals)", type="integer"),
    _query("stage", "stage id (deals)", type="integer"),
    _query("status", "open, won or lost (deals)"),
    _query("created_from", "YYYY-MM-DD", type="string", format="date"),
    _query("created_to", "YYYY-MM-DD", type="string", format="date"),
    _query("trashed", "1 lists the trash instead"),
    _query("sort", "a sort name, prefixed with - for descending: contacts name, created, updated, "
                   "email; companies name, created, updated, domain; deals title, created, updated, "
                   "value, close"),
    {"name": "custom.<key>", "in": "query", "required": False, "schema": string(),
     "description": "equals a custom field's value (one parameter per custom field)"},
]
BULK_BODY = obj(["action"], action=string(enum=list(bulk_service.BULK_ACTIONS)),
                ids={"type": "array", "items": integer(), "maxItems": MAX_BULK},
                all={"type": "boolean", "description": "act on every record the filter matches"},
                filter={"type": "object", "description": "list arguments (q, owner, tag, ...)"},
                value={"description": "owner (assign), tag name (add_tag/remove_tag), stage (move_stage)"})
INVALID = "Invalid fields (the envelope names them)"
NOT_FOUND = "No such record in your organization"
RULE = ("A deal's stage rule refuses it (code rule_broken, the message names the rule), or someone "
        "moved the deal meanwhile (code conflict)")


# -- reading -----------------------------------------------------------------------------------

def _list_query(entity: str, args) -> ListQuery:
    """ListQuery from ``args``. Raises DomainError naming each bad argument."""
    errors: dict[str, str] = {}
    for key in ("page", "per_page", "company", "stage"):
        value = args.get(key)
        if value is not None and not (value.isdigit() and int(value) >= 1):
            errors[key] = "A positive whole number."
    per_page = args.get("per_page", "")
    if per_page.isdigit() and int(per_page) > queries.MAX_PER_PAGE:
        errors["per_page"] = f"At most {queries.MAX_PER_PAGE}."
    owner = args.get("owner")
    if owner is not None and not (owner.isdigit() or owner == "none"):
        errors["owner"] = "A user id, or none."
    for key in ("created_from", "created_to"):
        try:
            if args.get(key):
                date.fromisoformat(args[key])
        except ValueError:
            errors[key] = "A date written YYYY-MM-DD."
    if args.get("status") and args["status"] not in {s.value for s in DealStatus}:
        errors["status"] = "One of: open, won, lost."
    sort = args.get("sort")
    if sort and sort.lstrip("-") not in queries.SORTS[entity]:
        errors["sort"] = f"One of: {', '.join(queries.SORTS[entity])} (prefix - to reverse)."
    if errors:
        raise DomainError("Some list arguments are not valid.", errors)
    return ListQuery.from_args(args)


def _page_link(entities: str, query: ListQuery, page: int, per_page: int) -> str:
    return url_for("crm_api.list_records", entities=entities, **query.as_args(), page=page,
                   per_page=per_page, _external=True)


@bp.get(f"/{ANY}")
@per_user
@documented("List records: filtered, searched, sorted, paginated", tag="crm", params=LIST_PARAMS,
            responses={200: {"description": "One page and links to its neighbours", "schema": LIST},
                       422: "A list argument is not valid"})
def list_records(entities: str):
    entity = ENTITIES[entities]
    query = _list_query(entity, request.args)
    page = queries.list_records(g.membership.org_id, entity, query)

    def link(number: int) -> str:
        return _page_link(entities, query, number, page.per_page)

    return jsonify({
        "items": [serialize.record_json(entity, record) for record in page.items],
        "total": page.total, "page": page.page, "per_page": page.per_page, "pages": page.pages,
        "links": {"self": link(page.page), "next": link(page.page + 1) if page.has_next else None,
                  "prev": link(page.page - 1) if page.has_prev else None},
    })


@bp.get(f"/{ANY}/<int:record_id>")
@per_user
@documented("One record (trashed=1 reads it from the trash)", tag="crm",
            params=[_query("trashed", "1 to read a trashed record")],
            responses={200: {"description": "The record", "schema": RECORD}, 404: NOT_FOUND})
def get_record(entities: str, record_id: int):
    entity = ENTITIES[entities]
    trashed = request.args.get("trashed") in {"1", "true", "yes"}
    record = service.get_record(g.membership.org_id, entity, record_id, trashed=trashed)
    return jsonify(serialize.record_json(entity, record))


@bp.get(f"/{ANY}/export")
@per_user
@documented("Download every record the list arguments match as CSV (streamed)", tag="crm",
            params=LIST_PARAMS[2:],
            responses={200: {"description": "CSV: ID, the field labels, then Custom: <label> columns",
                             "content": {"text/csv": {"schema": string()}}},
                       422: "A list argument is not valid"})
def export(entities: str):
    query = _list_query(ENTITIES[entities], request.args)
    return csv_response(g.membership.org_id, entities, query)


# -- writing -----------------------------------------------------------------------------------

def _input(entity: str) -> dict[str, Any]:
    return serialize.from_json(entity, json_body(), service.custom_fields(g.membership.org_id, entity))


def _keep_unchanged_owner(raw: dict[str, Any], record) -> dict[str, Any]:
    """Drop an ``owner`` equal to the current one: resending a record is not a reassignment."""
    owner = raw.get("owner")
    same = owner == record.owner_id or (
        isinstance(owner, str) and record.owner is not None and owner.strip().lower() == record.owner.email)
    return {k: v for k, v in raw.items() if k != "owner"} if "owner" in raw and same else raw


def _saved(entity: str, record, status: int = 200):
    db.session.commit()
    return jsonify(serialize.record_json(entity, record)), status


@bp.post(f"/{ANY}")
@per_user
@documented("Create a record (it belongs to you unless owner is given)", tag="crm", body=WRITE_BODY,
            responses={201: {"description": "The new record", "schema": RECORD}, 409: RULE, 422: INVALID})
def create_record(entities: str):
    entity = ENTITIES[entities]
    record = service.create_record(g.membership, entity, _input(entity))
    return _saved(entity, record, 201)


@bp.patch(f"/{ANY}/<int:record_id>")
@per_user
@documented("Change the fields sent; the others stay", tag="crm", body=WRITE_BODY,
            responses={200: {"description": "The record", "schema": RECORD}, 403: "Not your record",
                       404: NOT_FOUND, 409: RULE, 422: INVALID})
def update_record(entities: str, record_id: int):
    entity = ENTITIES[entities]
    record = service.get_record(g.membership.org_id, entity, record_id)
    raw = _keep_unchanged_owner(_input(entity), record)
    record = service.update_record(g.membership, entity, record_id, raw)
    return _saved(entity, record)


@bp.put(f"/{ANY}/<int:record_id>")
@per_user
@documented("Replace a record: fields absent from the body are cleared (the owner is kept; a "
            "deal keeps its stage); required fields must be present", tag="crm", body=WRITE_BODY,
            responses={200: {"description": "The record", "schema": RECORD}, 403: "Not your record",
                       404: NOT_FOUND, 409: RULE, 422: INVALID})
def replace_record(entities: str, record_id: int):
    entity = ENTITIES[entities]
    record = service.get_record(g.membership.org_id, entity, record_id)
    definitions = service.custom_fields(g.membership.org_id, entity)
    raw = serialize.full_replacement(entity, _keep_unchanged_owner(_input(entity), record), definitions)
    record = service.update_record(g.membership, entity, record_id, raw)
    return _saved(entity, record)


@bp.delete(f"/{ANY}/<int:record_id>")
@per_user
@documented("Move a record to the trash (bulk action restore brings it back)", tag="crm",
            responses={204: "Moved to the trash", 403: "Your role may not delete", 404: NOT_FOUND})
def trash_record(entities: str, record_id: int):
    entity = ENTITIES[entities]
    service.get_record(g.membership.org_id, entity, record_id)
    service.trash_records(g.membership, entity, [record_id])
    db.session.commit()
    return "", 204


@bp.patch("/deals/<int:record_id>/stage")
@per_user
@documented("Move a deal to a stage", tag="crm",
            body=obj(stage_id=integer(), stage={"description": "a stage id or the name of a stage "
                                                               "of the default pipeline"}),
            responses={200: {"description": "The deal", "schema": serialize.schema("deal")},
                       403: "Not your deal", 404: NOT_FOUND, 409: RULE, 422: INVALID})
def move_deal(record_id: int):
    service.get_record(g.membership.org_id, "deal", record_id)
    data = only_fields(json_body(), {"stage_id", "stage"})
    stage = data.get("stage", data.get("stage_id"))
    if stage in (None, "") or isinstance(stage, bool | dict | list):
        raise DomainError("Name the stage to move to.", {"stage_id": "A stage id (or stage: a name)."})
    deal = service.update_record(g.membership, "deal", record_id, {"stage": stage})
    return _saved("deal", deal)


@bp.post(f"/{ANY}/bulk")
@per_user
@documented(f"Apply one action to many records: by ids, or to all a filter matches (up to {MAX_BULK:,})",
            tag="crm", body=BULK_BODY,
            responses={200: {"description": "How many records changed", "schema": obj(changed=integer())},
                       403: "Your role may not", 422: INVALID})
def bulk(entities: str):
    entity = ENTITIES[entities]
    data = json_body()
    ids = _bulk_ids(entity, data)
    changed = bulk_service.bulk(g.membership, entity, data["action"], ids, data.get("value"))
    db.session.commit()
    return jsonify({"changed": changed})


def _bulk_ids(entity: str, data: dict[str, Any]) -> list[int]:
    """The ids a bulk body names. Raises DomainError for a malformed body or too many records."""
    only_fields(data, {"action", "ids", "all", "filter", "value"})
    if data.get("action") not in bulk_service.BULK_ACTIONS:
        actions = ", ".join(bulk_service.BULK_ACTIONS)
        raise DomainError("Choose a bulk action.", {"action": f"One of: {actions}."})
    if data.get("all") is True:
        filters = data.get("filter") or {}
        if not isinstance(filters, dict):
            raise DomainError("The filter is an object of list arguments.", {"filter": "An object."})
        bad = sorted(k for k in filters if k not in FILTER_KEYS and not k.startswith("custom."))
        if bad:
            raise DomainError(f"Unknown filter arguments: {', '.join(bad)}.",
                              {f"filter.{k}": "Unknown filter argument." for k in bad})
        args = {k: str(v) for k, v in filters.items() if v is not None}
        ids = queries.matching_ids(g.membership.org_id, entity, _list_query(entity, args), limit=MAX_BULK + 1)
    else:
        ids = data.get("ids")
        if not isinstance(ids, list) or not ids or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise DomainError("Send ids (a list of record ids) or all: true with a filter.",
                              {"ids": "A non-empty list of record ids."})
    if len(ids) > MAX_BULK:
        raise DomainError(f"That is more than {MAX_BULK:,} records; narrow the filter and repeat.",
                          {"ids" if "ids" in data else "filter": f"At most {MAX_BULK:,} records at once."})
    return ids
