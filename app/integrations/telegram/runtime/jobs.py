"""RQ jobs the telegram process runs itself (``dispatch`` enqueues them on the holder's queue).

They run in the process's job thread, not in a forked worker: each hands its work to the loop
that holds the account's client and returns. The outbox row is the truth and the job only a
nudge, so a job that finds nothing to do (sent already, account moved) is fine.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.integrations.telegram.runtime.process import Runtime

log = logging.getLogger(__name__)
_bound = threading.local()


def bind(runtime: Runtime) -> None:
    """Jobs run in this thread reach ``runtime``."""
    _bound.runtime = runtime


def _runtime() -> Runtime | None:
    runtime = getattr(_bound, "runtime", None)
    if runtime is None:
        log.warning("a telegram job ran outside a telegram process; the holder's sweep will do it")
    return runtime


def send_message(message_id: int, account_id: int) -> None:
    """Send outbox message ``message_id`` of ``account_id`` (if it is due; otherwise it is scheduled)."""
    runtime = _runtime()
    if runtime is not None:
        runtime.submit(runtime.send(message_id, account_id))


def mark_read(chat_id: int) -> None:
    """Tell Telegram the chat is read up to ``Chat.read_inbox_max_id``."""
    runtime = _runtime()
    if runtime is not None:
        runtime.submit(runtime.mark_read(chat_id))
