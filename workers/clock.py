"""``python -m workers.clock``: enqueues periodic jobs (RQ's cron scheduler). Run exactly one.

The jobs themselves run on the ``worker`` processes; this process only decides when.
"""

from __future__ import annotations

from rq.cron import CronScheduler

from app import create_app
from app.extensions import redis_store
from app.jobs import Queues

# (function path, queue, cron expression in UTC)
SCHEDULE = (
    ("app.blueprints.crm.records.maintenance.purge_expired_trash", Queues.DEFAULT, "17 3 * * *"),
    ("app.blueprints.auth.maintenance.purge_ended_sessions", Queues.DEFAULT, "47 3 * * *"),
    # Events whose commit never enqueued their subscribers' jobs (the process died in between).
    ("app.event_outbox.sweep_outbox", Queues.DEFAULT, "* * * * *"),
    ("app.event_outbox.purge_handled_events", Queues.DEFAULT, "37 4 * * *"),
    # Sent files' bytes no message names any more (their messages were deleted).
    ("app.blueprints.messaging.blobs.purge_unused_blobs", Queues.DEFAULT, "57 4 * * *"),
    # Mail whose delivery job was lost (queued, never tried; or an attempt that died mid-way).
    ("app.integrations.mail.delivery.sweep_mail", Queues.EMAIL, "* * * * *"),
    # QR sign-ins nobody finished (accounts.service.QR_LOGIN_EXPIRY: 15 minutes after their last step).
    ("app.blueprints.accounts.maintenance.purge_abandoned_qr_logins", Queues.DEFAULT, "*/5 * * * *"),
)


def build_scheduler() -> CronScheduler:
    from importlib import import_module

    scheduler = CronScheduler(connection=redis_store.client, name="relay-clock")
    for path, queue_name, cron in SCHEDULE:
        module, _, name = path.rpartition(".")
        scheduler.register(getattr(import_module(module), name), queue_name, cron=cron)
    return scheduler


def main() -> None:
    app = create_app()
    with app.app_context():
        build_scheduler().start()


if __name__ == "__main__":
    main()
