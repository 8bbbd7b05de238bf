"""The pipeline's part of the team's activity log: each deal a member moved to another stage."""

from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from app.blueprints.crm.public import Deal
from app.blueprints.pipeline.models import StageMove
from app.blueprints.team.public import ActivityEntry, ActivityQuery, narrow_activity, register_activity_source
from app.extensions import db

RANK = 4


def activity_entries(query: ActivityQuery, limit: int) -> list[ActivityEntry]:
    rows = db.session.execute(
        select(StageMove, Deal.title).join(Deal, Deal.id == StageMove.deal_id)
        .where(Deal.org_id == query.org_id, StageMove.actor_id.is_not(None),
               narrow_activity(query, RANK, StageMove.moved_at, StageMove.id, StageMove.actor_id))
        .order_by(StageMove.moved_at.desc(), StageMove.id.desc()).limit(limit)).all()
    return [ActivityEntry(at=move.moved_at, actor_id=move.actor_id, group="moves", rank=RANK, row_id=move.id,
                          summary=_summary(move, title),
                          link=("crm.detail", {"entities": "deals", "record_id": move.deal_id}))
            for move, title in rows]


def _summary(move: StageMove, title: str) -> str:
    if move.from_stage_stored is None:
        return _("Deal «%(deal)s» entered %(new)s", deal=title, new=move.to_stage_name)
    return _("Deal «%(deal)s» moved from %(old)s to %(new)s", deal=title, old=move.from_stage_name,
             new=move.to_stage_name)


register_activity_source("moves", RANK, activity_entries)
