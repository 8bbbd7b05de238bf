"""Bulk actions on records: trash, restore, assign, tag, move stage, on many ids at once.

One statement per chunk of ids, one timeline entry and one event per record; the same permission
rule as the single-record action, checked for every record first (``check_bulk``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select

from app.blueprints.crm.deal_stages import keeper as stage_keeper
from app.blueprints.crm.events import DealUpdated
from app.blueprints.crm.models import Entity
from app.blueprints.crm.records.fields import OWNER, number
from app.blueprints.crm.records.service import (
    emit_many,
    live_ids,
    log_many,
    model_for,
    not_editable_by,
    resolve_owner,
    restore_records,
    tags_from,
    trash_records,
    update_in_chunks,
)
from app.blueprints.team.public import Membership, Permission, can, require
from app.db_types import utcnow
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db

BULK_ACTIONS = ("delete", "restore", "assign", "add_tag", "remove_tag", "move_stage")


def bulk(actor: Membership, entity: str, action: str, ids: Iterable[int], value: Any = None) -> int:
    """Apply ``action`` to records ``ids`` of the actor's org; returns how many changed.

    Raises DomainError for an unknown action or value, Forbidden when the role may not.
    """
    ids = list(ids)
    check_bulk(actor, entity, action, ids)
    if action == "delete":
        return trash_records(actor, entity, ids)
    if action == "restore":
        return restore_records(actor, entity, ids)
    if action not in BULK_ACTIONS:
        raise DomainError(_("Unknown bulk action: %(action)s.", action=action))
    model = model_for(entity)
    live = live_ids(actor.org_id, entity, ids, trashed=False)
    if action == "assign":
        try:
            owner_id = resolve_owner(actor.org_id, value)
        except ValueError as err:
            message = _("%(field)s: %(error)s.", field=OWNER, error=err)
            raise DomainError(message, {"value": str(err)}) from None
        if entity == Entity.DEAL:  # before the update, so each event carries the previous owner
            emit_many(actor, live, DealUpdated, changes=lambda was: {"owner": [was, owner_id]})
        update_in_chunks(model, live, owner_id=owner_id, updated_at=utcnow())
        log_many(actor, entity, live, "updated", changes={"owner": [None, owner_id]})
    elif action in ("add_tag", "remove_tag"):
        live = _bulk_tag(actor, entity, live, value, add=action == "add_tag")
        if entity == Entity.DEAL:
            sign = "+" if action == "add_tag" else "-"  # the timeline's own notation for tag changes
            emit_many(actor, live, DealUpdated, changes={"tags": [sign, str(value).strip()]})
    elif action == "move_stage":
        live = _bulk_move(actor, entity, live, value)
    db.session.flush()
    db.session.expire_all()
    return len(live)


def check_bulk(actor: Membership, entity: str, action: str, ids: Iterable[int]) -> None:
    """Raises Forbidden unless ``actor`` may apply ``action`` to every record of ``ids``: the rule
    of the single-record action, for each record (trash and restore need RECORDS_DELETE, a new owner
    RECORDS_EDIT_ALL, tags and stage moves the right to edit each record)."""
    if action in ("delete", "restore"):
        require(actor, Permission.RECORDS_DELETE)
    elif action == "assign":
        require(actor, Permission.RECORDS_EDIT_ALL)
    elif not can(actor.role, Permission.RECORDS_EDIT_ALL):
        model, ids = model_for(entity), list({int(i) for i in ids})
        others = sum(db.session.scalar(select(func.count()).select_from(model).where(
            model.org_id == actor.org_id, model.id.in_(ids[start:start + 500]), model.deleted_at.is_(None),
            not_editable_by(actor, model))) or 0
            for start in range(0, len(ids), 500))
        if others:
            raise Forbidden(_("You can edit only the records you own, and %(others)s of the %(selected)s "
                              "selected belong to someone else. Narrow the selection, or ask a manager.",
                              others=number(others), selected=number(len(ids))))


def _bulk_move(actor: Membership, entity: str, ids: list[int], value: Any) -> list[int]:
    """Move the deals the stage rules let in (the pipeline decides); a deal a rule refuses stays."""
    if entity != Entity.DEAL:
        raise DomainError(_("Only deals have stages."))
    return stage_keeper().bulk_move(actor, ids, value)


def _bulk_tag(actor: Membership, entity: str, ids: list[int], value: Any, add: bool) -> list[int]:
    from app.blueprints.crm.models import company_tag, contact_tag, deal_tag

    table = {Entity.CONTACT: contact_tag, Entity.COMPANY: company_tag, Entity.DEAL: deal_tag}[Entity(entity)]
    column = table.c[f"{entity}_id"]
    tags = tags_from(actor.org_id, value)
    if len(tags) != 1:
        raise DomainError(_("Name one tag."), {"value": _("Enter a tag name.")})
    tag = tags[0]
    changed: list[int] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        tagged = set(db.session.scalars(select(column).where(column.in_(chunk), table.c.tag_id == tag.id)))
        if add:
            todo = [i for i in chunk if i not in tagged]
            if todo:
                db.session.execute(insert(table), [{f"{entity}_id": i, "tag_id": tag.id} for i in todo])
        else:
            todo = [i for i in chunk if i in tagged]
            if todo:
                db.session.execute(delete(table).where(column.in_(todo), table.c.tag_id == tag.id))
        changed.extend(todo)
    log_many(actor, entity, changed, "updated", changes={"tags": ["+" if add else "-", tag.name]})
    return changed




# -- assignment by ids, all or nothing (the clients API) -------------------------------------------

def check_assign(actor: Membership, entity: str, ids: Iterable[int]) -> list[int]:
    """``ids`` once each, if ``actor`` may give every one of them a new owner: the rule of a single
    reassignment (RECORDS_EDIT_ALL), and every id a live record of the actor's organization.
    Raises Forbidden, or NotFound naming the ids that are not (field ``<entity>_ids``)."""
    require(actor, Permission.RECORDS_EDIT_ALL)
    wanted = list(dict.fromkeys(int(i) for i in ids))
    found = set(live_ids(actor.org_id, entity, wanted, trashed=False))
    missing = [i for i in wanted if i not in found]
    if missing:
        named = ", ".join(str(i) for i in missing[:20]) + ("…" if len(missing) > 20 else "")
        message = {Entity.CONTACT: _("No such contact in your organization: %(ids)s.", ids=named),
                   Entity.COMPANY: _("No such company in your organization: %(ids)s.", ids=named),
                   Entity.DEAL: _("No such deal in your organization: %(ids)s.", ids=named)}[Entity(entity)]
        raise NotFound(message, {f"{entity}_ids": message})
    return wanted


def assign_owner(actor: Membership, entity: str, ids: Iterable[int], user_id: int) -> int:
    """Make member ``user_id`` the owner of records ``ids``, all or none (``check_assign`` first,
    nothing written when it refuses); returns how many changed hands. Each changed record gets its
    timeline entry (the previous owner to the new) and, for deals, its ``DealUpdated``.
    Raises Forbidden, NotFound, DomainError (``user_id`` is not a member)."""
    wanted = check_assign(actor, entity, ids)
    try:
        owner_id = resolve_owner(actor.org_id, user_id)
    except ValueError as err:
        raise DomainError(_("%(field)s: %(error)s.", field=OWNER, error=err), {"user_id": str(err)}) from None
    model = model_for(entity)
    previous: dict[int | None, list[int]] = {}
    for start in range(0, len(wanted), 500):
        for record_id, was in db.session.execute(select(model.id, model.owner_id).where(
                model.id.in_(wanted[start:start + 500]), model.owner_id.is_distinct_from(owner_id))):
            previous.setdefault(was, []).append(record_id)
    changed = [i for group in previous.values() for i in group]
    if entity == Entity.DEAL:  # before the update, so each event carries the previous owner
        emit_many(actor, changed, DealUpdated, changes=lambda was: {"owner": [was, owner_id]})
    update_in_chunks(model, changed, owner_id=owner_id, updated_at=utcnow())
    for was, group in previous.items():
        log_many(actor, entity, group, "updated", changes={"owner": [was, owner_id]})
    db.session.flush()
    db.session.expire_all()
    return len(changed)
