"""The board's read side and card moves: columns, sums, filters, paging, positions, budgets."""

from decimal import Decimal

import pytest
from sqlalchemy import select

from app.blueprints.crm.models import Deal
from app.blueprints.crm.records import service as crm
from app.blueprints.pipeline import board as boards
from app.blueprints.pipeline import service
from app.blueprints.pipeline.models import StageMove
from app.blueprints.pipeline.rules import RuleBroken
from app.blueprints.team.permissions import Role
from app.errors import Forbidden, NotFound
from app.extensions import db
from tests.conftest import counting_statements
from tests.factories import add_member, make_company, make_contact, make_deal, make_member

EVERYTHING = boards.BoardFilter()


@pytest.fixture
def sales(owner):
    pipeline = service.pipelines(owner.org_id)[0]
    db.session.commit()
    return pipeline


def stage(pipeline, name):
    return next(s for s in pipeline.stages if s.name == name)


def column(columns, name):
    return next(c for c in columns if c.stage.name == name)


def test_columns_count_and_sum_their_deals_per_currency_with_weights(owner, sales):
    acme = make_company(owner, name="Acme")
    ada = make_contact(owner, first_name="Ada", last_name="Lovelace")
    make_deal(owner, stage="Proposal", value="1000", company=acme.id, contact=ada.id)
    make_deal(owner, stage="Proposal", value="500", probability=10)
    make_deal(owner, stage="Proposal", value="200", currency="EUR")
    make_deal(owner, stage="Won", value="50")
    columns = boards.board(owner.org_id, sales.stages, EVERYTHING)
    proposal = column(columns, "Proposal")
    assert proposal.count == 3
    assert proposal.totals == {"USD": Decimal("1500.00"), "EUR": Decimal("200.00")}
    assert proposal.weighted == {"USD": Decimal("650.00"), "EUR": Decimal("120.00")}  # 60% / own 10%
    assert column(columns, "Won").count == 1 and column(columns, "New lead").count == 0
    card = next(c for c in proposal.cards if c.company_name == "Acme")
    assert (card.contact_name, card.days_in_stage) == ("Ada Lovelace", 0)


def test_each_column_loads_its_first_fifty_cards_and_more_after_the_last(owner, sales):
    qualified = stage(sales, "Qualified")
    for n in range(60):
        crm.create_record(owner, "deal", {"title": f"Deal {n:02}", "stage": qualified.id})
    db.session.commit()
    col = column(boards.board(owner.org_id, sales.stages, EVERYTHING), "Qualified")
    assert (col.count, len(col.cards), col.has_more) == (60, 50, True)
    assert col.cards[0].title == "Deal 59"  # newest on top
    last = col.cards[-1]
    rest = boards.more_cards(owner.org_id, qualified, EVERYTHING, last.position, last.id)
    assert len(rest) == 10 and rest[-1].title == "Deal 00"
    assert not {c.id for c in rest} & {c.id for c in col.cards}


def test_filters_narrow_cards_and_sums_alike(owner, sales):
    rep = add_member(owner.organization, role=Role.AGENT)
    make_deal(owner, stage="Qualified", value="100", title="Orbit renewal", tags=["vip"])
    make_deal(rep, stage="Qualified", value="7", title="Kite pilot")
    mine = boards.BoardFilter(owner_id=owner.user_id)
    assert column(boards.board(owner.org_id, sales.stages, mine), "Qualified").totals == {"USD": Decimal("100.00")}
    searched = column(boards.board(owner.org_id, sales.stages, boards.BoardFilter(q="kite")), "Qualified")
    assert [c.title for c in searched.cards] == ["Kite pilot"]
    tagged = column(boards.board(owner.org_id, sales.stages, boards.BoardFilter(tag="VIP")), "Qualified")
    assert [c.title for c in tagged.cards] == ["Orbit renewal"]


def test_trashed_deals_and_other_organizations_stay_off_the_board(owner, sales):
    gone = make_deal(owner, stage="Qualified")
    crm.trash_records(owner, "deal", [gone.id])
    other = make_member(Role.OWNER)
    make_deal(other, stage="Qualified")
    assert column(boards.board(owner.org_id, sales.stages, EVERYTHING), "Qualified").count == 0


# -- moves -------------------------------------------------------------------------------------

def test_a_card_dropped_between_two_cards_lands_between_them(owner, sales):
    proposal = stage(sales, "Proposal")
    a, b = make_deal(owner, stage="Proposal"), make_deal(owner, stage="Proposal")  # b on top of a
    moving = make_deal(owner, stage="Qualified")
    done = boards.move_card(owner, moving.id, proposal.id, above_id=b.id, below_id=a.id)
    db.session.commit()
    assert done.history.from_stage_name == "Qualified" and done.history.to_stage_name == "Proposal"
    order = [c.id for c in column(boards.board(owner.org_id, sales.stages, EVERYTHING), "Proposal").cards]
    assert order == [b.id, moving.id, a.id]


def test_reordering_within_a_column_writes_no_history(owner, sales):
    qualified = stage(sales, "Qualified")
    a, b, c = (make_deal(owner, stage="Qualified") for _ in range(3))  # shown c, b, a
    done = boards.move_card(owner, c.id, qualified.id, above_id=a.id)
    db.session.commit()
    assert done.history is None
    assert [x.id for x in column(boards.board(owner.org_id, sales.stages, EVERYTHING), "Qualified").cards] == [b.id, a.id, c.id]
    assert db.session.scalar(select(StageMove).where(StageMove.deal_id == c.id, StageMove.from_stage_id.is_not(None))) is None


