"""The kanban board's read side and its card writes: columns, cards, sums, moves, quick add.

Budgets (bench.kanban): a board is two statements here after the pipelines (column sums; the
first cards of every column in one UNION ALL that walks the (org, live, stage, position) index
per column); a move is three (the deal with its neighbours, the target stage and the top of its
column in one select; the guarded update; the history insert).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import Select, and_, func, or_, select, union_all
from sqlalchemy.orm import lazyload

from app.blueprints.auth.public import User
from app.blueprints.crm.public import (
    Company,
    Contact,
    Deal,
    Entity,
    ListQuery,
    check_edit,
    create_record,
    filtered,
)
from app.blueprints.pipeline import moves
from app.blueprints.pipeline.models import Stage, StageMove
from app.blueprints.pipeline.moves import move_to_stage
from app.blueprints.pipeline.service import get_stage
from app.blueprints.team.public import Membership
from app.db_types import utcnow
from app.errors import DomainError, NotFound
from app.extensions import db

PAGE = 50
MAX_LIMIT = 500  # a refresh re-fetches what the viewer has scrolled in, up to this many cards


@dataclass(frozen=True)
class BoardFilter:
    """The board's filters: owner (an id, or unowned), tag and search."""

    q: str = ""
    owner_id: int | None = None
    unowned: bool = False
    tag: str | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> BoardFilter:
        parsed = ListQuery.from_args(args)
        return cls(q=parsed.q.strip(), owner_id=parsed.owner_id, unowned=parsed.unowned, tag=parsed.tag)

    def as_args(self) -> dict[str, str]:
        return self.query().as_args()

    def query(self) -> ListQuery:
        return ListQuery(q=self.q, owner_id=self.owner_id, unowned=self.unowned, tag=self.tag)

    @property
    def active(self) -> bool:
        return bool(self.q or self.owner_id or self.unowned or self.tag)


@dataclass
class Card:
    id: int
    title: str
    value: Decimal | None
    currency: str
    owner_id: int | None
    stage_id: int
    position: float
    stage_entered_at: datetime
    contact_id: int | None
    contact_name: str
    company_id: int | None
    company_name: str | None
    status: str

    @property
    def days_in_stage(self) -> int:
        return max(0, (utcnow() - self.stage_entered_at).days)

    @property
    def seconds_in_stage(self) -> int:
        return max(0, int((utcnow() - self.stage_entered_at).total_seconds()))


@dataclass
class Column:
    stage: Stage
    count: int = 0
    totals: dict[str, Decimal] = field(default_factory=dict)  # currency -> sum of values
    weighted: dict[str, Decimal] = field(default_factory=dict)  # currency -> sum of value x probability
    cards: list[Card] = field(default_factory=list)

    @property
    def has_more(self) -> bool:
        return len(self.cards) < self.count

    @property
    def over_limit(self) -> bool:
        return self.stage.wip_limit is not None and self.count > self.stage.wip_limit

    @property
    def at_limit(self) -> bool:
        return self.stage.wip_limit is not None and self.count >= self.stage.wip_limit


# -- reading -----------------------------------------------------------------------------------

def _filtered(org_id: int, flt: BoardFilter) -> Select:
    return filtered(org_id, Entity.DEAL, flt.query())


_CARD_COLUMNS = (Deal.id, Deal.title, Deal.value, Deal.currency, Deal.owner_id, Deal.stage_id,
                 Deal.position, Deal.stage_entered_at, Deal.contact_id, Deal.company_id, Deal.status)


def _card_select(org_id: int, flt: BoardFilter) -> Select:
    return _filtered(org_id, flt).with_only_columns(*_CARD_COLUMNS)


def _cards_from(rows) -> list[Card]:
    return [Card(id=r.id, title=r.title, value=r.value, currency=r.currency, owner_id=r.owner_id,
                 stage_id=r.stage_id, position=r.position, stage_entered_at=r.stage_entered_at,
                 contact_id=r.contact_id, contact_name=" ".join(p for p in (r.first_name, r.last_name) if p),
                 company_id=r.company_id, company_name=r.company_name, status=r.status) for r in rows]


