"""What the pipeline adds to a deal's page in the CRM: its stage history on the timeline."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from app.blueprints.crm.public import Entity, register_history
from app.blueprints.pipeline.models import StageMove
from app.extensions import db


def stage_moves(org_id: int, deal: Any, limit: int) -> list[StageMove]:
    return list(db.session.scalars(select(StageMove).where(
        StageMove.org_id == org_id, StageMove.deal_id == deal.id)
        .order_by(StageMove.moved_at.desc(), StageMove.id.desc()).limit(limit)))


register_history(Entity.DEAL, stage_moves)
