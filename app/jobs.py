"""Background jobs: named RQ queues and enqueue-after-commit.

Jobs take ids, never objects, and are enqueued only once the rows they will read are committed;
a rolled-back transaction enqueues nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rq import Queue, Retry

from app.after_commit import after_commit
from app.extensions import redis_store


class Queues:
    DEFAULT = "default"
    IMPORTS = "imports"
    CAMPAIGNS = "campaigns"
    AI = "ai"
    EMAIL = "email"

    ALL = (DEFAULT, IMPORTS, CAMPAIGNS, AI, EMAIL)


def queue(name: str = Queues.DEFAULT) -> Queue:
    if name not in Queues.ALL:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=redis_store.client)


def retry_policy(times: int | Retry) -> Retry | None:
    """Retry a failed job ``times`` times, 5 s, 30 s, then every 2 minutes after its failure (or
    as the ``Retry`` given says)."""
    if isinstance(times, Retry):
        return times
    return Retry(max=times, interval=[5, 30, 120]) if times else None


def enqueue_now(name: str, func: Callable | str, *args: Any, job_id: str | None = None,
                retry: int | Retry = 0, **kwargs: Any):
    return queue(name).enqueue(func, *args, job_id=job_id, retry=retry_policy(retry), **kwargs)


def enqueue_after_commit(name: str, func: Callable | str, *args: Any, job_id: str | None = None,
                         retry: int | Retry = 0, **kwargs: Any) -> None:
    """Enqueue ``func(*args, **kwargs)`` on queue ``name`` once the session commits."""
    after_commit(lambda: enqueue_now(name, func, *args, job_id=job_id, retry=retry, **kwargs))
