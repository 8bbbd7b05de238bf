"""The domain event bus: in-transaction, queued (outbox, once per event) and after-commit
subscribers, savepoints and rollbacks, and the same delivery from requests, jobs and the telegram
process."""

import asyncio
from datetime import timedelta

import pytest
from rq.job import Job
from sqlalchemy import func, select

from app import event_outbox
from app.audit import AuditEvent, record
from app.blueprints.crm.events import ContactsMerged, DealCreated, DealDeleted, DealEvent, DealUpdated
from app.blueprints.crm.models import Deal
from app.blueprints.crm.records import service
from app.blueprints.pipeline.events import DealMoved
from app.blueprints.team.models import Membership
from app.db_types import utcnow
from app.event_outbox import EventOutbox, HandledEvent
from app.events import (
    bus,
    deliver_queued,
    emit,
    event_from_json,
    event_to_json,
    handler_name,
)
from app.extensions import db, redis_store
from app.jobs import Queues, enqueue_after_commit, enqueue_now, queue
from app.unit_of_work import unit_of_work
from tests.conftest import bearer
from tests.queues import run_due_retries, work


@pytest.fixture
def heard():
    got: dict[str, list] = {"each": [], "batch": [], "now": []}
    handlers = [bus.subscribe(DealEvent, got["each"].append),
                bus.subscribe((DealCreated, DealMoved), got["batch"].append, batch=True),
                bus.subscribe(DealDeleted, got["now"].append, in_transaction=True)]
    yield got
    for handler in handlers:
        bus.unsubscribe(handler)


@pytest.fixture
def subscribed():
    """Subscribe handlers for the test only: ``subscribed(Event, handler, **how)``."""
    handlers = []

    def add(event_types, handler, **how):
        handlers.append(bus.subscribe(event_types, handler, **how))
        return handler

    yield add
    for handler in handlers:
        bus.unsubscribe(handler)


def created(deal_id: int) -> DealCreated:
    return DealCreated(org_id=1, actor_id=None, deal_id=deal_id, pipeline_id=1, stage_id=1)


# -- subscribers the tests hang on the bus (queued ones must be module-level: jobs find them) ------

def note_in_transaction(event: DealEvent) -> None:
    record("heard.in_transaction", deal_id=event.deal_id, event_id=event.event_id)


def note_after_commit(event: DealEvent) -> None:
    record("heard.after_commit", deal_id=event.deal_id, event_id=event.event_id)
    enqueue_after_commit(Queues.DEFAULT, mark, f"job-of-subscriber-{event.deal_id}")


def note_queued(event: DealEvent) -> None:
    record("heard.queued", deal_id=event.deal_id, event_id=event.event_id)


def note_queued_failing_once(event: DealEvent) -> None:
    record("heard.queued", deal_id=event.deal_id, event_id=event.event_id)
    db.session.flush()  # the row is written, then the handler fails: the retry must not keep it
    if redis_store.client.incr(f"attempts-{event.event_id}") == 1:
        raise RuntimeError("the first attempt fails")


def mark(key: str) -> None:
    """A job: leaves a trace in Redis."""
    redis_store.client.set(key, "done")


def noted(action: str) -> list[dict]:
    """The details of the audit rows ``action`` committed (a fresh read)."""
    db.session.commit()
    return [row.detail for row in db.session.scalars(select(AuditEvent).where(AuditEvent.action == action))]


def outbox_rows() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count()).select_from(EventOutbox))


def only_job_id(name: str = Queues.DEFAULT) -> str:
    (job_id,) = queue(name).job_ids
    return job_id


# -- the in-process subscribers --------------------------------------------------------------------

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


def test_an_in_transaction_subscribers_write_commits_with_the_change_and_goes_with_its_rollback(
        app, subscribed):
    subscribed(DealCreated, note_in_transaction, in_transaction=True)
    record("the.change", deal_id=1)
    emit(created(1))
    db.session.commit()
    record("the.change", deal_id=2)
    emit(created(2))
    db.session.rollback()
    assert [d["deal_id"] for d in noted("the.change")] == [1]
    assert [d["deal_id"] for d in noted("heard.in_transaction")] == [1]


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


