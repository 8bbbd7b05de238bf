"""The dispatcher's loop, as the ``dispatcher`` process runs it (``workers/dispatcher.py``).

Each round is one unit of work: campaigns whose launch moment came start, one pass decides the due
enrollments (``dispatcher.dispatch_due``), and once a minute the housekeeping runs (A/B winners
picked by the test, saved audience filters brought up to date). It then sleeps until the next
step is due, at most ``IDLE`` seconds, so a step due now is handed over within about a second.
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
HOUSEKEEPING = 60.0


def run_once(app: Flask) -> int:
    """One pass in its own unit of work; how many enrollments it decided."""
    with unit_of_work(app):
        return dispatcher.dispatch_due(utcnow())


def run(app: Flask, stop: threading.Event | None = None, *, idle: float = IDLE) -> None:
    """Dispatch until ``stop`` is set (forever without one)."""
    stop = stop or threading.Event()
    kept_house = 0.0
    while not stop.is_set():
        try:
            decided = run_once(app)
            if time.monotonic() - kept_house >= HOUSEKEEPING:
                with unit_of_work(app):
                    housekeeping.keep_house(utcnow())
                kept_house = time.monotonic()
        except Exception:  # a failed pass is retried; the process stays up
            log.exception("campaigns: a dispatcher pass failed")
            decided = 0
        if decided >= dispatcher.BATCH:
            continue  # more are due right now
        stop.wait(idle)
