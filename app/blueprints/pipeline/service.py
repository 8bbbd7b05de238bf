"""Pipelines and their stages: create, rename, reorder, set rules, delete without losing a deal.

Flask-free: explicit actor, flush, never commit. Managers and above change pipelines; everyone
reads them. Deleting a stage or a pipeline that holds deals needs a stage to move them to, and
those moves are written to each deal's stage history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from babel.numbers import format_decimal
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from app.audit import record as audit
from app.blueprints.crm.public import Deal, custom_fields
from app.blueprints.pipeline.models import Pipeline, Stage, StageKind
from app.blueprints.pipeline.moves import POSITION_STEP, move_to_stage, top_position
from app.blueprints.pipeline.rules import REQUIRABLE
from app.blueprints.team.public import OrganizationCreated, Permission, require
from app.errors import DomainError, NotFound
from app.events import subscribe
from app.extensions import db
from app.tenancy import NOT_FOUND, get_in_org

if TYPE_CHECKING:
    from app.blueprints.team.public import Membership

MADE_DEFAULT = "made_default_pipeline"
COLOURS = ("slate", "blue", "indigo", "violet", "amber", "green", "red")
COLOUR_LABELS = {"slate": _l("Slate"), "blue": _l("Blue"), "indigo": _l("Indigo"), "violet": _l("Violet"),
                 "amber": _l("Amber"), "green": _l("Green"), "red": _l("Red")}
MAX_STAGES = 30
MAX_PIPELINES = 50
MAX_WIP_LIMIT = 10_000  # a column limit, and within what the INTEGER column holds on PostgreSQL

# The names are stored in English and read in each viewer's language while kept (models.DEFAULT_NAMES).
DEFAULT_STAGES = (
    ("New lead", StageKind.OPEN, 10, "slate"),
    ("Qualified", StageKind.OPEN, 25, "blue"),
    ("Meeting booked", StageKind.OPEN, 40, "indigo"),
    ("Proposal", StageKind.OPEN, 60, "violet"),
    ("Negotiation", StageKind.OPEN, 80, "amber"),
    ("Won", StageKind.WON, 100, "green"),
    ("Lost", StageKind.LOST, 0, "red"),
)
STARTER_STAGES = (
    ("New", StageKind.OPEN, 10, "slate"),
    ("In progress", StageKind.OPEN, 50, "blue"),
    ("Won", StageKind.WON, 100, "green"),
    ("Lost", StageKind.LOST, 0, "red"),
)


# -- reading -----------------------------------------------------------------------------------

def create_default_pipeline(org_id: int) -> Pipeline:
    pipeline = _new_pipeline(org_id, "Sales", DEFAULT_STAGES, position=0)
    db.session.info[MADE_DEFAULT] = True  # a reading route commits it (see made_default_pipeline)
    return pipeline


def made_default_pipeline() -> bool:
    """Whether this transaction made an organization's first pipeline (a page that only reads
    must then commit, so the stage ids it shows exist for the next request)."""
    return bool(db.session.info.pop(MADE_DEFAULT, False))


def default_pipeline(org_id: int) -> Pipeline:
    """The organization's first pipeline, created with standard stages if it has none."""
    pipeline = db.session.scalar(
        select(Pipeline).where(Pipeline.org_id == org_id).order_by(Pipeline.position, Pipeline.id)
    )
    return pipeline or create_default_pipeline(org_id)


def pipelines(org_id: int) -> list[Pipeline]:
    """Every pipeline of the org in order, stages loaded, in one statement.

    Organizations get their pipeline when they are created; one made before that (or by hand in
    a test) gets it here, and the caller's commit keeps it.
    """
    found = list(db.session.scalars(
        select(Pipeline).where(Pipeline.org_id == org_id).options(joinedload(Pipeline.stages))
        .order_by(Pipeline.position, Pipeline.id)).unique())
    return found or [create_default_pipeline(org_id)]


