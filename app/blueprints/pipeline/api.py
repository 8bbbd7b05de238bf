"""``/api/pipeline``: pipelines, stages and their rules, stage history, the board, moving a deal.

The same services as the pages. Each route's ``@documented`` declaration is its contract: query
parameters and bodies outside it are refused (422 ``invalid_request``) before the view runs, so
the views read ``g.args`` and the body as declared. What a schema cannot know stays with the
services: an id that names nothing, a taken name, a pipeline's last stage (422 ``invalid``); a
move that breaks a stage rule is a 409 ``rule_broken`` naming the rule.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, g, jsonify, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.api.auth import per_member_limit, protect
from app.api.docs import ID, NULL_ID, always, documented, integer, obj, query, string, text, whole_numbers_to
from app.blueprints.crm.public import record_json, schema
from app.blueprints.pipeline import board as boards
from app.blueprints.pipeline import service
from app.blueprints.pipeline.models import Pipeline, Stage, StageKind
from app.blueprints.pipeline.routes import org_pipelines
from app.blueprints.pipeline.rules import REQUIRABLE
from app.canonical import ID_MAX
from app.errors import DomainError, NotFound
from app.extensions import db

bp = protect(Blueprint("pipeline_api", __name__, url_prefix="/api/pipeline"))


per_user = per_member_limit("pipeline_api")

MAX_PAGE = 1_000_000  # of a stage's history: far beyond any, and an offset the database skips quickly
MAX_PER_PAGE = 200


def array(items: dict, **extra: Any) -> dict:
    return {"type": "array", "items": items, **extra}


# -- shapes ------------------------------------------------------------------------------------

KIND = string(enum=[k.value for k in StageKind])
COLOUR = string(enum=list(service.COLOURS))
PROBABILITY = integer(minimum=0, maximum=100)
REQUIRED_FIELD = string(pattern=f"^({'|'.join(REQUIRABLE)}|custom\\.[a-z0-9_]{{1,64}})$",
                        description="a deal field, or custom.<key> for a deal custom field",
                        **{"x-pattern-message": _l("One of: %(fields)s, custom.<key>.",
                                                       fields=", ".join(REQUIRABLE))})
STAGE_NAME = string(minLength=1, maxLength=80)
PIPELINE_NAME = string(minLength=1, maxLength=120)
NULLABLE_INT = {"type": ["integer", "null"]}
NULLABLE_TEXT = {"type": ["string", "null"]}

STAGE = always(
    id=ID, pipeline_id=ID, name=STAGE_NAME, position=integer(minimum=0), kind=KIND,
    probability=PROBABILITY, colour=COLOUR, wip_limit={**NULLABLE_INT, "minimum": 1},
    required_fields=array(REQUIRED_FIELD, description="deal fields required to enter"),
    allowed_from=array(ID, description="stage ids a deal may come from (empty: any)"),
    allow_exit={"type": "boolean", "description": "whether deals may leave (won/lost stages)"})
PIPELINE = always(id=ID, name=PIPELINE_NAME, position=integer(minimum=0), stages=array(STAGE))
MOVE = always(id=ID, deal_id=ID, from_stage_id=NULLABLE_INT, from_stage=NULLABLE_TEXT,
              to_stage_id={**NULLABLE_INT, "description": "null once the stage is deleted"},
              to_stage=string(), actor_id=NULLABLE_INT, moved_at=string(format="date-time"),
              seconds_in_previous=NULLABLE_INT, reason=NULLABLE_TEXT)
SUMS = {"type": "object", "additionalProperties": string(), "description": "currency -> sum, as a decimal"}
CARD = always(id=ID, title=string(), value=NULLABLE_TEXT, currency=string(), owner_id=NULLABLE_INT,
              contact_id=NULLABLE_INT, contact=string(), company_id=NULLABLE_INT, company=NULLABLE_TEXT,
              days_in_stage=integer(minimum=0), position={"type": "number"})
COLUMN = always(stage=STAGE, count=integer(minimum=0), totals=SUMS,
                weighted={**SUMS, "description": "currency -> sum of value x probability, as a decimal"},
                cards=array(CARD), has_more={"type": "boolean"})
DELETED = always(deals_moved=integer(minimum=0))

# -- bodies ------------------------------------------------------------------------------------

STAGE_FIELDS = {
    "name": STAGE_NAME, "kind": KIND, "colour": COLOUR, "probability": PROBABILITY,
    "wip_limit": {**NULLABLE_INT, "minimum": 1, "maximum": service.MAX_WIP_LIMIT,
                  "description": "most deals the column may hold (null: no limit)"},
    "required_fields": array(REQUIRED_FIELD, description=f"deal fields required to enter: "
                             f"{', '.join(REQUIRABLE)} or custom.<key>"),
    "allowed_from": array(ID, description="other stages of the pipeline a deal may come from (empty: any)"),
    "allow_exit": {"type": "boolean", "description": "whether deals may leave (won/lost stages only)"},
    "position": integer(minimum=0, maximum=service.MAX_STAGES - 1,
                        description="0-based place among the pipeline's stages (past the last: last)"),
}
NEW_STAGE = obj(["pipeline_id", "name"], pipeline_id=ID, **STAGE_FIELDS)
STAGE_CHANGES = obj(**STAGE_FIELDS)
PIPELINE_CHANGES = obj(
    name=PIPELINE_NAME,
    position=integer(minimum=0, maximum=service.MAX_PIPELINES - 1,
                     description="0-based place among the pipelines (past the last: last)"),
    stage_order=array(ID, uniqueItems=True, maxItems=service.MAX_STAGES,
                      description="every stage id of the pipeline, in the new order"))
DEAL_MOVE = obj(["stage_id"], stage_id=ID,
                above_id={**NULL_ID, "description": "the card it lands below"},
                below_id={**NULL_ID, "description": "the card it lands above"})

# -- parameters and answers ----------------------------------------------------------------------


MOVE_TO = query("move_to", "the stage that receives the deals (required when there are any)", ID)
FILTERS = [query("q", "search deals, contacts, companies", text(200)),
           query("owner", "the owner's user id, or none",
                 string(pattern=f"^(none|{whole_numbers_to(ID_MAX)})$",
                        **{"x-pattern-message": _l("A user id, or none.")})),
           query("tag", "a tag's name", text(64))]
LIMIT = query("limit", f"cards per column (default {boards.PAGE})",
              integer(minimum=1, maximum=boards.MAX_LIMIT))
PAGE = query("page", "1-based page (default 1)", integer(minimum=1, maximum=MAX_PAGE))
PER_PAGE = query("per_page", "moves per page (default 50)", integer(minimum=1, maximum=MAX_PER_PAGE))
STAGES_OF = query("pipeline_id", "only this pipeline's stages", ID)

NOT_FOUND = "No such pipeline, stage or deal in your organization"
MANAGERS = "Managers and above only"
MOVED_MEANWHILE = "Someone moved one of its deals, or changed its stages, meanwhile: try again"
CHANGED_MEANWHILE = "Someone changed or deleted it, or a stage beside it, meanwhile: try again"
LOCATION = {"Location": {"description": "where it can be read", "schema": string()}}


def links(parameter: str, *operations: str) -> dict:
    """OpenAPI links from a created resource (its ``id``, as ``parameter``) to the operations that
    take it."""
    return {op: {"operationId": f"pipeline_api.{op}", "parameters": {parameter: "$response.body#/id"}}
            for op in operations}


def stage_json(stage: Stage) -> dict[str, Any]:
    return {"id": stage.id, "pipeline_id": stage.pipeline_id, "name": stage.stored_name,  # data: as stored
            "position": stage.position, "kind": stage.kind, "probability": stage.probability,
            "colour": stage.colour, "wip_limit": stage.wip_limit,
            "required_fields": list(stage.required_fields or []),
            "allowed_from": list(stage.allowed_from or []), "allow_exit": stage.allow_exit}


def pipeline_json(pipeline: Pipeline) -> dict[str, Any]:
    return {"id": pipeline.id, "name": pipeline.stored_name, "position": pipeline.position,
            "stages": [stage_json(s) for s in pipeline.stages]}


def created(body: dict[str, Any], location: str):
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response


@contextmanager
def naming(field: str, noun: str) -> Iterator[None]:
    """A lookup whose NotFound means that ``field`` of the request names nothing: a 422 on that
    field (the path itself exists, so it is no 404). ``noun``: "pipeline" or "stage"."""
    try:
        yield
    except NotFound:
        if noun == "pipeline":
            message, short = (_("%(field)s: no such pipeline in your organization.", field=field),
                              _("No such pipeline."))
        else:
            message, short = (_("%(field)s: no such stage in your organization.", field=field),
                              _("No such stage."))
        raise DomainError(message, {field: short}) from None


# -- pipelines ---------------------------------------------------------------------------------

@bp.get("")
@per_user
@documented("Every pipeline with its stages", tag="pipeline",
            responses={200: {"description": "Pipelines in order",
                                     "schema": always(items=array(PIPELINE))}})
def list_pipelines():
    return jsonify({"items": [pipeline_json(p) for p in org_pipelines(g.membership.org_id)]})


@bp.post("")
@per_user
@documented("Create a pipeline (with New, In progress, Won and Lost stages)", tag="pipeline",
            body=obj(["name"], name=PIPELINE_NAME),
            responses={
                201: {"description": "The pipeline", "schema": PIPELINE, "headers": LOCATION,
                      "links": links("pipeline_id", "read_pipeline", "update_pipeline", "board",
                                     "delete_pipeline")},
                403: MANAGERS,
                422: f"A blank or taken name, or already {service.MAX_PIPELINES} pipelines"})
def create_pipeline():
    pipeline = service.create_pipeline(g.membership, request.get_json()["name"])
    db.session.commit()
    return created(pipeline_json(pipeline), url_for(".read_pipeline", pipeline_id=pipeline.id))


@bp.get("/<int:pipeline_id>")
@per_user
@documented("A pipeline with its stages", tag="pipeline",
            responses={200: {"description": "The pipeline", "schema": PIPELINE}, 404: NOT_FOUND})
def read_pipeline(pipeline_id: int):
    return jsonify(pipeline_json(service.get_pipeline(g.membership.org_id, pipeline_id)))


@bp.put("/<int:pipeline_id>")
@per_user
@documented("Rename a pipeline, move it among pipelines, or reorder its stages", tag="pipeline",
            body=PIPELINE_CHANGES,
            responses={200: {"description": "The pipeline", "schema": PIPELINE}, 404: NOT_FOUND,
                               403: MANAGERS, 409: CHANGED_MEANWHILE,
                               422: "A blank or taken name, or a stage_order that is not every stage once"})
def update_pipeline(pipeline_id: int):
    pipeline = service.update_pipeline(g.membership, pipeline_id, request.get_json())
    db.session.commit()
    return jsonify(pipeline_json(pipeline))


@bp.delete("/<int:pipeline_id>")
@per_user
@documented("Delete a pipeline; its deals move to stage move_to of another pipeline", tag="pipeline",
            params=[MOVE_TO],
            responses={200: {"description": "Deleted", "schema": DELETED}, 404: NOT_FOUND,
                               403: MANAGERS, 409: MOVED_MEANWHILE,
                               422: "It holds deals and move_to is missing or names no stage of another "
                                    "pipeline, or it is the last pipeline"})
def delete_pipeline(pipeline_id: int):
    moved = service.delete_pipeline(g.membership, pipeline_id, g.args.get("move_to"))
    db.session.commit()
    return jsonify({"deals_moved": moved})


@bp.get("/<int:pipeline_id>/board")
@per_user
@documented("The board: every column with its count, sums and first cards", tag="pipeline",
            params=[*FILTERS, LIMIT],
            responses={200: {"description": "Columns in stage order",
                                     "schema": always(pipeline=PIPELINE, columns=array(COLUMN))},
                               404: NOT_FOUND})
def board(pipeline_id: int):
    org_id = g.membership.org_id
    pipeline = service.get_pipeline(org_id, pipeline_id)
    flt = boards.BoardFilter.from_args(g.args)  # q, owner and tag, as declared
    columns = boards.board(org_id, pipeline.stages, flt, per_column=g.args.get("limit", boards.PAGE))
    return jsonify({"pipeline": pipeline_json(pipeline), "columns": [{
        "stage": stage_json(c.stage), "count": c.count, "has_more": c.has_more,
        "totals": {k: str(v) for k, v in c.totals.items()},
        "weighted": {k: str(v) for k, v in c.weighted.items()},
        "cards": [card_json(card) for card in c.cards],
    } for c in columns]})


def card_json(card: boards.Card) -> dict[str, Any]:
    return {"id": card.id, "title": card.title, "value": str(card.value) if card.value is not None else None,
            "currency": card.currency, "owner_id": card.owner_id, "contact_id": card.contact_id,
            "contact": card.contact_name, "company_id": card.company_id, "company": card.company_name,
            "days_in_stage": card.days_in_stage, "position": card.position}


# -- stages ------------------------------------------------------------------------------------

@bp.get("/stages")
@per_user
@documented("Stages of every pipeline, or of one", tag="pipeline", params=[STAGES_OF],
            responses={200: {"description": "Stages in board order",
                                     "schema": always(items=array(STAGE))},
                               422: "pipeline_id names no pipeline (code invalid)"})
def list_stages():
    org_id = g.membership.org_id
    if "pipeline_id" in g.args:
        with naming("pipeline_id", "pipeline"):
            stages = service.get_pipeline(org_id, g.args["pipeline_id"]).stages
    else:
        stages = service.stages(org_id)
    return jsonify({"items": [stage_json(s) for s in stages]})


@bp.post("/stages")
@per_user
@documented("Add a stage to a pipeline", tag="pipeline", body=NEW_STAGE,
            responses={
                201: {"description": "The stage", "schema": STAGE, "headers": LOCATION,
                      "links": links("stage_id", "read_stage", "update_stage", "stage_history",
                                     "delete_stage")},
                403: MANAGERS, 409: CHANGED_MEANWHILE,
                422: f"pipeline_id names no pipeline, a rule names what it cannot (a field, a stage), the "
                     f"name is blank or taken, or the pipeline has {service.MAX_STAGES} stages"})
def create_stage():
    data = dict(request.get_json())
    pipeline_id = data.pop("pipeline_id")
    with naming("pipeline_id", "pipeline"):
        stage = service.create_stage(g.membership, pipeline_id, data)
    db.session.commit()
    return created(stage_json(stage), url_for(".read_stage", stage_id=stage.id))


@bp.get("/stages/<int:stage_id>")
@per_user
@documented("A stage with its rules", tag="pipeline",
            responses={200: {"description": "The stage", "schema": STAGE}, 404: NOT_FOUND})
def read_stage(stage_id: int):
    return jsonify(stage_json(service.get_stage(g.membership.org_id, stage_id)))


@bp.put("/stages/<int:stage_id>")
@per_user
@documented("Change a stage: name, kind, colour, probability, WIP limit, rules, position", tag="pipeline",
            body=STAGE_CHANGES,
            responses={200: {"description": "The stage", "schema": STAGE}, 404: NOT_FOUND,
                               403: MANAGERS, 409: CHANGED_MEANWHILE,
                               422: "A rule names what it cannot (a field, a stage), the name is blank or "
                                    "taken, or the kind would change under deals it holds"})
def update_stage(stage_id: int):
    stage = service.update_stage(g.membership, stage_id, request.get_json())
    db.session.commit()
    return jsonify(stage_json(stage))


@bp.delete("/stages/<int:stage_id>")
@per_user
@documented("Delete a stage; its deals move to stage move_to", tag="pipeline", params=[MOVE_TO],
            responses={200: {"description": "Deleted", "schema": DELETED}, 404: NOT_FOUND,
                               403: MANAGERS, 409: MOVED_MEANWHILE,
                               422: "It holds deals and move_to is missing or names no other stage, or it "
                                    "is the pipeline's last stage"})
def delete_stage(stage_id: int):
    moved = service.delete_stage(g.membership, stage_id, g.args.get("move_to"))
    db.session.commit()
    return jsonify({"deals_moved": moved})


@bp.get("/stages/<int:stage_id>/history")
@per_user
@documented("Moves into and out of a stage, newest first", tag="pipeline", params=[PAGE, PER_PAGE],
            responses={200: {"description": "A page of moves", "schema": always(
                items=array(MOVE), total=integer(minimum=0), page=integer(minimum=1),
                per_page=integer(minimum=1))}, 404: NOT_FOUND})
def stage_history(stage_id: int):
    org_id = g.membership.org_id
    service.get_stage(org_id, stage_id)
    page, per_page = g.args.get("page", 1), g.args.get("per_page", 50)
    moves, total = boards.stage_history(org_id, stage_id, page=page, per_page=per_page)
    return jsonify({"items": [m.as_dict() for m in moves], "total": total, "page": page,
                    "per_page": per_page})


# -- moving a deal -----------------------------------------------------------------------------

@bp.put("/clients/<int:deal_id>/stage")
@per_user
@documented("Move a deal to a stage (and a place in its column), obeying the stage rules",
            tag="pipeline", body=DEAL_MOVE,
            responses={200: {"description": "The deal and the history entry (null: no stage change)",
                                     "schema": always(deal=schema("deal"),
                                                      move={"oneOf": [MOVE, {"type": "null"}]})},
                               403: "Not your deal", 404: NOT_FOUND,
                               409: "A stage rule refuses the move (code rule_broken; the message names the "
                                    "rule), or someone moved the deal or its neighbours meanwhile (code "
                                    "conflict)",
                               422: "stage_id names no stage (code invalid)"})
def move_deal(deal_id: int):
    org_id = g.membership.org_id
    data = request.get_json()
    boards.card(org_id, deal_id)  # another org's deal is a 404 before the stage is looked at
    with naming("stage_id", "stage"):
        service.get_stage(org_id, data["stage_id"])
    done = boards.move_card(g.membership, deal_id, data["stage_id"], data.get("above_id"),
                            data.get("below_id"))
    body = {"deal": record_json("deal", done.deal),
            "move": done.history.as_dict() if done.history is not None else None}
    db.session.commit()
    return jsonify(body)
