"""The domain event bus: delivery after commit, nothing on rollback, batches, in-transaction."""

import pytest

from app.events import DealCreated, DealDeleted, DealEvent, DealMoved, bus, emit
from app.extensions import db


@pytest.fixture
def heard():
    got: dict[str, list] = {"each": [], "batch": [], "now": []}
    handlers = [bus.subscribe(DealEvent, got["each"].append),
                bus.subscribe((DealCreated, DealMoved), got["batch"].append, batch=True),
                bus.subscribe(DealDeleted, got["now"].append, in_transaction=True)]
    yield got
    for handler in handlers:
        bus.unsubscribe(handler)


def created(deal_id: int) -> DealCreated:
    return DealCreated(org_id=1, actor_id=None, deal_id=deal_id, pipeline_id=1, stage_id=1)


def test_subscribers_hear_events_only_after_the_commit(app, heard):
    emit(created(1))
    emit(created(2))
    assert heard["each"] == [] and heard["batch"] == []
    db.session.commit()
    assert [e.deal_id for e in heard["each"]] == [1, 2]
    assert [[e.deal_id for e in batch] for batch in heard["batch"]] == [[1, 2]]  # one call per commit


def test_a_rollback_drops_the_events_and_the_next_transaction_starts_clean(app, heard):
    emit(created(1))
    db.session.rollback()
    db.session.commit()
    assert heard["each"] == []
    emit(created(2))
    db.session.commit()
    assert [e.deal_id for e in heard["each"]] == [2]


def test_in_transaction_subscribers_hear_at_once(app, heard):
    event = DealDeleted(org_id=1, actor_id=None, deal_id=7, pipeline_id=1, stage_id=1)
    emit(event)
    assert heard["now"] == [event]
    db.session.rollback()


def test_a_failing_subscriber_does_not_stop_the_others(app, heard):
    def broken(_event):
        raise RuntimeError("boom")

    bus.subscribe(DealCreated, broken)
    try:
        emit(created(3))
        db.session.commit()
    finally:
        bus.unsubscribe(broken)
    assert [e.deal_id for e in heard["each"]] == [3]
