"""Large bulk actions run in the background, in chunks, with their progress in Redis.

A job gets ids (never objects) and is enqueued after the request commits. Each chunk calls the
same ``bulk.service.bulk`` the page uses and commits on its own, so a failure halfway keeps what is
done and says where it stopped. Progress lives under an org-scoped key for a day.

Progress is kept as figures (the action, its counts, the value's name) and worded when it is read,
in the reader's language; only a refusal's message is kept as text, written in the language of the
member who asked (the job runs under it).
"""

from __future__ import annotations

import secrets
from typing import Any

from flask_babel import force_locale, get_locale
from flask_babel import gettext as _

from app.blueprints.crm.bulk import service as bulk_service
from app.blueprints.crm.records.page_context import count_of, number
from app.blueprints.team.public import Membership
from app.errors import DomainError
from app.extensions import db, redis_store
from app.jobs import Queues, enqueue_after_commit

BACKGROUND_AT = 500  # more rows than this go to a job
CHUNK = 500
KEEP_SECONDS = 24 * 3600


def summary(entity: str, action: str, count: int, value_label: str | None = None) -> str:
    """What a bulk action did, in the current language: "Moved 3 deals to Won."."""
    n = count_of(entity, count)
    if action == "delete":
        return _("Moved %(count)s to the trash.", count=n)
    if action == "restore":
        return _("Restored %(count)s.", count=n)
    if action == "assign":
        return _("Assigned %(count)s to %(owner)s.", count=n, owner=value_label) if value_label else \
            _("Assigned %(count)s to nobody.", count=n)
    if action == "add_tag":
        return _("Tagged %(count)s with %(tag)s.", count=n, tag=value_label)
    if action == "remove_tag":
        return _("Removed tag %(tag)s from %(count)s.", count=n, tag=value_label)
    if action == "move_stage":
        return _("Moved %(count)s to %(stage)s.", count=n, stage=value_label)
    return _("Updated %(count)s.", count=n)


def progress_key(org_id: int, job_id: str) -> str:
    return f"crm:bulk:{org_id}:{job_id}"


def start(actor: Membership, entity: str, action: str, ids: list[int], value: Any,
          value_label: str | None) -> str:
    """Record a queued bulk job and enqueue it once the request commits; returns its id.

    Raises DomainError for an unknown action and Forbidden when the actor may not do it to every
    record: refused now, not halfway through the job.
    """
    if action not in bulk_service.BULK_ACTIONS:
        raise DomainError(_("Unknown bulk action: %(action)s.", action=action))
    bulk_service.check_bulk(actor, entity, action, ids)
    job_id = secrets.token_hex(8)
    key = progress_key(actor.org_id, job_id)
    redis_store.client.hset(key, mapping={"total": len(ids), "done": 0, "status": "queued", "entity": entity,
                                          "action": action, "label": value_label or ""})
    redis_store.client.expire(key, KEEP_SECONDS)
    language = str(get_locale() or "en")  # the asker's: a refusal is written in it
    enqueue_after_commit(Queues.DEFAULT, run_bulk, actor.id, entity, action, ids, value, value_label,
                         job_id, language, job_id=f"crm-bulk-{job_id}")
    return job_id


def progress(org_id: int, job_id: str) -> dict[str, Any] | None:
    raw = redis_store.client.hgetall(progress_key(org_id, job_id))
    if not raw:
        return None
    data = {k.decode(): v.decode() for k, v in raw.items()}
    data["total"], data["done"] = int(data["total"]), int(data["done"])
    data["id"] = job_id
    if "action" in data and data["status"] != "failed":  # else the refusal's text, or a job queued before
        data["message"] = _message(data)
    return data


def _message(data: dict[str, Any]) -> str:
    """The progress of ``data`` in words, in the current language."""
    if data["status"] == "queued":
        return _("Waiting for a worker…")
    if data["status"] == "running":
        return _("%(done)s of %(total)s done…", done=number(data["done"]), total=number(data["total"]))
    return summary(data["entity"], data["action"], int(data.get("changed") or 0), data.get("label") or None)


def run_bulk(membership_id: int, entity: str, action: str, ids: list[int], value: Any,
             value_label: str | None, job_id: str, language: str = "en") -> int:
    """The job: apply ``action`` chunk by chunk as the member who asked, in their ``language``
    (a refusal's message is kept as they read it); returns rows changed."""
    with force_locale(language):
        return _run_bulk(membership_id, entity, action, ids, value, value_label, job_id)


def _run_bulk(membership_id: int, entity: str, action: str, ids: list[int], value: Any,
              value_label: str | None, job_id: str) -> int:
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
        client.hset(key, mapping={"status": "running", "done": start_at + len(chunk), "changed": changed})
    client.hset(key, mapping={"status": "done", "done": len(ids), "changed": changed})
    return changed
