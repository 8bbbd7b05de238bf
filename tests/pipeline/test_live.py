"""Live boards: one doorbell per transaction names the pipelines and stages that changed."""


import pytest

from app.blueprints.crm.bulk.service import bulk
from app.blueprints.crm.records import service as crm
from app.blueprints.pipeline import board as boards
from app.blueprints.pipeline import service
from app.blueprints.pipeline.live import KIND, board_doorbell
from app.extensions import db, redis_store
from app.realtime import read_event
from tests.factories import make_deal


@pytest.fixture
def doorbells(app, owner):
    pubsub = redis_store.client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(f"rt:org:{owner.org_id}")
    pubsub.get_message(timeout=1)

    def rung() -> list[dict]:
        found = []
        while (message := pubsub.get_message(timeout=0.2)) is not None:
            event = read_event(message["data"])[1]
            if event["kind"] == KIND:
                found.append(event["data"])
        return found

    yield rung
    pubsub.close()


def test_a_move_rings_once_with_both_columns(owner, doorbells):
    sales = service.pipelines(owner.org_id)[0]
    deal = make_deal(owner, stage="Qualified")
    source_id = deal.stage_id
    doorbells()
    target = next(s for s in sales.stages if s.name == "Proposal")
    boards.move_card(owner, deal.id, target.id)
    assert doorbells() == []  # nothing before the commit
    db.session.commit()
    assert doorbells() == [{"pipelines": {str(sales.id): sorted([source_id, target.id])}}]


def test_a_bulk_move_of_many_deals_is_one_doorbell(owner, doorbells):
    deals = [make_deal(owner, stage="Qualified") for _ in range(12)]
    doorbells()
    bulk(owner, "deal", "move_stage", [d.id for d in deals], "Proposal")
    db.session.commit()
    assert len(doorbells()) == 1


def test_a_rolled_back_change_rings_nothing(owner, doorbells):
    make_deal(owner)
    doorbells()
    crm.create_record(owner, "deal", {"title": "Never"})
    db.session.rollback()
    db.session.commit()
    assert doorbells() == []


def test_the_doorbell_fragment_marks_each_pipeline_for_an_out_of_band_swap():
    html = board_doorbell({"pipelines": {"5": [3, 4]}, "org_id": 1}, viewer=None)
    assert html == ('<div id="board-live-5" class="board-live" hidden hx-swap-oob="true" '
                    'data-stages="3,4"></div>')