def test_an_after_commit_subscriber_that_enqueues_after_commit_really_enqueues(app, subscribed):
    subscribed(DealCreated, note_after_commit)
    emit(created(4))
    db.session.commit()
    assert queue().count == 1  # now, not at some later commit of the session
    work()
    assert redis_store.client.get("job-of-subscriber-4") == b"done"


def test_rows_an_after_commit_subscriber_adds_are_committed_when_the_session_ends(app, subscribed):
    subscribed(DealCreated, note_after_commit)
    emit(created(5))
    db.session.commit()
    db.session.remove()  # the request (or the telegram unit) ends here
    assert [d["deal_id"] for d in noted("heard.after_commit")] == [5]


def test_a_failing_after_commit_subscriber_rolls_back_its_own_writes_only(app, subscribed):
    def writes_then_fails(event):
        record("heard.broken", deal_id=event.deal_id)
        raise RuntimeError("boom")

    subscribed(DealCreated, writes_then_fails)
    subscribed(DealCreated, note_after_commit)
    record("the.change", deal_id=6)
    emit(created(6))
    db.session.commit()
    assert noted("heard.broken") == []
    assert [d["deal_id"] for d in noted("the.change")] == [6]
    assert [d["deal_id"] for d in noted("heard.after_commit")] == [6]


def test_an_after_commit_callback_registered_while_callbacks_run_runs_in_that_phase(app):
    from app.after_commit import after_commit

    ran = []
    after_commit(lambda: after_commit(lambda: ran.append("nested")))
    db.session.commit()
    assert ran == ["nested"]


def test_a_released_savepoint_delivers_at_the_commit_and_a_rolled_back_one_never(app, heard):
    with db.session.begin_nested():
        emit(created(1))
    assert heard["each"] == []  # releasing a savepoint is not a commit
    savepoint = db.session.begin_nested()
    emit(created(2))
    savepoint.rollback()
    db.session.commit()
    assert [e.deal_id for e in heard["each"]] == [1]


# -- queued subscribers: outbox, jobs, once per event ----------------------------------------------

def test_a_rollback_delivers_nothing_no_outbox_row_no_job(app, heard, subscribed):
    subscribed(DealCreated, note_queued, queue=Queues.DEFAULT)
    emit(created(1))
    db.session.rollback()
    db.session.commit()
    assert outbox_rows() == 0 and queue().count == 0 and heard["each"] == []


def test_a_rolled_back_savepoint_leaves_no_outbox_row_and_no_job(app, subscribed):
    subscribed(DealCreated, note_queued, queue=Queues.DEFAULT)
    with db.session.begin_nested():
        emit(created(1))
    savepoint = db.session.begin_nested()
    emit(created(2))
    savepoint.rollback()
    db.session.commit()
    assert queue().count == 1 and outbox_rows() == 0
    work()
    assert [d["deal_id"] for d in noted("heard.queued")] == [1]


def test_a_queued_subscriber_hears_through_a_job_enqueued_after_the_commit(app, subscribed):
    subscribed(DealCreated, note_queued, queue=Queues.DEFAULT)
    event = created(1)
    emit(event)
    assert db.session.scalar(select(func.count()).select_from(EventOutbox)) == 1  # with the change
    assert queue().count == 0
    db.session.commit()
    assert queue().count == 1 and outbox_rows() == 0  # enqueued, so struck from the outbox
    work()
    assert noted("heard.queued") == [{"deal_id": 1, "event_id": event.event_id}]


