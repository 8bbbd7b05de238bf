"""Large bulk actions run in the background, in chunks, with their progress in Redis.

A job gets ids (never objects) and is enqueued after the request commits. Each chunk calls the
same ``bulk.service.bulk`` the page uses and commits on its own, so a failure halfway keeps what is
done and says where it stopped. Progress lives under an org-scoped key for a day.
"""

from __future__ import annotations

import secrets
from typing import Any

from app.blueprints.crm.bulk import service as bulk_service
from app.blueprints.crm.records.page_context import count_of
from app.blueprints.team.public import Membership
from app.errors import DomainError
from app.extensions import db, redis_store
from app.jobs import Queues, enqueue_after_commit

BACKGROUND_AT = 500  # more rows than this go to a job
CHUNK = 500
KEEP_SECONDS = 24 * 3600
VERBS = {"delete": "Moved {n} to the trash", "restore": "Restored {n}", "assign": "Assigned {n} to {v}",
         "add_tag": "Tagged {n} with {v}", "remove_tag": "Removed tag {v} from {n}",
         "move_stage": "Moved {n} to {v}"}


def summary(entity: str, action: str, count: int, value_label: str | None = None) -> str:
    return VERBS.get(action, "Updated {n}").format(n=count_of(entity, count), v=value_label or "nobody") + "."


def progress_key(org_id: int, job_id: str) -> str:
    return f"crm:bulk:{org_id}:{job_id}"


def start(actor: Membership, entity: str, action: str, ids: list[int], value: Any,
          value_label: str | None) -> str:
    """Record a queued bulk job and enqueue it once the request commits; returns its id.

    Raises DomainError for an unknown action and Forbidden when the actor may not do it to every
    record: refused now, not halfway through the job.
    """
    if action not in bulk_service.BULK_ACTIONS:
        raise DomainError(f"Unknown bulk action: {action}.")
    bulk_service.check_bulk(actor, entity, action, ids)
    job_id = secrets.token_hex(8)
    key = progress_key(actor.org_id, job_id)
    redis_store.client.hset(key, mapping={"total": len(ids), "done": 0, "status": "queued",
                                          "message": "Waiting for a worker…"})
    redis_store.client.expire(key, KEEP_SECONDS)
    enqueue_after_commit(Queues.DEFAULT, run_bulk, actor.id, entity, action, ids, value, value_label,
                         job_id, job_id=f"crm-bulk-{job_id}")
    return job_id


def progress(org_id: int, job_id: str) -> dict[str, Any] | None:
    raw = redis_store.client.hgetall(progress_key(org_id, job_id))
    if not raw:
        return None
    data = {k.decode(): v.decode() for k, v in raw.items()}
    data["total"], data["done"] = int(data["total"]), int(data["done"])
    data["id"] = job_id
    return data


def run_bulk(membership_id: int, entity: str, action: str, ids: list[int], value: Any,
             value_label: str | None, job_id: str) -> int:
    """The job: apply ``action`` chunk by chunk as the member who asked; returns rows changed."""
    actor = db.session.get(Membership, membership_id)
    if actor is None:
        return 0
    key = progress_key(actor.org_id, job_id)
    client = redis_store.client
    changed = 0
    for start_at in range(0, len(ids), CHUNK):
        chunk = ids[start_at:start_at + CHUNK]
        try:
            changed += bulk_service.bulk(actor, entity, action, chunk, value)
            db.session.commit()
        except DomainError as err:
            db.session.rollback()
            client.hset(key, mapping={"status": "failed", "message": err.message})
            return changed
        client.hset(key, mapping={"status": "running", "done": start_at + len(chunk),
                                  "message": f"{start_at + len(chunk):,} of {len(ids):,} done…"})
    client.hset(key, mapping={"status": "done", "done": len(ids),
                              "message": summary(entity, action, changed, value_label)})
    return changed
