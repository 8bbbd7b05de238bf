import logging

import pytest
from rq import SimpleWorker

from app.extensions import db, redis_store
from app.jobs import Queues, enqueue_after_commit, queue


def mark(key: str) -> str:
    """A job: leaves a trace in Redis and a log line."""
    logging.getLogger("tests.jobs").info("marking %s", key)
    redis_store.client.set(key, "done")
    return key


def test_queues_are_named_constants():
    assert Queues.ALL == ("default", "imports", "campaigns", "ai", "email")
    with pytest.raises(ValueError):
        queue("nope")


def test_a_job_is_enqueued_only_after_commit():
    enqueue_after_commit(Queues.DEFAULT, mark, "after-commit")
    assert queue().count == 0
    db.session.commit()
    assert queue().count == 1


def test_a_rolled_back_transaction_enqueues_nothing():
    enqueue_after_commit(Queues.DEFAULT, mark, "never")
    db.session.rollback()
    db.session.commit()
    assert queue().count == 0


def test_a_worker_runs_the_job_and_its_log_lines_carry_the_job_id(caplog):
    from app.observability import ContextFilter

    enqueue_after_commit(Queues.EMAIL, mark, "ran", job_id="job-123")
    db.session.commit()
    caplog.handler.addFilter(ContextFilter())
    with caplog.at_level(logging.INFO, logger="tests.jobs"):
        SimpleWorker([queue(Queues.EMAIL)], connection=redis_store.client).work(burst=True)
    assert redis_store.client.get("ran") == b"done"
    records = [r for r in caplog.records if r.name == "tests.jobs"]
    assert records and records[0].job_id == "job-123"
