"""Pipelines and stages: CRUD, validation, roles, deletes that move deals, history of every move."""

import pytest
from sqlalchemy import select

from app.blueprints.crm.bulk.service import bulk
from app.blueprints.crm.events import DealEvent
from app.blueprints.crm.models import Deal
from app.blueprints.crm.records import service as crm
from app.blueprints.pipeline import service
from app.blueprints.pipeline.models import Pipeline, Stage, StageMove
from app.blueprints.pipeline.rules import RuleBroken
from app.blueprints.team.permissions import Role
from app.errors import DomainError, Forbidden, NotFound
from app.events import bus
from app.extensions import db
from tests.factories import add_member, make_contact, make_deal, make_member


def stage_named(org_id: int, name: str) -> Stage:
    return next(s for p in service.pipelines(org_id) for s in p.stages if s.name == name)


@pytest.fixture
def events():
    heard: list = []
    bus.subscribe(DealEvent, heard.append)
    yield heard
    bus.unsubscribe(heard.append)


# -- pipelines ---------------------------------------------------------------------------------

def test_an_organization_starts_with_the_sales_pipeline(owner):
    [pipeline] = service.pipelines(owner.org_id)
    assert pipeline.name == "Sales"
    assert [s.name for s in pipeline.stages][-2:] == ["Won", "Lost"]


def test_creating_renaming_and_ordering_pipelines(owner):
    service.pipelines(owner.org_id)
    partners = service.create_pipeline(owner, "Partnerships")
    assert [s.name for s in partners.stages] == ["New", "In progress", "Won", "Lost"]
    service.update_pipeline(owner, partners.id, {"name": "Partners", "position": 0})
    db.session.commit()
    assert [p.name for p in service.pipelines(owner.org_id)] == ["Partners", "Sales"]
    with pytest.raises(DomainError) as err:
        service.create_pipeline(owner, "partners")
    assert err.value.fields == {"name": "Pick another name."}
    with pytest.raises(DomainError):
        service.create_pipeline(owner, "  ")


