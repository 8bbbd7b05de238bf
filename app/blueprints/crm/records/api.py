"""``/api/crm``: companies, contacts and deals over the same services and queries as the pages.

Every operation's query arguments and body are declared once (``@documented``) and checked before
its view runs: a value outside them is a 422 ``invalid_request`` naming it, never a silent clamp,
and the views read typed values. What a request may hold and what it gets back differ by kind of
record (each kind's fields and sort names, a deal's stage and status), so every operation is
declared once per kind: ``/api/crm/contacts``, ``/api/crm/companies/<id>``, ... Each user gets
``RATE`` requests over the whole CRM API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from functools import wraps
from typing import Any

from flask import Blueprint, g, jsonify, request, url_for
from flask_babel import gettext as _

from app.api.auth import json_body, per_member_limit, protect
from app.api.docs import ID, documented, integer, obj, query, string, text, whole_numbers_to
from app.api.validation import InvalidRequest
from app.blueprints.crm.bulk import service as bulk_service
from app.blueprints.crm.export.routes import csv_response
from app.blueprints.crm.models import DealStatus, Entity
from app.blueprints.crm.records import queries, serialize, service
from app.blueprints.crm.records.fields import number
from app.blueprints.crm.records.queries import ListQuery
from app.canonical import ID_MAX
from app.errors import DomainError
from app.extensions import db

bp = protect(Blueprint("crm_api", __name__, url_prefix="/api/crm"))

ENTITIES = {"contacts": Entity.CONTACT, "companies": Entity.COMPANY, "deals": Entity.DEAL}
RATE = "600 per minute"
MAX_BULK = 10_000
MAX_PAGE = 10_000  # deeper than this, a filter (or the export) serves better than an offset
TRUE = ("1", "true", True)

per_user = per_member_limit("crm_api", RATE)

# -- OpenAPI pieces ----------------------------------------------------------------------------

NOT_FOUND = "No such record in your organization"
RULE = ("A deal's stage rule refuses it (code rule_broken, the message names the rule), or someone "
        "moved the deal meanwhile (code conflict)")
TRASHED = string(enum=["1", "0", "true", "false"])
REFUSED = "Refused by the data (code invalid): a reference that names nothing, a value that does not clean"


# The owner filter is a user id or "none": a pattern, since a query value is converted by one type.
OWNER = string(pattern=f"^(none|{whole_numbers_to(ID_MAX)})$")


def _sorts(entity: str) -> list[str]:
    names = list(queries.SORTS[entity])
    return [*names, *(f"-{name}" for name in names)]


def _filters(entity: str) -> list[dict]:
    """The list arguments of ``entity``, as a query string carries them."""
    params = [
        query("q", "search names, emails, phones, Telegram handles", text(200)),
        query("owner", "the owner's user id, or none for unowned records", OWNER),
        query("tag", "a tag name", text(64)),
    ]
    if entity in (Entity.CONTACT, Entity.DEAL):
        params.append(query("company", "a company id", ID))
    if entity == Entity.DEAL:
        params += [query("stage", "a stage id", ID),
                   query("status", "open, won or lost", string(enum=[s.value for s in DealStatus]))]
    return [
        *params,
        query("created_from", "created on or after, YYYY-MM-DD", string(format="date")),
        query("created_to", "created on or before, YYYY-MM-DD", string(format="date")),
        query("trashed", "1 or true: the trash instead", TRASHED),
        query("sort", "a sort name; a leading - reverses it", string(enum=_sorts(entity))),
        {"name": "custom.<key>", "in": "query", "required": False, "schema": text(2000),
         "description": "equals a custom field's value (one argument per custom field, by its key)"},
    ]


def _list_params(entity: str) -> list[dict]:
    return [query("page", f"1-based page number, at most {MAX_PAGE:,}",
                   integer(minimum=1, maximum=MAX_PAGE)),
            query("per_page", f"page size, 1-{queries.MAX_PER_PAGE} (default 50)",
                   integer(minimum=1, maximum=queries.MAX_PER_PAGE)),
            *_filters(entity)]


def _filter_body(entity: str) -> dict:
    """The list arguments as a bulk body's ``filter`` holds them: JSON values."""
    props = {p["name"]: p["schema"] for p in _filters(entity) if "<" not in p["name"]}
    props["owner"] = {"anyOf": [ID, string(const="none")], "description": "a user id, or none"}
    props["trashed"] = {"type": "boolean"}
    return {"type": "object", "properties": props, "additionalProperties": False,
            "patternProperties": {r"^custom\.": string(maxLength=2000)},
            "description": "list arguments (q, owner, tag, ...; custom.<key>)"}


