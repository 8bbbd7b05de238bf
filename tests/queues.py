"""RQ in tests: run a queue's waiting jobs as a worker would, and bring due retries back."""

from __future__ import annotations

from datetime import timedelta

from rq import SimpleWorker
from rq.job import Job

from app.db_types import utcnow
from app.extensions import redis_store
from app.jobs import Queues, queue


def work(name: str = Queues.DEFAULT) -> None:
    SimpleWorker([queue(name)], connection=redis_store.client).work(burst=True)


def run_due_retries(name: str = Queues.DEFAULT) -> int:
    """What RQ's scheduler does once a failed job's retry is due: back onto its queue. Returns
    how many it brought back."""
    registry, target = queue(name).scheduled_job_registry, queue(name)
    due = registry.get_jobs_to_schedule(timestamp=(utcnow() + timedelta(days=1)).timestamp())
    for job_id in due:
        target.enqueue_job(Job.fetch(job_id, connection=redis_store.client))
        registry.remove(job_id)
    return len(due)
