"""``/api/pipeline``: pipelines, stages and their rules, stage history, the board, moving a deal.

The same services as the pages: a move that breaks a stage rule is a 409 ``rule_broken`` naming
the rule. Bodies are strict: an unknown key is a 422 naming it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request

from app.api.auth import json_body, only_fields, per_member_limit, protect
from app.api.docs import documented, integer, obj, string
from app.blueprints.crm.public import record_json, schema
from app.blueprints.pipeline import board as boards
from app.blueprints.pipeline import service
from app.blueprints.pipeline.models import Pipeline, Stage, StageKind
from app.blueprints.pipeline.routes import org_pipelines
from app.blueprints.pipeline.rules import REQUIRABLE
from app.errors import DomainError
from app.extensions import db

bp = protect(Blueprint("pipeline_api", __name__, url_prefix="/api/pipeline"))


per_user = per_member_limit("pipeline_api")

# -- shapes ------------------------------------------------------------------------------------

STAGE = obj(id=integer(), pipeline_id=integer(), name=string(), position=integer(),
            kind=string(enum=[k.value for k in StageKind]), probability=integer(minimum=0, maximum=100),
            colour=string(enum=list(service.COLOURS)), wip_limit={"type": ["integer", "null"]},
            required_fields={"type": "array", "items": string(), "description":
                             f"deal fields required to enter: {', '.join(REQUIRABLE)} or custom.<key>"},
            allowed_from={"type": "array", "items": integer(),
                          "description": "stage ids a deal may come from (empty: any)"},
            allow_exit={"type": "boolean", "description": "whether deals may leave (won/lost stages)"})
PIPELINE = obj(id=integer(), name=string(), position=integer(), stages={"type": "array", "items": STAGE})
STAGE_BODY = obj(pipeline_id=integer(), name=string(), kind=string(), colour=string(),
                 probability=integer(), wip_limit={"type": ["integer", "null"]},
                 required_fields={"type": "array", "items": string()},
                 allowed_from={"type": "array", "items": integer()}, allow_exit={"type": "boolean"},
                 position=integer(description="0-based place among the pipeline's stages"))
MOVE = obj(id=integer(), deal_id=integer(), from_stage_id={"type": ["integer", "null"]},
           from_stage={"type": ["string", "null"]}, to_stage_id=integer(), to_stage=string(),
           actor_id={"type": ["integer", "null"]}, moved_at=string(format="date-time"),
           seconds_in_previous={"type": ["integer", "null"]}, reason={"type": ["string", "null"]})
CARD = obj(id=integer(), title=string(), value={"type": ["string", "null"]}, currency=string(),
           owner_id={"type": ["integer", "null"]}, contact_id={"type": ["integer", "null"]},
           contact=string(), company_id={"type": ["integer", "null"]},
           company={"type": ["string", "null"]}, days_in_stage=integer(), position={"type": "number"})
COLUMN = obj(stage=STAGE, count=integer(), totals={"type": "object", "description": "currency -> sum"},
             weighted={"type": "object", "description": "currency -> sum of value x probability"},
             cards={"type": "array", "items": CARD}, has_more={"type": "boolean"})
NOT_FOUND = "No such pipeline, stage or deal in your organization"
RULE = "A stage rule refuses the move (code rule_broken; the message names the rule)"
MOVE_TO = {"name": "move_to", "in": "query", "required": False, "schema": integer(),
           "description": "the stage that receives the deals (required when there are any)"}
FILTERS = [{"name": name, "in": "query", "required": False, "schema": string(), "description": text}
           for name, text in (("q", "search deals, contacts, companies"),
                              ("owner", "owner's user id, or none"), ("tag", "tag name"))]


def stage_json(stage: Stage) -> dict[str, Any]:
    return {"id": stage.id, "pipeline_id": stage.pipeline_id, "name": stage.name,
            "position": stage.position, "kind": stage.kind, "probability": stage.probability,
            "colour": stage.colour, "wip_limit": stage.wip_limit,
            "required_fields": list(stage.required_fields or []),
            "allowed_from": list(stage.allowed_from or []), "allow_exit": stage.allow_exit}


def pipeline_json(pipeline: Pipeline) -> dict[str, Any]:
    return {"id": pipeline.id, "name": pipeline.name, "position": pipeline.position,
            "stages": [stage_json(s) for s in pipeline.stages]}


def _move_to() -> Any:
    return request.args.get("move_to")


def _positive(name: str, default: int, most: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= most:
        raise DomainError(f"{name}: a whole number from 1 to {most}.", {name: f"From 1 to {most}."})
    return int(raw)


# -- pipelines ---------------------------------------------------------------------------------

@bp.get("")
@per_user
@documented("Every pipeline with its stages", tag="pipeline",
            responses={200: {"description": "Pipelines in order",
                             "schema": obj(items={"type": "array", "items": PIPELINE})}})
def list_pipelines():
    return jsonify({"items": [pipeline_json(p) for p in org_pipelines(g.membership.org_id)]})


@bp.post("")
@per_user
@documented("Create a pipeline (with New, In progress, Won and Lost stages)", tag="pipeline",
            body=obj(["name"], name=string()),
            responses={201: {"description": "The pipeline", "schema": PIPELINE},
                       403: "Managers and above only", 422: "Invalid fields"})
def create_pipeline():
    data = only_fields(json_body(), {"name"})
    pipeline = service.create_pipeline(g.membership, data.get("name"))
    db.session.commit()
    return jsonify(pipeline_json(pipeline)), 201


@bp.put("/<int:pipeline_id>")
@per_user
@documented("Rename a pipeline, move it among pipelines, or reorder its stages", tag="pipeline",
            body=obj(name=string(), position=integer(),
                     stage_order={"type": "array", "items": integer(),
                                  "description": "every stage id of the pipeline, in the new order"}),
            responses={200: {"description": "The pipeline", "schema": PIPELINE}, 404: NOT_FOUND,
                       403: "Managers and above only", 422: "Invalid fields"})
def update_pipeline(pipeline_id: int):
    data = only_fields(json_body(), {"name", "position", "stage_order"})
    pipeline = service.update_pipeline(g.membership, pipeline_id, data)
    db.session.commit()
    return jsonify(pipeline_json(pipeline))


@bp.delete("/<int:pipeline_id>")
@per_user
@documented("Delete a pipeline; its deals move to stage move_to of another pipeline", tag="pipeline",
            params=[MOVE_TO],
            responses={200: {"description": "Deleted", "schema": obj(deals_moved=integer())},
                       404: NOT_FOUND, 403: "Managers and above only",
                       422: "It holds deals and move_to is missing, or it is the last pipeline"})
def delete_pipeline(pipeline_id: int):
    moved = service.delete_pipeline(g.membership, pipeline_id, _move_to())
    db.session.commit()
    return jsonify({"deals_moved": moved})


@bp.get("/<int:pipeline_id>/board")
@per_user
@documented("The board: every column with its count, sums and first cards", tag="pipeline",
            params=[*FILTERS, {"name": "limit", "in": "query", "required": False,
                               "schema": integer(minimum=1, maximum=boards.MAX_LIMIT),
                               "description": f"cards per column (default {boards.PAGE})"}],
            responses={200: {"description": "Columns in stage order",
                             "schema": obj(pipeline=PIPELINE, columns={"type": "array", "items": COLUMN})},
                       404: NOT_FOUND})
def board(pipeline_id: int):
    org_id = g.membership.org_id
    pipeline = service.get_pipeline(org_id, pipeline_id)
    limit = _positive("limit", boards.PAGE, boards.MAX_LIMIT)
    flt = boards.BoardFilter.from_args(request.args)
    columns = boards.board(org_id, pipeline.stages, flt, per_column=limit)
    return jsonify({"pipeline": pipeline_json(pipeline), "columns": [{
        "stage": stage_json(c.stage), "count": c.count, "has_more": c.has_more,
        "totals": {k: str(v) for k, v in c.totals.items()},
        "weighted": {k: str(v) for k, v in c.weighted.items()},
        "cards": [{"id": card.id, "title": card.title,
                   "value": str(card.value) if card.value is not None else None,
                   "currency": card.currency, "owner_id": card.owner_id, "contact_id": card.contact_id,
                   "contact": card.contact_name, "company_id": card.company_id,
                   "company": card.company_name, "days_in_stage": card.days_in_stage,
                   "position": card.position} for card in c.cards],
    } for c in columns]})


# -- stages ------------------------------------------------------------------------------------

STAGE_KEYS = {"name", "kind", "colour", "probability", "wip_limit", "required_fields", "allowed_from",
              "allow_exit", "position"}


@bp.get("/stages")
@per_user
@documented("Stages of every pipeline, or of one", tag="pipeline",
            params=[{"name": "pipeline_id", "in": "query", "required": False, "schema": integer(),
                     "description": "only this pipeline's stages"}],
            responses={200: {"description": "Stages in board order",
                             "schema": obj(items={"type": "array", "items": STAGE})}, 404: NOT_FOUND})
def list_stages():
    org_id = g.membership.org_id
    pipeline_id = request.args.get("pipeline_id")
    if pipeline_id is not None:
        if not pipeline_id.isdigit():
            raise DomainError("pipeline_id: a pipeline id.", {"pipeline_id": "A pipeline id."})
        stages = service.get_pipeline(org_id, int(pipeline_id)).stages
    else:
        stages = service.stages(org_id)
    return jsonify({"items": [stage_json(s) for s in stages]})


@bp.post("/stages")
@per_user
@documented("Add a stage to a pipeline", tag="pipeline",
            body={**STAGE_BODY, "required": ["pipeline_id", "name"]},
            responses={201: {"description": "The stage", "schema": STAGE}, 404: NOT_FOUND,
                       403: "Managers and above only", 422: "Invalid fields"})
def create_stage():
    data = only_fields(json_body(), STAGE_KEYS | {"pipeline_id"})
    pipeline_id = data.pop("pipeline_id", None)
    if not isinstance(pipeline_id, int) or isinstance(pipeline_id, bool):
        raise DomainError("Name the pipeline.", {"pipeline_id": "A pipeline id."})
    stage = service.create_stage(g.membership, pipeline_id, data)
    db.session.commit()
    return jsonify(stage_json(stage)), 201


@bp.put("/stages/<int:stage_id>")
@per_user
@documented("Change a stage: name, kind, colour, probability, WIP limit, rules, position", tag="pipeline",
            body=STAGE_BODY, responses={200: {"description": "The stage", "schema": STAGE}, 404: NOT_FOUND,
                                        403: "Managers and above only", 422: "Invalid fields"})
def update_stage(stage_id: int):
    data = only_fields(json_body(), STAGE_KEYS)
    stage = service.update_stage(g.membership, stage_id, data)
    db.session.commit()
    return jsonify(stage_json(stage))


@bp.delete("/stages/<int:stage_id>")
@per_user
@documented("Delete a stage; its deals move to stage move_to", tag="pipeline", params=[MOVE_TO],
            responses={200: {"description": "Deleted", "schema": obj(deals_moved=integer())},
                       404: NOT_FOUND, 403: "Managers and above only",
                       422: "It holds deals and move_to is missing, or it is the pipeline's last stage"})
def delete_stage(stage_id: int):
    moved = service.delete_stage(g.membership, stage_id, _move_to())
    db.session.commit()
    return jsonify({"deals_moved": moved})


@bp.get("/stages/<int:stage_id>/history")
@per_user
@documented("Moves into and out of a stage, newest first", tag="pipeline",
            params=[{"name": "page", "in": "query", "required": False, "schema": integer(minimum=1)},
                    {"name": "per_page", "in": "query", "required": False,
                     "schema": integer(minimum=1, maximum=200)}],
            responses={200: {"description": "A page of moves", "schema": obj(
                items={"type": "array", "items": MOVE}, total=integer(), page=integer(), per_page=integer())},
                404: NOT_FOUND})
def stage_history(stage_id: int):
    org_id = g.membership.org_id
    service.get_stage(org_id, stage_id)
    page, per_page = _positive("page", 1, 1_000_000), _positive("per_page", 50, 200)
    moves, total = boards.stage_history(org_id, stage_id, page=page, per_page=per_page)
    return jsonify({"items": [m.as_dict() for m in moves], "total": total, "page": page,
                    "per_page": per_page})


# -- moving a deal -----------------------------------------------------------------------------

@bp.put("/clients/<int:deal_id>/stage")
@per_user
@documented("Move a deal to a stage (and a place in its column), obeying the stage rules",
            tag="pipeline",
            body=obj(["stage_id"], stage_id=integer(),
                     above_id={"type": ["integer", "null"], "description": "the card it lands below"},
                     below_id={"type": ["integer", "null"], "description": "the card it lands above"}),
            responses={200: {"description": "The deal and the history entry (null: no stage change)",
                             "schema": obj(deal=schema("deal"),
                                           move={"oneOf": [MOVE, {"type": "null"}]})},
                       403: "Not your deal", 404: NOT_FOUND, 409: RULE, 422: "Invalid fields"})
def move_deal(deal_id: int):
    boards.card(g.membership.org_id, deal_id)  # another org's deal is a 404 before any 422
    data = only_fields(json_body(), {"stage_id", "above_id", "below_id"})
    ids = {}
    for key in ("stage_id", "above_id", "below_id"):
        value = data.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise DomainError(f"{key}: a deal or stage id.", {key: "An id."})
        ids[key] = value
    if ids["stage_id"] is None:
        raise DomainError("Name the stage to move to.", {"stage_id": "A stage id."})
    done = boards.move_card(g.membership, deal_id, ids["stage_id"], ids["above_id"], ids["below_id"])
    body = {"deal": record_json("deal", done.deal),
            "move": done.history.as_dict() if done.history is not None else None}
    db.session.commit()
    return jsonify(body)