def stages(org_id: int) -> list[Stage]:
    return list(db.session.scalars(
        select(Stage).join(Pipeline).where(Stage.org_id == org_id)
        .order_by(Pipeline.position, Pipeline.id, Stage.position)
    ))


def get_pipeline(org_id: int, pipeline_id: int) -> Pipeline:
    return get_in_org(Pipeline, pipeline_id, org_id, "Pipeline")


def get_stage(org_id: int, stage_id: int) -> Stage:
    return get_in_org(Stage, stage_id, org_id, "Stage")


def deal_count(org_id: int, stage_id: int) -> int:
    """Deals in a stage, the trash included (they come back to it)."""
    return db.session.scalar(select(func.count()).select_from(Deal).where(
        Deal.org_id == org_id, Deal.stage_id == stage_id)) or 0


# -- pipelines ---------------------------------------------------------------------------------

def _new_pipeline(org_id: int, name: str, stage_rows, position: int) -> Pipeline:
    pipeline = Pipeline(org_id=org_id, name=name, position=position)
    for index, (stage_name, kind, probability, colour) in enumerate(stage_rows):
        pipeline.stages.append(Stage(org_id=org_id, name=stage_name, position=index, kind=kind.value,
                                     probability=probability, colour=colour, required_fields=[],
                                     allowed_from=[], allow_exit=True))
    db.session.add(pipeline)
    db.session.flush()
    return pipeline


def _pipeline_name(org_id: int, raw: Any, exclude_id: int | None = None) -> str:
    name = str(raw or "").strip()
    if not name:
        raise DomainError(_("Give the pipeline a name."), {"name": _("Enter a name.")})
    if len(name) > 120:
        raise DomainError(_("That name is too long."), {"name": _("At most %(num)d characters.", num=120)})
    others = db.session.scalars(select(Pipeline).where(Pipeline.org_id == org_id,
                                                       Pipeline.id != (exclude_id or 0)))
    if any(name.lower() in (p.stored_name.lower(), p.name.lower()) for p in others):  # as typed or as read
        raise DomainError(_("A pipeline with that name exists."), {"name": _("Pick another name.")})
    return name


def create_pipeline(actor: Membership, name: Any) -> Pipeline:
    """A new pipeline with starter stages (New, In progress, Won, Lost). Raises DomainError."""
    require(actor, Permission.PIPELINES_MANAGE)
    count = db.session.scalar(select(func.count()).select_from(Pipeline).where(
        Pipeline.org_id == actor.org_id)) or 0
    if count >= MAX_PIPELINES:
        raise DomainError(_("An organization can have at most %(num)d pipelines.", num=MAX_PIPELINES))
    pipeline = _new_pipeline(actor.org_id, _pipeline_name(actor.org_id, name), STARTER_STAGES, count)
    audit("pipeline.created", org_id=actor.org_id, actor_id=actor.user_id, target=pipeline,
          name=pipeline.stored_name)
    return pipeline


def update_pipeline(actor: Membership, pipeline_id: int, data: dict[str, Any]) -> Pipeline:
    """Rename (``name``), move among pipelines (``position``) or reorder stages (``stage_order``)."""
    require(actor, Permission.PIPELINES_MANAGE)
    pipeline = get_pipeline(actor.org_id, pipeline_id)
    if "name" in data and str(data["name"] or "").strip() != pipeline.name:  # unchanged: a default stays one
        pipeline.name = _pipeline_name(actor.org_id, data["name"], exclude_id=pipeline.id)
    if "position" in data:
        _reposition_pipeline(actor.org_id, pipeline, data["position"])
    if "stage_order" in data:
        reorder_stages(actor, pipeline.id, data["stage_order"])
    db.session.flush()
    return pipeline


def _reposition_pipeline(org_id: int, pipeline: Pipeline, raw: Any) -> None:
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
        raise DomainError(_("Position: a whole number from 0."), {"position": _("A whole number from 0.")})
    others = [p for p in pipelines(org_id) if p.id != pipeline.id]
    others.insert(min(raw, len(others)), pipeline)
    for index, item in enumerate(others):
        item.position = index


