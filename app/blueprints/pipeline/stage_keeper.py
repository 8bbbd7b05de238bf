"""The pipeline as the keeper of deals' stages for the CRM (``crm.deal_stages``): registered on import.

The CRM's deal form, API, bulk actions and imports set a deal's stage; each of those goes through
the rules and the one stage-entry path here (``rules``, ``moves``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from sqlalchemy import func, select

from app.blueprints.crm.public import DealStatus, register_stage_keeper
from app.blueprints.pipeline import moves, rules, service
from app.blueprints.pipeline.models import Stage, StageKind
from app.canonical import id_or_none
from app.db_types import utcnow
from app.errors import DomainError
from app.extensions import db

if TYPE_CHECKING:
    from app.blueprints.crm.public import Deal
    from app.blueprints.team.public import Membership


class PipelineStageKeeper:
    def find(self, org_id: int, value: Any) -> Stage:
        stage_id = id_or_none(value)
        stmt = select(Stage).where(Stage.org_id == org_id)
        if stage_id is not None:
            stmt = stmt.where(Stage.id == stage_id)
        else:
            pipeline = service.default_pipeline(org_id)
            stmt = stmt.where(Stage.pipeline_id == pipeline.id,
                              func.lower(Stage.name) == str(value).strip().lower())
        stage = db.session.scalar(stmt.limit(1))
        if stage is None and stage_id is None:  # a default stage's name as the viewer reads it
            wanted = str(value).strip().lower()
            stage = next((s for s in service.default_pipeline(org_id).stages if s.name.lower() == wanted),
                         None)
        if stage is None:
            raise ValueError(_("no such stage"))
        return stage

    def for_status(self, org_id: int, deal: Deal, status: str) -> Stage:
        if status == DealStatus.OPEN:
            raise ValueError(_("to reopen a deal, move it to an open stage"))
        pipeline_id = deal.pipeline_id or service.default_pipeline(org_id).id
        stage = db.session.scalar(select(Stage).where(
            Stage.org_id == org_id, Stage.pipeline_id == pipeline_id, Stage.kind == status)
            .order_by(Stage.position).limit(1))
        if stage is None:
            raise ValueError(_("this pipeline has no won stage") if status == DealStatus.WON
                             else _("this pipeline has no lost stage"))
        return stage

    def first(self, org_id: int) -> Stage:
        return service.default_pipeline(org_id).stages[0]

    def choices(self, org_id: int) -> list[Stage]:
        return service.stages(org_id)

    def check_new(self, deal: Deal, stage: Stage) -> None:
        rules.check_entry(deal, None, stage, creating=True)

    def enter_new(self, actor_id: int | None, deal: Deal, stage: Stage) -> None:
        moves.enter_stage(actor_id, deal, stage, None)

    def move(self, actor: Membership | None, deal: Deal, stage: Stage) -> None:
        moves.move_to_stage(actor, deal, stage)

    def bulk_move(self, actor: Membership, ids: list[int], value: Any) -> list[int]:
        try:
            stage = self.find(actor.org_id, value)
        except ValueError as err:
            raise DomainError(_("Stage: %(problem)s.", problem=err), {"value": str(err)}) from None
        return moves.bulk_move(actor, stage, ids)

    def for_import(self, org_id: int) -> ImportStages:
        return ImportStages(org_id)


class ImportStages:
    """One import's stages: names of the default pipeline, ids of any; new cards go on top."""

    def __init__(self, org_id: int) -> None:
        self.org_id = org_id
        pipeline = service.default_pipeline(org_id)
        self.by_id = {s.id: s for s in db.session.scalars(select(Stage).where(Stage.org_id == org_id))}
        self.by_name: dict[str, Stage] = {}
        for stage in pipeline.stages:  # by its name as stored, and (a default one) as the importer reads it
            self.by_name.setdefault(stage.stored_name.lower(), stage)
            self.by_name.setdefault(stage.name.lower(), stage)
        self.first_stage = pipeline.stages[0] if pipeline.stages else None
        self.tops: dict[int, float] = {}  # stage id -> the position of the card last put on top

    def find(self, value: Any) -> int | None:
        stage_id = id_or_none(value)
        if stage_id is not None:
            found = self.by_id.get(stage_id)
        else:
            found = self.by_name.get(str(value).strip().lower())
        return found.id if found is not None else None

    def settle(self, values: dict[str, Any], new: bool) -> None:
        stage = self.by_id.get(values.get("stage_id")) if values.get("stage_id") else None
        if new and stage is None:
            stage = self.first_stage
            values["stage_id"] = stage.id if stage else None
        if stage is None:
            return
        values["pipeline_id"] = stage.pipeline_id
        values["stage_entered_at"] = utcnow()
        if stage.kind in (StageKind.WON, StageKind.LOST):
            values["status"] = stage.kind
        elif not new:
            values.setdefault("status", DealStatus.OPEN.value)  # moved back to an open stage
        if new and values.get("probability") is None:
            values["probability"] = stage.probability
        values["position"] = self._next_top(stage.id)  # on top of its column, as a new card goes

    def entered(self, actor_id: int | None, entries: list[tuple[int, int | None, int, datetime | None]],
                created: bool) -> None:
        moves.enter_stages_in_bulk(self.org_id, actor_id, self.by_id, entries, created=created,
                                   reason="import")

    def _next_top(self, stage_id: int) -> float:
        if stage_id not in self.tops:
            self.tops[stage_id] = moves.top_position(self.org_id, stage_id) + moves.POSITION_STEP
        self.tops[stage_id] -= moves.POSITION_STEP
        return self.tops[stage_id]


register_stage_keeper(PipelineStageKeeper())