def _with_names(cards: Select) -> Select:
    """Join contact and company names onto a (sub)select of card columns."""
    sub = cards.subquery()
    return (select(sub, Contact.first_name, Contact.last_name, Company.name.label("company_name"))
            .outerjoin(Contact, Contact.id == sub.c.contact_id)
            .outerjoin(Company, Company.id == sub.c.company_id))


def board(org_id: int, stages: list[Stage], flt: BoardFilter, limits: Mapping[int, int] | None = None,
          per_column: int = PAGE) -> list[Column]:
    """Columns of ``stages``: counts, sums and the first ``per_column`` cards of each (two statements).

    ``limits`` sets another number for some columns (a live refresh keeps what was scrolled in).
    """
    columns = {c.stage.id: c for c in board_heads(org_id, stages, flt)}
    wanted = [s for s, c in columns.items() if c.count]
    if wanted:
        parts = []
        for stage_id in wanted:
            limit = max(1, min((limits or {}).get(stage_id, per_column), MAX_LIMIT))
            parts.append(select(_card_select(org_id, flt).where(Deal.stage_id == stage_id)
                                .order_by(Deal.deleted_at, Deal.stage_id, Deal.position, Deal.id)
                                .limit(limit).subquery()))
        stmt = _with_names(union_all(*parts))
        for card in _cards_from(db.session.execute(stmt)):
            columns[card.stage_id].cards.append(card)
        for column in columns.values():
            column.cards.sort(key=lambda c: (c.position, c.id))
    return list(columns.values())


def board_heads(org_id: int, stages: list[Stage], flt: BoardFilter) -> list[Column]:
    """Columns of ``stages`` with counts and sums only, in one statement (what a move updates)."""
    columns = {s.id: Column(stage=s) for s in stages}
    if not columns:
        return []
    probability = func.coalesce(Deal.probability, Stage.probability)
    totals = (_filtered(org_id, flt)
              .with_only_columns(Deal.stage_id, Deal.currency, func.count(), func.sum(Deal.value),
                                 func.sum(Deal.value * probability / 100))
              .join(Stage, Stage.id == Deal.stage_id)
              .where(Deal.stage_id.in_(list(columns)))
              .group_by(Deal.stage_id, Deal.currency))
    for stage_id, currency, count, total, weighted in db.session.execute(totals):
        column = columns[stage_id]
        column.count += count
        if total is not None:
            column.totals[currency] = Decimal(total).quantize(Decimal("0.01"))
            column.weighted[currency] = Decimal(weighted or 0).quantize(Decimal("0.01"))
    return list(columns.values())


def more_cards(org_id: int, stage: Stage, flt: BoardFilter, after_position: float, after_id: int,
               limit: int = PAGE) -> list[Card]:
    """The next cards of a column after the card at (``after_position``, ``after_id``)."""
    stmt = (_card_select(org_id, flt).where(Deal.stage_id == stage.id)
            .where(or_(Deal.position > after_position,
                       and_(Deal.position == after_position, Deal.id > after_id)))
            .order_by(Deal.deleted_at, Deal.stage_id, Deal.position, Deal.id).limit(limit))
    cards = _cards_from(db.session.execute(_with_names(stmt)))
    cards.sort(key=lambda c: (c.position, c.id))
    return cards


def card(org_id: int, deal_id: int) -> Card:
    stmt = _with_names(select(*_CARD_COLUMNS).where(Deal.org_id == org_id, Deal.id == deal_id,
                                                     Deal.deleted_at.is_(None)))
    found = _cards_from(db.session.execute(stmt))
    if not found:
        raise NotFound(_("Deal not found."))
    return found[0]


@dataclass(frozen=True, order=True)
class Owner:
    name: str

    @property
    def initials(self) -> str:
        return "".join(part[0] for part in self.name.split()[:2]).upper() or "?"


def owner_names(org_id: int) -> dict[int, Owner]:
    """The org's members by user id, for card avatars (one statement)."""
    return {user_id: Owner(name) for user_id, name in db.session.execute(
        select(User.id, User.name).join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id))}


# -- moving a card -----------------------------------------------------------------------------

@dataclass
class Move:
    deal: Deal
    source: Stage
    target: Stage
    history: StageMove | None