def delete_pipeline(actor: Membership, pipeline_id: int, move_to_stage_id: Any = None) -> int:
    """Delete a pipeline; its deals go to stage ``move_to_stage_id`` of another pipeline.

    Returns how many deals moved. Raises DomainError when deals would be left without a stage,
    or when it is the organization's last pipeline.
    """
    require(actor, Permission.PIPELINES_MANAGE)
    pipeline = get_pipeline(actor.org_id, pipeline_id)
    if len(pipelines(actor.org_id)) == 1:
        raise DomainError(_("This is the only pipeline. Create another one before deleting it."))
    moved = _relocate(actor, Deal.pipeline_id, pipeline.id, move_to_stage_id,
                      lambda target: target.pipeline_id != pipeline.id, elsewhere=True,
                      reason="pipeline deleted")
    audit("pipeline.deleted", org_id=actor.org_id, actor_id=actor.user_id, target=pipeline,
          name=pipeline.stored_name, deals_moved=moved)
    db.session.delete(pipeline)
    db.session.flush()
    return moved


def _relocate(actor: Membership, column, held_by: int, move_to_stage_id: Any, acceptable, *,
              elsewhere: bool, reason: str) -> int:
    """Move every deal whose ``column`` (Deal.stage_id or Deal.pipeline_id) is ``held_by``, the trash
    included, to the chosen stage before that stage or pipeline is deleted; returns how many.
    ``elsewhere``: the stage must be another pipeline's (a pipeline is deleted), else another stage."""
    owned = (Deal.org_id == actor.org_id, column == held_by)
    count = db.session.scalar(select(func.count()).select_from(Deal).where(*owned)) or 0
    if count == 0:
        return 0
    if move_to_stage_id in (None, ""):
        message = (ngettext("It holds %(num)d deal: choose a stage of another pipeline to move it to.",
                            "It holds %(num)d deals: choose a stage of another pipeline to move them to.",
                            count)
                   if elsewhere else
                   ngettext("It holds %(num)d deal: choose another stage to move it to.",
                            "It holds %(num)d deals: choose another stage to move them to.", count))
        raise DomainError(message, {"move_to": ngettext("Where should its %(num)d deal go?",
                                                        "Where should its %(num)d deals go?", count)})
    try:
        target = get_stage(actor.org_id, int(move_to_stage_id))
    except (NotFound, TypeError, ValueError):
        raise DomainError(_("Choose a stage to move the deals to."),
                          {"move_to": _("No such stage.")}) from None
    if not acceptable(target):
        message = _("Choose a stage of another pipeline.") if elsewhere else _("Choose another stage.")
        raise DomainError(message, {"move_to": message})
    position = top_position(actor.org_id, target.id)
    while True:  # in chunks: a big pipeline must not be loaded at once
        deals = list(db.session.scalars(select(Deal).where(*owned).limit(500)))
        if not deals:
            return count
        for deal in deals:
            position -= POSITION_STEP
            move_to_stage(actor, deal, target, position=position, reason=reason, enforce=False)
        db.session.flush()


# -- stages ------------------------------------------------------------------------------------

def create_stage(actor: Membership, pipeline_id: int, data: dict[str, Any]) -> Stage:
    """A new stage (at ``position``, else before the won / lost stages). Raises DomainError."""
    require(actor, Permission.PIPELINES_MANAGE)
    pipeline = get_pipeline(actor.org_id, pipeline_id)
    if len(pipeline.stages) >= MAX_STAGES:
        raise DomainError(_("A pipeline can have at most %(num)d stages.", num=MAX_STAGES))
    stage = Stage(org_id=actor.org_id, pipeline_id=pipeline.id, kind=StageKind.OPEN.value,
                  colour="slate", probability=0, required_fields=[], allowed_from=[], allow_exit=True)
    _apply_stage(actor.org_id, pipeline, stage, data, partial=False)
    ordered = list(pipeline.stages)
    if isinstance(data.get("position"), int) and not isinstance(data.get("position"), bool):
        index = max(0, min(data["position"], len(ordered)))
    else:
        index = next((i for i, s in enumerate(ordered) if s.closed), len(ordered))
    ordered.insert(index, stage)
    for position, item in enumerate(ordered):
        item.position = position
    pipeline.stages.append(stage)
    pipeline.stages.sort(key=lambda s: s.position)
    db.session.flush()
    return stage