def _bulk_body(entity: str) -> dict:
    actions = [a for a in bulk_service.BULK_ACTIONS if a != "move_stage" or entity == Entity.DEAL]
    return obj(
        ["action"], action=string(enum=actions),
        ids={"type": "array", "items": ID, "maxItems": MAX_BULK, "description": "the records to act on"},
        all={"type": "boolean", "description": "true: act on every record the filter matches, not on ids"},
        filter=_filter_body(entity),
        value={"type": ["integer", "string", "null"], "minimum": 1, "maximum": ID_MAX, "maxLength": 254,
               "description": "assign: the owner (a user id or email; null unassigns); add_tag, "
                              "remove_tag: the tag's name; move_stage: the stage (an id or name)"})


def _list_schema(entity: str) -> dict:
    return serialize.always(
        items={"type": "array", "items": serialize.schema(entity)}, total=integer(minimum=0),
        page=integer(minimum=1), per_page=integer(minimum=1), pages=integer(minimum=1),
        links=serialize.always(self=string(), next={"type": ["string", "null"]},
                               prev={"type": ["string", "null"]}))


THE_RECORD = {"record_id": "$response.body#/id"}


def _record_links(entities: str) -> dict:
    """Where a created record leads: reading, changing and trashing it."""
    verbs = {"GetRecord": "get", "UpdateRecord": "update", "ReplaceRecord": "replace", "TrashRecord": "trash"}
    links = {name: {"operationId": f"crm_api.{verb}_{entities}", "parameters": THE_RECORD}
             for name, verb in verbs.items()}
    if entities == "deals":
        links["MoveDeal"] = {"operationId": "crm_api.move_deal", "parameters": THE_RECORD}
    return links


# -- reading -----------------------------------------------------------------------------------

def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


def _custom_filters(entity: str, given: Mapping[str, Any]) -> dict[str, str]:
    """The ``custom.<key>`` arguments of ``given``, by key. Raises DomainError naming any that no
    custom field of ``entity`` has (a typo would otherwise list nothing)."""
    wanted = {k.removeprefix("custom."): str(v) for k, v in given.items()
              if k.startswith("custom.") and str(v).strip()}
    if not wanted:
        return {}
    unknown = sorted(set(wanted) - {d.key for d in service.custom_fields(g.membership.org_id, entity)})
    if unknown:
        raise DomainError(_("No custom field has the key %(keys)s.", keys=", ".join(unknown)),
                          {f"custom.{key}": _("Unknown custom field.") for key in unknown})
    return wanted


def _listquery(entity: str, args: Mapping[str, Any], custom: dict[str, str]) -> ListQuery:
    """ListQuery from list arguments the contract admitted (a query string's, or a bulk filter's)."""
    owner = args.get("owner")
    return ListQuery(
        q=args.get("q", ""), owner_id=None if owner in (None, "none") else int(owner),
        unowned=owner == "none", tag=args.get("tag") or None, company_id=args.get("company"),
        stage_id=args.get("stage"), status=args.get("status"), created_from=_day(args.get("created_from")),
        created_to=_day(args.get("created_to")), trashed=args.get("trashed") in TRUE, sort=args.get("sort"),
        page=args.get("page", 1), per_page=args.get("per_page", 50), custom=custom)


def _query_string_list(entity: str) -> ListQuery:
    repeated = sorted(k for k in request.args if k.startswith("custom.") and len(request.args.getlist(k)) > 1)
    if repeated:
        raise InvalidRequest(_("Give %(names)s once.", names=", ".join(repeated)),
                             dict.fromkeys(repeated, _("Give it once.")))
    return _listquery(entity, g.args, _custom_filters(entity, request.args))


def _page_link(entities: str, query: ListQuery, page: int, per_page: int) -> str:
    return url_for(f"crm_api.list_{entities}", **query.as_args(), page=page, per_page=per_page,
                   _external=True)


def list_records(entities: str):
    entity = ENTITIES[entities]
    query = _query_string_list(entity)
    page = queries.list_records(g.membership.org_id, entity, query)

    def link(number: int) -> str | None:
        return _page_link(entities, query, number, page.per_page) if 1 <= number <= MAX_PAGE else None

    return jsonify({
        "items": [serialize.record_json(entity, record) for record in page.items],
        "total": page.total, "page": page.page, "per_page": page.per_page, "pages": page.pages,
        "links": {"self": link(page.page), "next": link(page.page + 1) if page.has_next else None,
                  "prev": link(page.page - 1) if page.has_prev else None},
    })