def test_a_queued_handler_commits_its_effect_once_when_its_job_runs_again(app, subscribed):
    subscribed(DealCreated, note_queued, queue=Queues.DEFAULT)
    emit(created(1))
    db.session.commit()
    job_id = only_job_id()
    work()
    queue().enqueue_job(Job.fetch(job_id, connection=redis_store.client))  # RQ runs it again
    work()
    assert len(noted("heard.queued")) == 1
    assert Job.fetch(job_id, connection=redis_store.client).return_value() is False  # it skipped


def test_a_job_rerun_after_its_worker_died_before_telling_rq_commits_once(app, subscribed):
    subscribed(DealCreated, note_queued, queue=Queues.DEFAULT)
    emit(created(1))
    db.session.commit()
    job = Job.fetch(only_job_id(), connection=redis_store.client)
    job.perform()  # the effect commits, the worker dies: RQ still has the job to do
    work()
    assert len(noted("heard.queued")) == 1


def test_a_job_whose_result_was_lost_and_that_is_enqueued_again_commits_once(app, subscribed):
    subscribed(DealCreated, note_queued, queue=Queues.DEFAULT)
    event = created(1)
    emit(event)
    db.session.commit()
    work()
    entry = event_outbox.Entry(event_id=event.event_id, handler=handler_name(note_queued),
                               queue=Queues.DEFAULT, payload=event_to_json(event))
    Job.fetch(entry.job_id, connection=redis_store.client).delete()  # its result is gone
    event_outbox.relay([entry])  # and the event is relayed again (a sweep after a lost strike)
    work()
    assert len(noted("heard.queued")) == 1


def test_a_handler_that_fails_then_succeeds_on_retry_commits_its_effect_once(app, subscribed):
    subscribed(DealCreated, note_queued_failing_once, queue=Queues.DEFAULT)
    emit(created(1))
    db.session.commit()
    work()
    assert noted("heard.queued") == []  # the failed attempt rolled its row back
    assert db.session.scalar(select(func.count()).select_from(HandledEvent)) == 0
    run_due_retries()
    work()
    assert len(noted("heard.queued")) == 1
    assert queue().failed_job_registry.count == 0


def test_the_sweep_enqueues_an_outbox_row_whose_enqueue_never_happened(app, subscribed, monkeypatch):
    def redis_is_gone(_entries):
        raise ConnectionError("the process died between commit and enqueue")

    subscribed(DealCreated, note_queued, queue=Queues.DEFAULT)
    monkeypatch.setattr(event_outbox, "_enqueue", redis_is_gone)
    emit(created(1))
    db.session.commit()
    assert queue().count == 0 and outbox_rows() == 1
    monkeypatch.undo()
    assert event_outbox.sweep_outbox() == 0  # still young: its relay may be on its way
    later = utcnow() + event_outbox.SWEEP_GRACE + timedelta(seconds=1)
    assert event_outbox.sweep_outbox(now=later) == 1
    assert queue().count == 1 and outbox_rows() == 0
    assert event_outbox.sweep_outbox(now=later) == 0
    work()
    assert len(noted("heard.queued")) == 1


def test_handled_markers_are_forgotten_after_thirty_days(app, subscribed):
    subscribed(DealCreated, note_queued, queue=Queues.DEFAULT)
    emit(created(1))
    db.session.commit()
    work()
    assert event_outbox.purge_handled_events() == 0
    assert event_outbox.purge_handled_events(now=utcnow() + event_outbox.HANDLED_KEPT
                                             + timedelta(minutes=1)) == 1


def test_a_queued_subscriber_must_be_a_module_level_function_on_a_known_queue(app):
    def local(_event):
        pass

    with pytest.raises(ValueError, match="module-level"):
        bus.subscribe(DealCreated, local, queue=Queues.DEFAULT)
    with pytest.raises(ValueError, match="unknown queue"):
        bus.subscribe(DealCreated, note_queued, queue="nope")
    with pytest.raises(ValueError, match="no batch"):
        bus.subscribe(DealCreated, note_queued, queue=Queues.DEFAULT, batch=True)