def update_stage(actor: Membership, stage_id: int, data: dict[str, Any]) -> Stage:
    """Change what ``data`` names (partial). Raises DomainError with field messages."""
    require(actor, Permission.PIPELINES_MANAGE)
    stage = get_stage(actor.org_id, stage_id)
    _apply_stage(actor.org_id, stage.pipeline, stage, data, partial=True)
    if isinstance(data.get("position"), int) and not isinstance(data.get("position"), bool):
        order = [s.id for s in stage.pipeline.stages if s.id != stage.id]
        order.insert(max(0, min(data["position"], len(order))), stage.id)
        reorder_stages(actor, stage.pipeline_id, order)
    db.session.flush()
    return stage


def delete_stage(actor: Membership, stage_id: int, move_to_stage_id: Any = None) -> int:
    """Delete a stage; its deals move to ``move_to_stage_id``. Returns how many moved."""
    require(actor, Permission.PIPELINES_MANAGE)
    stage = get_stage(actor.org_id, stage_id)
    # The pipeline's row is locked until commit: deleting the pipeline meanwhile (and so this stage)
    # waits for us, or has already happened and the stage is gone.
    pipeline = db.session.scalar(select(Pipeline).where(Pipeline.id == stage.pipeline_id).with_for_update())
    if pipeline is None:
        raise NotFound(str(NOT_FOUND["Stage"]))
    if len(pipeline.stages) == 1:
        raise DomainError(_("A pipeline needs at least one stage. Delete the pipeline instead."))
    moved = _relocate(actor, Deal.stage_id, stage.id, move_to_stage_id,
                      lambda target: target.id != stage.id, elsewhere=False, reason="stage deleted")
    for other in pipeline.stages:  # no rule may point at a stage that is gone
        if stage.id in (other.allowed_from or []):
            other.allowed_from = [i for i in other.allowed_from if i != stage.id]
    pipeline.stages.remove(stage)
    for position, item in enumerate(pipeline.stages):
        item.position = position
    db.session.flush()
    return moved


def reorder_stages(actor: Membership, pipeline_id: int, stage_ids: Any) -> None:
    """Put the pipeline's stages in the order of ``stage_ids`` (every stage, each once)."""
    require(actor, Permission.PIPELINES_MANAGE)
    pipeline = get_pipeline(actor.org_id, pipeline_id)
    try:
        wanted = [int(i) for i in stage_ids]
    except (TypeError, ValueError):
        wanted = []
    by_id = {s.id: s for s in pipeline.stages}
    if sorted(wanted) != sorted(by_id):
        raise DomainError(_("List every stage of the pipeline once, in the new order."),
                          {"stage_order": _("Every stage id of this pipeline, once each.")})
    for position, stage_id in enumerate(wanted):
        by_id[stage_id].position = position
    pipeline.stages.sort(key=lambda s: s.position)
    db.session.flush()


def move_stage(actor: Membership, stage_id: int, offset: int) -> None:
    """Shift a stage left (-1) or right (+1) among its pipeline's stages."""
    stage = get_stage(actor.org_id, stage_id)
    order = [s.id for s in stage.pipeline.stages]
    index = order.index(stage.id)
    target = max(0, min(index + offset, len(order) - 1))
    order.insert(target, order.pop(index))
    reorder_stages(actor, stage.pipeline_id, order)


