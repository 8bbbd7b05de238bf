"""Putting a deal into a stage: its fields, its history row, its events, its place in the column.

The one stage-entry path. ``move_to_stage`` checks the rules (``rules``) and enters; ``enter_stage``
does the bookkeeping every path shares (board, deal form, bulk move, API, stage deletion, deal
creation); ``enter_stages_in_bulk`` is its batch form for imports, which write the deals' stage
columns in bulk themselves and then record the entries here: the same history rows and events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.blueprints.crm.public import Deal, DealStatus
from app.blueprints.pipeline.events import DealLost, DealMoved, DealWon
from app.blueprints.pipeline.models import Stage, StageKind, StageMove
from app.blueprints.pipeline.rules import RuleBroken, check_entry, check_move, custom_labels, occupancy
from app.bulk_insert import insert_rows
from app.db_types import utcnow
from app.errors import Conflict
from app.events import emit
from app.extensions import db

if TYPE_CHECKING:
    from app.blueprints.team.public import Membership

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
    move = StageMove(**_history(deal.org_id, actor_id, deal.id, source, target, now, entered, reason))
    db.session.add(move)
    _announce(deal.org_id, actor_id, deal.id, source, target, status_changed=status != was,
              lost_reason=values["lost_reason"], from_pipeline_id=from_pipeline_id,
              moved=source is not None)
    return move


def enter_stages_in_bulk(org_id: int, actor_id: int | None, stages: Mapping[int, Stage],
                         moves: list[tuple[int, int | None, int, datetime | None]], *,
                         created: bool, reason: str) -> None:
    """Record that deals entered stages, their stage columns already written in bulk: (deal id,
    stage it came from or None, stage it entered, when it had entered the old one). ``stages``
    holds every stage named. The history rows go in at once (the same rows as ``enter_stage``'s).

    The events differ from ``enter_stage``'s as the importer's always have: a new deal raises no
    DealMoved, an entry into a won / lost stage always raises DealWon / DealLost (without a lost
    reason: an import sets none), and the caller raises its DealCreated events before these.
    """
    if not moves:
        return
    now = utcnow()
    # Plain values first: on PostgreSQL the rows are sent while a COPY holds the connection, so
    # making them must not touch the database (a stage expired by an earlier batch's commit would
    # load itself, and that query would wait forever behind the COPY).
    used = {stage_id for _, source, target, _ in moves for stage_id in (source, target)}
    named = {stage_id: _StageValues(stage.id, stage.stored_name, stage.pipeline_id, stage.kind)
             for stage_id, stage in stages.items() if stage_id in used}
    insert_rows(StageMove.__table__, [
        _history(org_id, actor_id, deal_id, named.get(source) if source else None, named[target],
                 now, entered, reason) for deal_id, source, target, entered in moves])
    for deal_id, source, target, _ in moves:
        source_stage = None if created or source is None else named.get(source)
        _announce(org_id, actor_id, deal_id, source_stage, named[target], status_changed=True,
                  lost_reason=None, from_pipeline_id=source_stage.pipeline_id if source_stage else None,
                  moved=not created)


@dataclass(frozen=True)
class _StageValues:
    """What history rows and events read of a stage, read once (see ``enter_stages_in_bulk``)."""

    id: int
    stored_name: str
    pipeline_id: int
    kind: str


def _history(org_id: int, actor_id: int | None, deal_id: int, source: Stage | _StageValues | None,
             target: Stage | _StageValues,
             now: datetime, entered: datetime | None, reason: str | None) -> dict[str, Any]:
    """A stage history row's values (with the time spent in ``source``); the names as stored, so
    each reader sees a default one in their own language."""
    return {"org_id": org_id, "deal_id": deal_id, "from_stage_id": source.id if source else None,
            "from_stage_name": source.stored_name if source else None, "to_stage_id": target.id,
            "to_stage_name": target.stored_name, "actor_id": actor_id, "moved_at": now, "reason": reason,
            "seconds_in_previous": int((now - entered).total_seconds())
            if source is not None and entered is not None else None}


def _announce(org_id: int, actor_id: int | None, deal_id: int, source: Stage | _StageValues | None,
              target: Stage | _StageValues, *,
              status_changed: bool, lost_reason: str | None, from_pipeline_id: int | None,
              moved: bool) -> None:
    """DealMoved when the deal came from a stage, then DealWon / DealLost when it entered a won /
    lost stage (a new deal's first stage, or a status it did not have)."""
    ids = {"org_id": org_id, "actor_id": actor_id, "deal_id": deal_id,
           "pipeline_id": target.pipeline_id, "stage_id": target.id}
    if moved:
        emit(DealMoved(**ids, from_stage_id=source.id if source else None, from_pipeline_id=from_pipeline_id))
    if status_changed or source is None:
        if target.kind == StageKind.WON:
            emit(DealWon(**ids))
        elif target.kind == StageKind.LOST:
            emit(DealLost(**ids, lost_reason=lost_reason))


def move_to_stage(actor: Membership | None, deal: Deal, stage: Stage, *, position: float | None = None,
                  reason: str | None = None, enforce: bool = True) -> StageMove | None:
    """Move ``deal`` into ``stage`` (any pipeline of its org) if the stage rules allow it.

    Raises RuleBroken naming the rule. ``enforce=False`` is for moves the system must make
    (a stage being deleted); they are still recorded in the history, with ``reason``.
    """
    source = deal.stage
    if enforce:
        check_entry(deal, source, stage)
    return enter_stage(actor.user_id if actor else None, deal, stage, source, position=position,
                       reason=reason)


def bulk_move(actor: Membership, stage: Stage, ids: list[int]) -> list[int]:
    """Move the deals ``ids`` the stage rules let into ``stage``, on top of its column; a deal a
    rule refuses stays where it is. Returns the ids that moved; raises the first RuleBroken when
    no deal at all could move."""
    labels = custom_labels(actor.org_id, stage)
    count = occupancy(actor.org_id, stage)
    top = top_position(actor.org_id, stage.id)
    moved: list[int] = []
    refusal: RuleBroken | None = None
    for start in range(0, len(ids), 500):
        for deal in db.session.scalars(select(Deal).where(Deal.org_id == actor.org_id,
                                                          Deal.id.in_(ids[start:start + 500]))):
            if deal.stage_id == stage.id:
                continue
            try:
                check_move(deal, deal.stage, stage, occupancy=count, custom_labels=labels)
            except RuleBroken as err:
                refusal = refusal or err
                continue
            top -= POSITION_STEP
            enter_stage(actor.user_id, deal, stage, deal.stage, position=top)
            count = count + 1 if count is not None else None
            moved.append(deal.id)
        db.session.flush()
    if refusal is not None and not moved:
        raise refusal
    return moved


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
