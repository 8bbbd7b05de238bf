"""The dispatcher's loop, as the ``dispatcher`` process runs it (``workers/dispatcher.py``).

Each round is one unit of work: campaigns whose launch moment came start, one pass decides the due
enrollments (``dispatcher.dispatch_due``), and once a minute the housekeeping runs (A/B winners
picked by the test, saved audience filters brought up to date). It then sleeps until the next
step is due (read with the pass), at least ``GAP`` and at most ``IDLE`` seconds: a step is handed
over a tenth of a second after it falls due, and steps falling due one after another are decided
in passes of several, not one pass each.
Several dispatchers may run on PostgreSQL (each claims with SKIP LOCKED); on SQLite run one.
"""

from __future__ import annotations

import logging
import threading
import time

from flask import Flask

from app.blueprints.campaigns import dispatcher, housekeeping
from app.db_types import utcnow
from app.unit_of_work import unit_of_work

log = logging.getLogger(__name__)

IDLE = 0.5  # seconds between passes when nothing is due sooner
GAP = 0.1  # seconds between passes at least, while steps keep falling due
HOUSEKEEPING = 60.0


def run_once(app: Flask) -> int:
    """One pass in its own unit of work; how many enrollments it decided."""
    return pass_and_next(app)[0]


def pass_and_next(app: Flask) -> tuple[int, float | None]:
    """One pass in its own unit of work: how many it decided, and in how many seconds the next
    waiting step is due (None: none waits)."""
    with unit_of_work(app):
        decided = dispatcher.dispatch_due(utcnow())
        upcoming = dispatcher.next_due()
        return decided, (upcoming - utcnow()).total_seconds() if upcoming is not None else None


def run(app: Flask, stop: threading.Event | None = None, *, idle: float = IDLE) -> None:
    """Dispatch until ``stop`` is set (forever without one)."""
    stop = stop or threading.Event()
    kept_house = 0.0
    while not stop.is_set():
        upcoming: float | None = None
        try:
            decided, upcoming = pass_and_next(app)
            if time.monotonic() - kept_house >= HOUSEKEEPING:
                with unit_of_work(app):
                    housekeeping.keep_house(utcnow())
                kept_house = time.monotonic()
        except Exception:  # a failed pass is retried; the process stays up
            log.exception("campaigns: a dispatcher pass failed")
            decided = 0
        if decided >= dispatcher.BATCH:
            continue  # more are due right now
        stop.wait(idle if upcoming is None else min(idle, max(GAP, upcoming)))