def test_positions_are_renumbered_when_two_cards_sit_too_close(owner, sales):
    qualified = stage(sales, "Qualified")
    a, b, moving = (make_deal(owner, stage="Qualified") for _ in range(3))
    db.session.get(Deal, a.id).position, db.session.get(Deal, b.id).position = 1.0, 1.0 + 1e-9
    db.session.commit()
    boards.move_card(owner, moving.id, qualified.id, above_id=a.id, below_id=b.id)
    db.session.commit()
    ids = [x.id for x in column(boards.board(owner.org_id, sales.stages, EVERYTHING), "Qualified").cards]
    assert ids == [a.id, moving.id, b.id]


def test_a_move_that_breaks_a_rule_changes_nothing(owner, sales):
    negotiation = stage(sales, "Negotiation")
    service.update_stage(owner, negotiation.id, {"required_fields": ["value"]})
    deal = make_deal(owner, stage="Proposal")
    with pytest.raises(RuleBroken, match="“Negotiation” requires Value"):
        boards.move_card(owner, deal.id, negotiation.id)
    db.session.rollback()
    assert db.session.get(Deal, deal.id).stage.name == "Proposal"


def test_agents_move_only_their_own_deals_and_ids_stay_in_the_org(owner, sales):
    agent = add_member(owner.organization, role=Role.AGENT)
    deal = make_deal(owner, stage="Proposal")
    with pytest.raises(Forbidden):
        boards.move_card(agent, deal.id, stage(sales, "Won").id)
    other = make_member(Role.OWNER)
    theirs = make_deal(other)
    with pytest.raises(NotFound):
        boards.move_card(owner, theirs.id, stage(sales, "Won").id)
    with pytest.raises(NotFound):
        boards.move_card(owner, deal.id, theirs.stage_id)


def test_quick_add_puts_a_deal_on_top_of_its_column(owner, sales):
    make_deal(owner, stage="Qualified")
    deal = boards.quick_add(owner, stage(sales, "Qualified").id, "Fresh lead", "1200")
    db.session.commit()
    col = column(boards.board(owner.org_id, sales.stages, EVERYTHING), "Qualified")
    assert col.cards[0].id == deal.id and deal.value == Decimal("1200")


# -- statement budgets (bench.kanban measures the time; these keep the shape) -------------------

def test_the_board_reads_in_three_statements_and_a_move_takes_four(owner, sales):
    for name in ("New lead", "Proposal"):
        for _ in range(3):
            make_deal(owner, stage=name, value="10")
    org_id = owner.org_id
    db.session.expire_all()
    with counting_statements() as statements:
        boards.board(org_id, service.pipelines(org_id)[0].stages, EVERYTHING)
    assert len(statements) == 3  # pipelines with stages, column sums, first cards of every column
    columns = boards.board(org_id, sales.stages, EVERYTHING)
    proposal, moving = column(columns, "Proposal"), column(columns, "New lead").cards[0]
    assert owner.role == "owner"  # loaded, as a request's membership is
    with counting_statements() as statements:
        boards.move_card(owner, moving.id, proposal.stage.id, above_id=proposal.cards[0].id,
                         below_id=proposal.cards[1].id)
        db.session.flush()
    # deal, neighbours and stage; the update; the history row; the event outbox row that carries the
    # move to campaigns (a deal reaching a stage a campaign stops at: queued, exactly once)
    assert len(statements) == 4, statements


def test_a_drop_next_to_cards_too_close_renumbers_and_lands_between(owner, sales):
    x, y, z = (make_deal(owner, stage="Qualified") for _ in range(3))
    for deal, position in ((x, 0.0), (y, 1e-7), (z, 0.5)):
        db.session.get(Deal, deal.id).position = position
    db.session.commit()
    boards.move_card(owner, z.id, stage(sales, "Qualified").id, above_id=x.id, below_id=y.id)
    db.session.commit()
    db.session.expire_all()
    order = [c.id for c in column(boards.board(owner.org_id, sales.stages, EVERYTHING), "Qualified").cards]
    assert order == [x.id, z.id, y.id]


def test_a_drop_at_the_top_of_a_column_also_takes_four_statements(owner, sales):
    make_deal(owner, stage="Proposal")
    moving = make_deal(owner, stage="New lead")
    moving_id, target_id = moving.id, stage(sales, "Proposal").id
    db.session.expire_all()  # as in a fresh request
    assert owner.role == "owner"
    with counting_statements() as statements:
        boards.move_card(owner, moving_id, target_id)
        db.session.flush()
    assert len(statements) == 4, "\n".join(s[:90] for s in statements)  # with the event outbox row


def test_a_deal_moved_by_someone_else_meanwhile_is_a_conflict(owner, sales):
    from app.errors import Conflict

    deal = make_deal(owner, stage="Qualified")
    assert db.session.get(Deal, deal.id).stage.name == "Qualified"  # this request has read it
    with db.engine.begin() as conn:  # a teammate's request moves it first
        conn.execute(Deal.__table__.update().where(Deal.__table__.c.id == deal.id)
                     .values(stage_id=stage(sales, "Won").id))
    with pytest.raises(Conflict, match="Someone moved this deal"):
        boards.move_card(owner, deal.id, stage(sales, "Proposal").id)
    db.session.rollback()
    assert db.session.scalar(select(StageMove).where(StageMove.to_stage_id == stage(sales, "Proposal").id)) is None