def get_record(entities: str, record_id: int):
    entity = ENTITIES[entities]
    return jsonify(serialize.record_json(entity, service.get_record(g.membership.org_id, entity, record_id)))


def get_trashed_record(entities: str, record_id: int):
    entity = ENTITIES[entities]
    record = service.get_record(g.membership.org_id, entity, record_id, trashed=True)
    return jsonify(serialize.record_json(entity, record))


def export(entities: str):
    return csv_response(g.membership, entities, _query_string_list(ENTITIES[entities]))


# -- writing -----------------------------------------------------------------------------------

def _input(entity: str) -> dict[str, Any]:
    return serialize.from_json(entity, json_body(), service.custom_fields(g.membership.org_id, entity))


def _keep_unchanged_owner(raw: dict[str, Any], record) -> dict[str, Any]:
    """Drop an ``owner`` equal to the current one: resending a record is not a reassignment."""
    owner = raw.get("owner")
    same = owner == record.owner_id or (
        isinstance(owner, str) and record.owner is not None and owner.strip().lower() == record.owner.email)
    return {k: v for k, v in raw.items() if k != "owner"} if "owner" in raw and same else raw


def _saved(entity: str, record):
    db.session.commit()
    return jsonify(serialize.record_json(entity, record))


def create_record(entities: str):
    entity = ENTITIES[entities]
    record = service.create_record(g.membership, entity, _input(entity))
    response = _saved(entity, record)
    response.status_code = 201
    response.headers["Location"] = url_for(f"crm_api.get_{entities}", record_id=record.id)
    return response


def update_record(entities: str, record_id: int):
    entity = ENTITIES[entities]
    record = service.get_record(g.membership.org_id, entity, record_id)
    raw = _keep_unchanged_owner(_input(entity), record)
    return _saved(entity, service.update_record(g.membership, entity, record_id, raw))


def replace_record(entities: str, record_id: int):
    entity = ENTITIES[entities]
    record = service.get_record(g.membership.org_id, entity, record_id)
    definitions = service.custom_fields(g.membership.org_id, entity)
    raw = serialize.full_replacement(entity, _keep_unchanged_owner(_input(entity), record), definitions)
    return _saved(entity, service.update_record(g.membership, entity, record_id, raw))


def trash_record(entities: str, record_id: int):
    entity = ENTITIES[entities]
    service.get_record(g.membership.org_id, entity, record_id)
    service.trash_records(g.membership, entity, [record_id])
    db.session.commit()
    return "", 204


@bp.patch("/deals/<int:record_id>/stage")
@per_user
@documented("Move a deal to a stage: stage (an id or a name in the default pipeline) or stage_id", tag="crm",
            body=obj(stage_id=ID, stage={"type": ["integer", "string"], "minimum": 1, "maximum": ID_MAX,
                                         "maxLength": 80, "description": "a stage id, or the name of a "
                                                                         "stage of the default pipeline"}),
            responses={200: {"description": "The deal", "schema": serialize.schema(Entity.DEAL)},
                       403: "Not your deal", 404: NOT_FOUND, 409: RULE, 422: REFUSED})
def move_deal(record_id: int):
    service.get_record(g.membership.org_id, Entity.DEAL, record_id)
    data = json_body()
    stage = data.get("stage", data.get("stage_id"))
    if stage in (None, ""):
        raise DomainError(_("Name the stage to move to."), {"stage_id": _("A stage id (or stage: a name).")})
    return _saved(Entity.DEAL, service.update_record(g.membership, Entity.DEAL, record_id, {"stage": stage}))


def bulk(entities: str):
    entity = ENTITIES[entities]
    data = json_body()
    ids = _bulk_ids(entity, data)
    changed = bulk_service.bulk(g.membership, entity, data["action"], ids, data.get("value"))
    db.session.commit()
    return jsonify({"changed": changed})


def _bulk_ids(entity: str, data: dict[str, Any]) -> list[int]:
    """The ids a bulk body names. Raises DomainError when it names none, or too many records."""
    if data.get("all") is True:
        filters = data.get("filter", {})
        query = _listquery(entity, filters, _custom_filters(entity, filters))
        ids = queries.matching_ids(g.membership.org_id, entity, query, limit=MAX_BULK + 1)
        if len(ids) > MAX_BULK:
            raise DomainError(_("That is more than %(most)s records; narrow the filter and repeat.",
                                most=number(MAX_BULK)),
                              {"filter": _("At most %(most)s records at once.", most=number(MAX_BULK))})
        return ids
    if not data.get("ids"):
        raise DomainError(_("Send ids (a list of record ids) or all: true with a filter."),
                          {"ids": _("A non-empty list of record ids.")})
    return data["ids"]


