"""Hand outbox work to the telegram process holding the account: an RQ job on its own queue.

The outbox row (``Message`` with status queued and its ``random_id``) is the truth; the job is
only a nudge. With no process holding the account nothing is enqueued: the process that acquires
the account sweeps its queued messages and unsent read marks first. A job that reaches a process
which lost the account meanwhile does nothing, for the same reason.
"""

from __future__ import annotations

from rq import Queue

from app.extensions import redis_store
from app.integrations.telegram import leases
from app.integrations.telegram.control import send_queue_name

SEND_JOB = "app.integrations.telegram.runtime.jobs.send_message"  # (message_id, account_id)
READ_JOB = "app.integrations.telegram.runtime.jobs.mark_read"  # (chat_id)


def _enqueue(account_id: int, func: str, *args: int) -> bool:
    redis = redis_store.client
    worker = leases.holder(redis, account_id)
    if worker is None:
        return False
    Queue(send_queue_name(worker), connection=redis).enqueue(func, *args, result_ttl=0,
                                                            failure_ttl=24 * 3600)
    return True


def send_soon(account_id: int, message_id: int) -> bool:
    """Nudge the holder to send queued message ``message_id``; False when no process holds it."""
    return _enqueue(account_id, SEND_JOB, message_id, account_id)


def read_soon(account_id: int, chat_id: int) -> bool:
    """Nudge the holder to mark the chat read on Telegram up to ``Chat.read_inbox_max_id``."""
    return _enqueue(account_id, READ_JOB, chat_id)