def move_card(actor: Membership, deal_id: int, stage_id: int, above_id: int | None = None,
              below_id: int | None = None) -> Move:
    """Drop deal ``deal_id`` into stage ``stage_id`` between the cards ``above_id`` and ``below_id``
    (one of them None: the top or the end of the column; both None: its top).

    Raises NotFound, Forbidden (not the actor's deal), RuleBroken naming the stage rule, or
    Conflict when someone else moved the deal meanwhile.
    """
    neighbours = [i for i in (above_id, below_id) if i is not None and i != deal_id]
    top = (select(func.min(Deal.position)).where(Deal.org_id == actor.org_id, Deal.deleted_at.is_(None),
                                                 Deal.stage_id == stage_id).scalar_subquery())
    # One statement: the deal, its neighbours (for their positions), the target stage and its top.
    rows = db.session.execute(
        select(Deal, Stage, top).join(Stage, and_(Stage.id == stage_id, Stage.org_id == actor.org_id))
        .where(Deal.org_id == actor.org_id, Deal.deleted_at.is_(None), Deal.id.in_([deal_id, *neighbours]))
        # Only the stage is needed: people, companies and tags load if a rule ever asks for them.
        .options(lazyload(Deal.tags), lazyload(Deal.contact), lazyload(Deal.company), lazyload(Deal.owner))
    ).unique().all()
    deals = {d.id: d for d, _, _ in rows}
    deal = deals.get(deal_id)
    if deal is None:
        get_stage(actor.org_id, stage_id)  # says which of the two is missing
        raise NotFound(_("Deal not found."))
    target, lowest = rows[0][1], rows[0][2]
    check_edit(actor, deal)
    source = deal.stage
    position = _drop_position(actor.org_id, deal, target, deals, above_id, below_id, lowest)
    if source is not None and source.id == target.id:
        deal.position = position
        db.session.flush()
        return Move(deal=deal, source=source, target=target, history=None)
    history = move_to_stage(actor, deal, target, position=position)
    db.session.flush()
    return Move(deal=deal, source=source, target=target, history=history)


def _drop_position(org_id: int, deal: Deal, target: Stage, deals: dict[int, Deal], above_id: int | None,
                   below_id: int | None, lowest: float | None) -> float:
    """Where the card lands: between its neighbours when they are (still) in the column, else on top."""
    def place(i: int | None) -> float | None:
        return deals[i].position if i in deals and i != deal.id and deals[i].stage_id == target.id else None

    above, below = place(above_id), place(below_id)
    if above is None and below is None:
        return moves.above_all(lowest)
    position = moves.between(above, below)
    if position is not None:
        return position
    renumbered = moves.renumber(org_id, target.id)  # too close, or the browser saw an older order
    if above is not None:
        return renumbered[above_id] + moves.POSITION_STEP / 2
    return renumbered[below_id] - moves.POSITION_STEP / 2


def quick_add(actor: Membership, stage_id: int, title: str, value: str | None = None) -> Deal:
    """A deal created straight into a column (the stage's entry rules apply)."""
    stage = get_stage(actor.org_id, stage_id)
    if not (title or "").strip():
        raise DomainError(_("Give the deal a title."), {"title": _("Enter a title.")})
    return create_record(actor, Entity.DEAL, {"title": title, "value": value or None, "stage": stage.id})


# -- history -----------------------------------------------------------------------------------

def stage_history(org_id: int, stage_id: int, page: int = 1,
                  per_page: int = 50) -> tuple[list[StageMove], int]:
    """Moves into or out of a stage, newest first, and their total."""
    involving = or_(StageMove.to_stage_id == stage_id, StageMove.from_stage_id == stage_id)
    base = select(StageMove).where(StageMove.org_id == org_id, involving)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = list(db.session.scalars(base.order_by(StageMove.moved_at.desc(), StageMove.id.desc())
                                   .limit(per_page).offset((page - 1) * per_page)))
    return rows, total


def stage_counts(org_id: int) -> dict[int, int]:
    """Deals per stage, the trash included (deleting a stage says how many would move)."""
    rows = db.session.execute(select(Deal.stage_id, func.count()).where(Deal.org_id == org_id)
                              .group_by(Deal.stage_id))
    return defaultdict(int, dict(rows.all()))
