"""Putting a deal into a stage: its fields, its history row, its events, its place in the column.

Callers check the rules first (``rules.check_move``); ``enter_stage`` then does the bookkeeping
every path shares (board, deal form, bulk move, API, stage deletion, deal creation).
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.blueprints.crm.models import Deal, DealStatus
from app.blueprints.pipeline.models import Stage, StageKind, StageMove
from app.db_types import utcnow
from app.errors import Conflict
from app.events import DealLost, DealMoved, DealWon, emit
from app.extensions import db

POSITION_STEP = 1.0
MIN_GAP = 1e-6  # below this, the column is renumbered before inserting between two cards


def enter_stage(actor_id: int | None, deal: Deal, target: Stage, source: Stage | None, *,
                position: float | None = None, reason: str | None = None) -> StageMove | None:
    """Put ``deal`` (flushed, so it has an id) in ``target``, coming from ``source``.

    Records the stage history (with the time spent in ``source``), lets the probability follow
    the stage unless someone set it by hand, settles won / lost, and emits DealMoved, DealWon and
    DealLost. Returns the history row, or None when the deal stays in its stage.

    The write is guarded: if another transaction moved the deal since it was read, nothing is
    written and Conflict is raised, so two people dragging one card cannot both win.
    """
    if source is not None and source.id == target.id:
        if position is not None:
            deal.position = position
        return None
    if position is None:  # before any change, so no half-moved deal is flushed by the query
        position = top_position(deal.org_id, target.id)
    now = utcnow()
    was = deal.status
    status = target.kind if target.kind in (StageKind.WON, StageKind.LOST) else DealStatus.OPEN.value
    follows = deal.probability is None or (source is not None and deal.probability == source.probability)
    values = {"stage_id": target.id, "pipeline_id": target.pipeline_id, "position": position,
              "stage_entered_at": now, "status": status, "updated_at": now,
              "probability": target.probability if follows else deal.probability,
              "lost_reason": deal.lost_reason if status == DealStatus.LOST else None}
    where_it_was = Deal.stage_id == source.id if source is not None else Deal.stage_id.is_(None)
    written = db.session.execute(
        update(Deal).where(Deal.id == deal.id, Deal.org_id == deal.org_id, where_it_was)
        .values(**values).execution_options(synchronize_session=False))
    if written.rowcount != 1:
        raise Conflict("Someone moved this deal a moment ago. The board shows where it is now.")
    entered = deal.stage_entered_at
    from_pipeline_id = deal.pipeline_id
    for key, value in values.items():
        set_committed_value(deal, key, value)
    set_committed_value(deal, "stage", target)
    move = StageMove(org_id=deal.org_id, deal_id=deal.id, from_stage_id=source.id if source else None,
                     from_stage_name=source.name if source else None, to_stage_id=target.id,
                     to_stage_name=target.name, actor_id=actor_id, moved_at=now, reason=reason,
                     seconds_in_previous=int((now - entered).total_seconds())
                     if source is not None and entered is not None else None)
    db.session.add(move)
    ids = {"org_id": deal.org_id, "actor_id": actor_id, "deal_id": deal.id,
           "pipeline_id": target.pipeline_id, "stage_id": target.id}
    if source is not None:
        emit(DealMoved(**ids, from_stage_id=source.id, from_pipeline_id=from_pipeline_id))
    if status != was or source is None:
        if status == DealStatus.WON:
            emit(DealWon(**ids))
        elif status == DealStatus.LOST:
            emit(DealLost(**ids, lost_reason=values["lost_reason"]))
    return move


def top_position(org_id: int, stage_id: int) -> float:
    """A position above every card of the column (new and moved-in deals go on top)."""
    lowest = db.session.scalar(select(func.min(Deal.position)).where(
        Deal.org_id == org_id, Deal.deleted_at.is_(None), Deal.stage_id == stage_id))
    return above_all(lowest)


def above_all(lowest: float | None) -> float:
    """A position above a column whose top card is at ``lowest`` (None: an empty column)."""
    return (lowest if lowest is not None else POSITION_STEP) - POSITION_STEP


def between(above: float | None, below: float | None) -> float | None:
    """A position between the card ``above`` and the card ``below`` (either may be missing).

    None when the two are too close (or out of order: the browser saw an older board): the caller
    renumbers the column and places the card again.
    """
    if above is None and below is None:
        return 0.0
    if above is None:
        return below - POSITION_STEP
    if below is None:
        return above + POSITION_STEP
    if below - above < MIN_GAP:
        return None
    return (above + below) / 2


def renumber(org_id: int, stage_id: int) -> dict[int, float]:
    """Spread the column's cards POSITION_STEP apart, keeping their order; returns id -> position."""
    ids = list(db.session.scalars(select(Deal.id).where(
        Deal.org_id == org_id, Deal.deleted_at.is_(None), Deal.stage_id == stage_id)
        .order_by(Deal.position, Deal.id)))
    positions = {deal_id: index * POSITION_STEP for index, deal_id in enumerate(ids)}
    if positions:
        db.session.execute(update(Deal).execution_options(synchronize_session=False),
                           [{"id": i, "position": p} for i, p in positions.items()])
        for deal in db.session.identity_map.values():  # loaded deals must not keep their old places
            if isinstance(deal, Deal) and deal.id in positions:
                set_committed_value(deal, "position", positions[deal.id])
    return positions