def test_agents_cannot_change_pipelines(owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    with pytest.raises(Forbidden):
        service.create_pipeline(agent, "Mine")
    stage = service.pipelines(owner.org_id)[0].stages[0]
    with pytest.raises(Forbidden):
        service.update_stage(agent, stage.id, {"name": "Renamed"})


def test_another_organizations_pipeline_is_not_found(owner):
    other = make_member(Role.OWNER)
    theirs = service.pipelines(other.org_id)[0]
    db.session.commit()
    with pytest.raises(NotFound):
        service.update_pipeline(owner, theirs.id, {"name": "Mine now"})
    with pytest.raises(NotFound):
        service.delete_stage(owner, theirs.stages[0].id)


def test_deleting_a_pipeline_with_deals_asks_where_they_go_and_loses_none(owner, events):
    sales = service.pipelines(owner.org_id)[0]
    deals = [make_deal(owner, stage=s.id) for s in sales.stages[:3]]
    trashed = make_deal(owner)
    crm.trash_records(owner, "deal", [trashed.id])
    partners = service.create_pipeline(owner, "Partners")
    db.session.commit()
    with pytest.raises(DomainError, match="It holds 4 deals: choose a stage of another pipeline"):
        service.delete_pipeline(owner, sales.id)
    with pytest.raises(DomainError, match="another pipeline"):
        service.delete_pipeline(owner, sales.id, sales.stages[1].id)
    events.clear()
    assert service.delete_pipeline(owner, sales.id, partners.stages[1].id) == 4
    db.session.commit()
    assert db.session.get(Pipeline, sales.id) is None
    for deal in [*deals, trashed]:
        moved = db.session.get(Deal, deal.id)
        assert (moved.pipeline_id, moved.stage_id) == (partners.id, partners.stages[1].id)
    history = db.session.scalars(select(StageMove).where(StageMove.deal_id == deals[0].id)
                                 .order_by(StageMove.id)).all()
    assert history[-1].reason == "pipeline deleted" and history[-1].from_stage_name == "New lead"
    assert {e.deal_id for e in events} == {d.id for d in [*deals, trashed]}


def test_the_last_pipeline_cannot_be_deleted(owner):
    [only] = service.pipelines(owner.org_id)
    with pytest.raises(DomainError, match="only pipeline"):
        service.delete_pipeline(owner, only.id)


# -- stages ------------------------------------------------------------------------------------

def test_a_new_stage_goes_before_won_and_lost_unless_placed(owner):
    sales = service.pipelines(owner.org_id)[0]
    demo = service.create_stage(owner, sales.id, {"name": "Demo", "probability": "50", "colour": "blue"})
    first = service.create_stage(owner, sales.id, {"name": "Inbound", "position": 0})
    db.session.commit()
    names = [s.name for s in service.get_pipeline(owner.org_id, sales.id).stages]
    assert names[0] == "Inbound" and names[-3:] == ["Demo", "Won", "Lost"]
    assert (demo.probability, demo.colour, first.kind) == (50, "blue", "open")


def test_stage_validation_names_every_bad_field(owner):
    sales = service.pipelines(owner.org_id)[0]
    with pytest.raises(DomainError) as err:
        service.create_stage(owner, sales.id, {"name": "Won", "probability": 140, "colour": "pink",
                                               "wip_limit": 0, "kind": "maybe",
                                               "required_fields": ["shoe_size"], "allowed_from": [999999]})
    assert set(err.value.fields) == {"name", "probability", "colour", "wip_limit", "kind",
                                     "required_fields", "allowed_from"}


def test_rules_are_stored_and_open_stages_always_let_deals_leave(owner):
    sales = service.pipelines(owner.org_id)[0]
    proposal, negotiation, won = (stage_named(owner.org_id, n) for n in ("Proposal", "Negotiation", "Won"))
    service.update_stage(owner, negotiation.id, {"required_fields": ["value", "expected_close"],
                                                 "allowed_from": [proposal.id], "wip_limit": "3",
                                                 "allow_exit": False})
    service.update_stage(owner, won.id, {"allow_exit": False})
    db.session.commit()
    assert negotiation.required_fields == ["value", "expected_close"]
    assert (negotiation.allowed_from, negotiation.wip_limit) == ([proposal.id], 3)
    assert negotiation.allow_exit is True and won.allow_exit is False
    assert sales.id == negotiation.pipeline_id


def test_reordering_stages_needs_every_stage_once(owner):
    sales = service.pipelines(owner.org_id)[0]
    ids = [s.id for s in sales.stages]
    service.reorder_stages(owner, sales.id, list(reversed(ids)))
    db.session.commit()
    assert [s.id for s in service.get_pipeline(owner.org_id, sales.id).stages] == list(reversed(ids))
    with pytest.raises(DomainError):
        service.reorder_stages(owner, sales.id, ids[:2])
    service.move_stage(owner, ids[0], -1)
    assert service.get_pipeline(owner.org_id, sales.id).stages[-2].id == ids[0]


def test_deleting_a_stage_moves_its_deals_and_drops_rules_pointing_at_it(owner):
    qualified, proposal, negotiation = (stage_named(owner.org_id, n)
                                        for n in ("Qualified", "Proposal", "Negotiation"))
    service.update_stage(owner, negotiation.id, {"allowed_from": [proposal.id, qualified.id]})
    deal = make_deal(owner, stage=proposal.id)
    with pytest.raises(DomainError, match="It holds 1 deal"):
        service.delete_stage(owner, proposal.id)
    assert service.delete_stage(owner, proposal.id, qualified.id) == 1
    db.session.commit()
    assert db.session.get(Deal, deal.id).stage_id == qualified.id
    assert negotiation.allowed_from == [qualified.id]
    assert db.session.get(Stage, proposal.id) is None
    last = db.session.scalars(select(StageMove).where(StageMove.deal_id == deal.id)
                              .order_by(StageMove.id.desc())).first()
    assert (last.from_stage_name, last.to_stage_name, last.reason) == ("Proposal", "Qualified", "stage deleted")


# -- moves through the CRM paths -------------------------------------------------------------------

def test_creating_a_deal_records_where_it_started_and_emits_created(owner, events):
    deal = make_deal(owner, stage="Qualified")
    [entry] = db.session.scalars(select(StageMove).where(StageMove.deal_id == deal.id)).all()
    assert (entry.from_stage_id, entry.to_stage_name, entry.actor_id) == (None, "Qualified", owner.user_id)
    assert [e.name for e in events] == ["DealCreated"]


def test_moving_through_the_form_records_history_time_spent_and_events(owner, events):
    deal = make_deal(owner, stage="Qualified")
    events.clear()
    crm.update_record(owner, "deal", deal.id, {"stage": "Won", "value": "900"})
    db.session.commit()
    moves = db.session.scalars(select(StageMove).where(StageMove.deal_id == deal.id).order_by(StageMove.id)).all()
    assert [(m.from_stage_name, m.to_stage_name) for m in moves] == [(None, "Qualified"), ("Qualified", "Won")]
    assert moves[1].seconds_in_previous is not None and moves[1].seconds_in_previous >= 0
    assert sorted(e.name for e in events) == ["DealMoved", "DealUpdated", "DealWon"]
    assert db.session.get(Deal, deal.id).status == "won"


def test_a_form_move_that_breaks_a_rule_is_refused_with_the_rule(owner):
    negotiation = stage_named(owner.org_id, "Negotiation")
    service.update_stage(owner, negotiation.id, {"required_fields": ["expected_close"]})
    deal = make_deal(owner, stage="Proposal")  # commits
    with pytest.raises(RuleBroken) as err:
        crm.update_record(owner, "deal", deal.id, {"stage": negotiation.id})
    assert err.value.fields == {"stage": "“Negotiation” requires Expected close date before a deal can enter it."}
    db.session.rollback()
    crm.update_record(owner, "deal", deal.id, {"stage": negotiation.id, "expected_close": "2027-01-31"})
    db.session.commit()
    assert db.session.get(Deal, deal.id).stage_id == negotiation.id


def test_a_new_deal_obeys_its_stage_entry_rules(owner):
    negotiation = stage_named(owner.org_id, "Negotiation")
    service.update_stage(owner, negotiation.id, {"required_fields": ["value", "contact"]})
    db.session.commit()
    with pytest.raises(RuleBroken, match="requires Value and Contact"):
        crm.create_record(owner, "deal", {"title": "Rushed", "stage": negotiation.id})
    db.session.rollback()
    contact = make_contact(owner)
    deal = crm.create_record(owner, "deal", {"title": "Ready", "stage": negotiation.id, "value": "10",
                                             "contact": contact.id})
    assert deal.stage_id == negotiation.id


def test_bulk_moves_skip_the_deals_a_rule_refuses(owner, events):
    negotiation = stage_named(owner.org_id, "Negotiation")
    service.update_stage(owner, negotiation.id, {"required_fields": ["value"]})
    ready, bare = make_deal(owner, value="10"), make_deal(owner)
    events.clear()
    assert bulk(owner, "deal", "move_stage", [ready.id, bare.id], negotiation.id) == 1
    db.session.commit()
    assert db.session.get(Deal, ready.id).stage_id == negotiation.id
    assert db.session.get(Deal, bare.id).stage_id != negotiation.id
    assert [e.name for e in events] == ["DealMoved"]
    with pytest.raises(RuleBroken):
        bulk(owner, "deal", "move_stage", [bare.id], negotiation.id)


def test_probability_follows_the_stage_unless_set_by_hand(owner):
    deal = make_deal(owner, stage="Qualified")
    assert deal.probability == 25
    crm.update_record(owner, "deal", deal.id, {"stage": "Proposal"})
    assert deal.probability == 60
    crm.update_record(owner, "deal", deal.id, {"probability": 35})
    crm.update_record(owner, "deal", deal.id, {"stage": "Negotiation"})
    assert deal.probability == 35


def test_trash_and_restore_emit_deleted_and_restored(owner, events):
    deal = make_deal(owner)
    events.clear()
    crm.trash_records(owner, "deal", [deal.id])
    crm.restore_records(owner, "deal", [deal.id])
    db.session.commit()
    assert [e.name for e in events] == ["DealDeleted", "DealRestored"]
    assert events[0].stage_id == deal.stage_id


# -- review follow-ups: status, kinds, events, malformed input ---------------------------------------

def test_a_new_organization_starts_with_its_pipeline_saved(app):
    from app.blueprints.team.service import create_organization
    from tests.factories import make_user

    membership = create_organization(owner=make_user(), name="Fresh Co")
    db.session.commit()
    with db.engine.connect() as conn:  # another connection sees it: it was committed
        count = conn.execute(select(Pipeline.id).where(Pipeline.org_id == membership.org_id)).all()
    assert len(count) == 1


def test_winning_or_losing_by_status_is_a_move_that_obeys_the_rules(owner, events):
    won = stage_named(owner.org_id, "Won")
    deal = make_deal(owner, stage="Proposal")
    events.clear()
    crm.update_record(owner, "deal", deal.id, {"status": "lost", "lost_reason": "budget"})
    db.session.commit()
    assert (deal.stage.name, deal.status, deal.lost_reason) == ("Lost", "lost", "budget")
    assert [e.name for e in events] == ["DealMoved", "DealLost", "DealUpdated"]
    assert "status" not in events[2].changes and events[2].changes["lost_reason"] == [None, "budget"]
    service.update_stage(owner, won.id, {"allow_exit": False})
    crm.update_record(owner, "deal", deal.id, {"stage": won.id, "value": "5"})
    db.session.commit()
    with pytest.raises(DomainError) as err:
        crm.update_record(owner, "deal", deal.id, {"status": "open"})
    assert err.value.fields == {"status": "Status: to reopen a deal, move it to an open stage."}
    db.session.rollback()
    with pytest.raises(RuleBroken, match="“Won” keeps its deals"):
        crm.update_record(owner, "deal", deal.id, {"status": "lost"})


def test_a_stage_holding_deals_keeps_its_kind(owner):
    proposal = stage_named(owner.org_id, "Proposal")
    make_deal(owner, stage="Proposal")
    with pytest.raises(DomainError) as err:
        service.update_stage(owner, proposal.id, {"kind": "won"})
    assert err.value.fields == {"kind": "It holds 1 deal: move it out first."}


def test_events_come_in_order_and_once(owner, events):
    deal = make_deal(owner, stage="Won")
    assert [e.name for e in events] == ["DealCreated", "DealWon"]
    events.clear()
    crm.update_record(owner, "deal", deal.id, {"stage": "Qualified", "title": "Reopened"})
    db.session.commit()
    assert [e.name for e in events] == ["DealMoved", "DealUpdated"]
    assert set(events[1].changes) == {"title", "probability"}


def test_bulk_reassignment_events_carry_the_previous_owner(owner, events):
    rep = add_member(owner.organization, role=Role.AGENT)
    deal = make_deal(owner)
    events.clear()
    bulk(owner, "deal", "assign", [deal.id], rep.user_id)
    db.session.commit()
    assert events[0].changes == {"owner": [owner.user_id, rep.user_id]}


@pytest.mark.parametrize("data, field", [({"probability": "--5"}, "probability"),
                                         ({"wip_limit": "1e3"}, "wip_limit"),
                                         ({"wip_limit": str(service.MAX_WIP_LIMIT + 1)}, "wip_limit"),
                                         ({"wip_limit": 2**40}, "wip_limit"),
                                         ({"required_fields": [[]]}, "required_fields"),
                                         ({"allowed_from": ["x"]}, "allowed_from")])
def test_malformed_stage_input_is_a_field_error(owner, data, field):
    stage = stage_named(owner.org_id, "Proposal")
    with pytest.raises(DomainError) as err:
        service.update_stage(owner, stage.id, data)
    assert set(err.value.fields) == {field}


def test_a_stage_whose_pipeline_is_deleted_meanwhile_is_not_found_and_nothing_changes(monkeypatch):
    """Two people at once: one deletes a pipeline while the other deletes one of its stages."""
    from sqlalchemy import delete, text

    owner = make_member()
    doomed = service.create_pipeline(owner, "Partners")
    db.session.commit()
    stage_id, pipeline_id = doomed.stages[0].id, doomed.id
    db.session.expire_all()
    found = service.get_stage

    def found_then_gone(org_id, sid):
        stage = found(org_id, sid)
        with db.engine.begin() as other:  # the other person's deletion commits right now
            other.execute(delete(Stage).where(Stage.pipeline_id == pipeline_id))
            other.execute(delete(Pipeline).where(Pipeline.id == pipeline_id))
        return stage

    monkeypatch.setattr(service, "get_stage", found_then_gone)
    with pytest.raises(NotFound, match="Stage not found"):
        service.delete_stage(owner, stage_id)
    db.session.rollback()
    assert db.session.scalar(select(Pipeline.id).where(Pipeline.id == pipeline_id)) is None
    assert db.session.execute(text("SELECT count(*) FROM stage WHERE pipeline_id = :p"),
                              {"p": pipeline_id}).scalar() == 0