def test_a_queued_job_whose_handler_is_unknown_fails_loudly(app):
    with pytest.raises(LookupError):
        deliver_queued("tests.core.test_events.no_such_handler", event_to_json(created(1)))


# -- events as JSON --------------------------------------------------------------------------------

def test_events_carry_a_stable_id_and_come_back_from_json_equal():
    events = [
        DealMoved(org_id=1, actor_id=2, deal_id=3, pipeline_id=4, stage_id=5, from_stage_id=None,
                  from_pipeline_id=4),
        DealUpdated(org_id=1, actor_id=None, deal_id=3, pipeline_id=4, stage_id=5,
                    changes={"title": ["Old", "New"], "value": [None, "12.50"]}),
        ContactsMerged(org_id=1, actor_id=2, contact_id=9, merged_ids=(10, 11)),
    ]
    assert len({e.event_id for e in events}) == 3
    for event in events:
        assert event_from_json(event_to_json(event)) == event


# -- the same delivery wherever the commit happens ---------------------------------------------------

def create_deal(membership_id: int, title: str) -> None:
    """A piece of domain work that raises DealCreated (through the CRM service)."""
    service.create_record(db.session.get(Membership, membership_id), "deal", {"title": title})


def create_deal_job(membership_id: int, title: str) -> None:
    """A job doing that work in its unit of work."""
    with unit_of_work():
        create_deal(membership_id, title)


@pytest.fixture
def telegram_runtime(app):
    from app.integrations.telegram.runtime.process import Runtime
    from app.integrations.telegram.sandbox import World

    runtime = Runtime(app, world=World())
    yield runtime
    runtime._db.shutdown(wait=True)  # never started: only its database threads ran


def test_an_event_raised_in_a_job_or_a_telegram_unit_reaches_subscribers_as_in_a_request(
        app, client, owner, subscribed, telegram_runtime):
    batches: list[list[int]] = []
    subscribed(DealCreated, note_in_transaction, in_transaction=True)
    subscribed(DealCreated, note_after_commit)
    subscribed(DealCreated, lambda events: batches.append([e.deal_id for e in events]), batch=True)
    subscribed(DealCreated, note_queued, queue=Queues.DEFAULT)
    headers = bearer(owner)

    assert client.post("/api/crm/deals", json={"title": "In a request"}, headers=headers).status_code == 201
    enqueue_now(Queues.IMPORTS, create_deal_job, owner.id, "In a job")
    work(Queues.IMPORTS)
    asyncio.run(telegram_runtime.db(create_deal, owner.id, "In the telegram process"))
    work()  # the queued subscribers' jobs, and the jobs the after-commit subscriber enqueued

    def what_subscribers_did(title: str) -> dict:
        deal_id = db.session.scalar(select(Deal.id).where(Deal.title == title))
        ids = {action: [d["event_id"] for d in noted(action) if d["deal_id"] == deal_id]
               for action in ("heard.in_transaction", "heard.after_commit", "heard.queued")}
        return {**{action: len(found) for action, found in ids.items()},
                "one event id": len({i for found in ids.values() for i in found}) == 1,
                "batches": batches.count([deal_id]),
                "subscriber's job ran": redis_store.client.get(f"job-of-subscriber-{deal_id}") == b"done"}

    in_a_request = what_subscribers_did("In a request")
    assert in_a_request == {"heard.in_transaction": 1, "heard.after_commit": 1, "heard.queued": 1,
                            "one event id": True, "batches": 1, "subscriber's job ran": True}
    assert what_subscribers_did("In a job") == in_a_request
    assert what_subscribers_did("In the telegram process") == in_a_request
    assert outbox_rows() == 0


def test_the_clock_sweeps_the_outbox_every_minute_and_purges_handled_markers_nightly(app):
    from workers.clock import build_scheduler

    crons = {job.func_name: job.cron for job in build_scheduler()._cron_jobs}
    assert crons["app.event_outbox.sweep_outbox"] == "* * * * *"
    assert "app.event_outbox.purge_handled_events" in crons
