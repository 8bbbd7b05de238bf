"""``python -m workers.worker [queue ...]``: an RQ worker with the scheduler, inside the app.

Each job runs in a forked child of a process that already built the app, so jobs share the
configuration, the database engine settings and logging (with the job id on every line).
"""

from __future__ import annotations

import logging
import sys

from rq import Worker

from app import create_app
from app.extensions import redis_store
from app.jobs import Queues

log = logging.getLogger("workers.worker")


def main(argv: list[str]) -> None:
    app = create_app()
    names = argv or list(Queues.ALL)
    unknown = set(names) - set(Queues.ALL)
    if unknown:
        raise SystemExit(f"unknown queue(s): {', '.join(sorted(unknown))}")
    with app.app_context():
        worker = Worker(names, connection=redis_store.client)
        log.info("worker listening on %s", ", ".join(names))
        worker.work(with_scheduler=True)


if __name__ == "__main__":
    main(sys.argv[1:])
