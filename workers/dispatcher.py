"""``python -m workers.dispatcher``: hands campaigns' due steps to the outbox (see
``app.blueprints.campaigns.runner``). On SQLite run exactly one; on PostgreSQL as many as the
sending needs (they share the work with SKIP LOCKED). SIGTERM or Ctrl-C stops it between passes."""

from __future__ import annotations

import signal
import threading

from app import create_app
from app.blueprints.campaigns.public import run_dispatcher


def main() -> None:
    app = create_app()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    run_dispatcher(app, stop)


if __name__ == "__main__":
    main()