# -- one operation per kind of record ------------------------------------------------------------

def _route(rule: str, endpoint: str, method: str, entities: str, view: Callable, contract: Callable) -> None:
    """``view`` for one kind of record at ``rule``, under its own endpoint (its own contract and
    operationId in the document) with the shared rate limit."""

    @wraps(view)
    def for_kind(**kwargs: Any):
        return view(entities, **kwargs)

    for_kind.__name__ = for_kind.__qualname__ = endpoint  # the rate limiter tells views by name
    bp.add_url_rule(rule, endpoint, per_user(contract(for_kind)), methods=[method])


def _register(entities: str) -> None:
    entity = ENTITIES[entities]
    record = serialize.schema(entity)
    one = f"/{entities}/<int:record_id>"
    _route(f"/{entities}", f"list_{entities}", "GET", entities, list_records, documented(
        f"List {entities}: filtered, searched, sorted, paginated", tag="crm", params=_list_params(entity),
        responses={200: {"description": "One page and links to its neighbours (next is null past the "
                                        f"last page or page {MAX_PAGE:,})", "schema": _list_schema(entity)},
                   422: "A list argument is not valid, or names a custom field that "
                                           "does not exist (code invalid)"}))
    _route(f"/{entities}/export", f"export_{entities}", "GET", entities, export, documented(
        f"Download every one of the {entities} the list arguments match as CSV (streamed)", tag="crm",
        params=_filters(entity),
        responses={200: {"description": "CSV: ID, the field labels, then Custom: <label> columns",
                         "content": {"text/csv": {"schema": string()}}},
                   422: "A list argument is not valid"}))
    _route(f"/{entities}", f"create_{entities}", "POST", entities, create_record, documented(
        f"Create one of the {entities} (it belongs to you unless owner is given)", tag="crm",
        body=serialize.body_schema(entity, whole=True),
        responses={201: {"description": "The new record", "schema": record, "links": _record_links(entities),
                         "headers": {"Location": {"description": "the new record", "required": True,
                                                  "schema": string()}}},
                   409: RULE, 422: REFUSED}))
    _route(one, f"get_{entities}", "GET", entities, get_record, documented(
        "One record", tag="crm", responses={200: {"description": "The record", "schema": record},
                                            404: f"{NOT_FOUND} (a trashed one is under /trash)"}))
    # The trash is a resource of its own: once deleted, a record is gone from its path.
    trashed = f"/{entities}/trash/<int:record_id>"
    _route(trashed, f"get_trashed_{entities}", "GET", entities, get_trashed_record, documented(
        "One record in the trash (bulk action restore brings it back)", tag="crm",
        responses={200: {"description": "The record, deleted_at set", "schema": record},
                   404: "No such record in your organization's trash"}))
    _route(one, f"trash_{entities}", "DELETE", entities, trash_record, documented(
        "Move a record to the trash (bulk action restore brings it back)", tag="crm",
        responses={204: "Moved to the trash", 403: "Your role may not delete", 404: NOT_FOUND}))
    _route(one, f"update_{entities}", "PATCH", entities, update_record, documented(
        "Change the fields sent; the others stay", tag="crm", body=serialize.body_schema(entity, whole=False),
        responses={200: {"description": "The record", "schema": record}, 403: "Not your record, or a "
                   "reassignment your role may not make", 404: NOT_FOUND, 409: RULE, 422: REFUSED}))
    _route(one, f"replace_{entities}", "PUT", entities, replace_record, documented(
        "Replace a record: fields absent from the body are cleared (the owner is kept; a deal keeps its "
        "stage); what a GET returned may be sent back as it is", tag="crm",
        body=serialize.body_schema(entity, whole=True),
        responses={200: {"description": "The record", "schema": record}, 403: "Not your record, or a "
                   "reassignment your role may not make", 404: NOT_FOUND, 409: RULE, 422: REFUSED}))
    _route(f"/{entities}/bulk", f"bulk_{entities}", "POST", entities, bulk, documented(
        f"Apply one action to many {entities}: by ids, or to all a filter matches (up to {MAX_BULK:,})",
        tag="crm", body=_bulk_body(entity),
        responses={200: {"description": "How many records changed",
                         "schema": serialize.always(changed=integer(minimum=0))},
                   403: "Your role may not", 422: "No ids and no filter, too many records, or a value "
                                                  "that names nothing (code invalid)"}))


for _entities in ENTITIES:
    _register(_entities)