def requirable_fields(org_id: int) -> dict[str, str]:
    """What a stage may require: the built-in deal fields (lazy labels) and the org's deal custom fields."""
    return {**REQUIRABLE, **{f"custom.{f.key}": f.label for f in custom_fields(org_id, "deal")}}


def _apply_stage(org_id: int, pipeline: Pipeline, stage: Stage, data: dict[str, Any],
                 partial: bool) -> None:
    """Validate and set a stage's attributes; raises DomainError naming every bad field."""
    errors: dict[str, str] = {}

    def given(key: str) -> bool:
        return key in data or not partial

    if given("name"):
        name = str(data.get("name") or "").strip()
        if not name:
            errors["name"] = _("Enter a name.")
        elif stage.id is not None and name == stage.name:
            pass  # unchanged as the viewer reads it: a default name stays one (read in each language)
        elif len(name) > 80:
            errors["name"] = _("At most %(num)d characters.", num=80)
        elif any(s is not stage and name.lower() in (s.stored_name.lower(), s.name.lower())
                 for s in pipeline.stages):
            errors["name"] = _("This pipeline already has a stage by that name.")
        else:
            stage.name = name
    if "kind" in data:
        try:
            kind = StageKind(str(data["kind"])).value
        except ValueError:
            errors["kind"] = _("One of: open, won, lost.")
        else:
            held = deal_count(org_id, stage.id) if stage.id and kind != stage.kind else 0
            if held:
                # Their status follows the kind: won / lost / open would change under them unannounced.
                errors["kind"] = ngettext("It holds %(num)d deal: move it out first.",
                                          "It holds %(num)d deals: move them out first.", held)
            else:
                stage.kind = kind
    if "colour" in data:
        if data["colour"] in COLOURS:
            stage.colour = data["colour"]
        else:
            errors["colour"] = _("One of: %(choices)s.", choices=", ".join(COLOURS))
    if "probability" in data:
        value = _whole(data["probability"])
        if value is None or not 0 <= value <= 100:
            errors["probability"] = _("A whole number from 0 to 100.")
        else:
            stage.probability = value
    if "wip_limit" in data:
        if data["wip_limit"] in (None, ""):
            stage.wip_limit = None
        else:
            value = _whole(data["wip_limit"])
            if value is None or not 1 <= value <= MAX_WIP_LIMIT:
                errors["wip_limit"] = _("Leave empty for no limit, or a whole number from 1 to %(most)s.",
                                        most=format_decimal(MAX_WIP_LIMIT, locale=get_locale() or "en"))
            else:
                stage.wip_limit = value
    if "required_fields" in data:
        names = data["required_fields"] or []
        allowed = requirable_fields(org_id)
        valid = isinstance(names, list) and all(isinstance(n, str) for n in names)
        unknown = [n for n in names if n not in allowed] if valid else ["?"]
        if unknown:
            errors["required_fields"] = _("Choose among: %(fields)s.", fields=", ".join(allowed))
        else:
            stage.required_fields = list(dict.fromkeys(names))
    if "allowed_from" in data:
        ids = data["allowed_from"] or []
        siblings = {s.id for s in pipeline.stages if s.id != stage.id and s.id is not None}
        chosen = [_whole(i) for i in ids] if isinstance(ids, list) else [None]
        if any(i not in siblings for i in chosen):
            errors["allowed_from"] = _("Choose other stages of this pipeline.")
        else:
            stage.allowed_from = sorted(set(chosen))
    if "allow_exit" in data:
        stage.allow_exit = _truthy(data["allow_exit"])
    if stage.kind == StageKind.OPEN:
        stage.allow_exit = True  # only won / lost stages can hold their deals
    if errors:
        raise DomainError(_("Some fields need attention."), errors)


def _whole(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _truthy(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("1", "true", "on", "yes")


def _first_pipeline(event: OrganizationCreated) -> None:
    create_default_pipeline(event.org_id)


subscribe(OrganizationCreated, _first_pipeline, in_transaction=True)  # it commits with the organization
