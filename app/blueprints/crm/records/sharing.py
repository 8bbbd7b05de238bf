"""Sharing a contact with teammates. Flask-free: explicit actor, flush, never commit.

A member a contact is shared with edits it and its deals as its owner could and sees its chats
(``service.shared_contact_ids`` is the rule every check reads). Who may share is the permission
matrix's: ``RECORDS_SHARE`` the contacts the member owns, ``RECORDS_SHARE_ANY`` any contact.
Anyone may stop a contact being shared with themselves. Every change is audited, written on the
contact's timeline and raised (``ContactShared``, ``ContactUnshared``: the inbox follows).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, func, insert, select

from app import audit
from app.blueprints.auth.public import User
from app.blueprints.crm.events import ContactShared, ContactsMerged, ContactUnshared
from app.blueprints.crm.models import Contact, ContactShare, Entity
from app.blueprints.crm.records.service import get_record, record_activity
from app.blueprints.team.public import Membership, Permission, can, people, require
from app.canonical import ID_MAX
from app.db_types import utcnow
from app.errors import DomainError, NotFound
from app.events import emit, subscribe
from app.extensions import db

MAX_SHARE = 100  # teammates named in one request


def may_share(actor: Membership, contact: Contact) -> bool:
    """Whether ``actor`` may share ``contact`` and stop sharing it (the matrix decides)."""
    return can(actor.role, Permission.RECORDS_SHARE_ANY) or (
        contact.owner_id == actor.user_id and can(actor.role, Permission.RECORDS_SHARE))


def check_share(actor: Membership, contact: Contact) -> None:
    """Raises Forbidden unless ``actor`` may share ``contact``: their own with RECORDS_SHARE, any
    contact with RECORDS_SHARE_ANY."""
    if can(actor.role, Permission.RECORDS_SHARE_ANY):
        return
    require(actor, Permission.RECORDS_SHARE)
    if contact.owner_id != actor.user_id:
        require(actor, Permission.RECORDS_SHARE_ANY)


def shares(org_id: int, contact_id: int) -> list[ContactShare]:
    """Who the contact is shared with (and who shared it), the earliest first."""
    return list(db.session.scalars(select(ContactShare).where(
        ContactShare.org_id == org_id, ContactShare.contact_id == contact_id)
        .order_by(ContactShare.created_at, ContactShare.id)))


def candidates(contact: Contact, shared: Iterable[ContactShare]) -> list[User]:
    """The members the contact may still be shared with: not its owner, not shared already."""
    taken = {s.user_id for s in shared} | {contact.owner_id}
    return [u for u in people(contact.org_id) if u.id not in taken]


def _member_ids(org_id: int, user_ids: Iterable[Any]) -> list[int]:
    """``user_ids`` as members' ids, in order, once each. Raises DomainError naming any that is
    not a member of the organization (or not an id)."""
    wanted: list[int] = []
    for value in user_ids:
        text = str(value).strip()
        number = int(text) if text.isascii() and text.isdigit() else None
        if number is None or not 1 <= number <= ID_MAX:
            raise DomainError(_("Choose teammates from the list."), {"user_ids": _("Not a member.")})
        if number not in wanted:
            wanted.append(number)
    found = set(db.session.scalars(select(Membership.user_id).where(
        Membership.org_id == org_id, Membership.user_id.in_(wanted)))) if wanted else set()
    missing = [i for i in wanted if i not in found]
    if missing:
        raise DomainError(_("Not members of this organization: %(ids)s.", ids=", ".join(map(str, missing))),
                          {"user_ids": _("Choose teammates from the list.")})
    return wanted


def share_contact(actor: Membership, contact_id: int, user_ids: Iterable[Any],
                  ip: str | None = None) -> list[int]:
    """Share the contact with members ``user_ids``; returns those it is newly shared with (its
    owner and those it is shared with already are left as they are). Raises NotFound, Forbidden,
    DomainError (nobody chosen, someone outside the organization)."""
    contact = get_record(actor.org_id, Entity.CONTACT, contact_id)
    check_share(actor, contact)
    user_ids = list(user_ids)
    if not user_ids:
        raise DomainError(_("Choose at least one teammate to share the contact with."),
                          {"user_ids": _("Choose at least one teammate.")})
    if len(user_ids) > MAX_SHARE:
        raise DomainError(_("Share with at most %(most)s teammates at once.", most=MAX_SHARE),
                          {"user_ids": _("Too many teammates.")})
    wanted = _member_ids(actor.org_id, user_ids)
    already = set(db.session.scalars(select(ContactShare.user_id).where(
        ContactShare.contact_id == contact.id, ContactShare.user_id.in_(wanted))))
    new = [i for i in wanted if i not in already and i != contact.owner_id]
    if not new:
        return []
    now = utcnow()
    db.session.execute(insert(ContactShare), [
        {"org_id": actor.org_id, "contact_id": contact.id, "user_id": i, "shared_by_id": actor.user_id,
         "created_at": now} for i in new])
    record_activity(actor, Entity.CONTACT, contact, "shared", user_ids=new)
    for user_id in new:
        audit.record("contact.shared", org_id=actor.org_id, actor_id=actor.user_id, target=contact, ip=ip,
                     user_id=user_id)
    db.session.flush()
    emit(ContactShared(org_id=actor.org_id, actor_id=actor.user_id, contact_id=contact.id,
                       user_ids=tuple(new)))
    return new


def unshare_contact(actor: Membership, contact_id: int, user_id: int, ip: str | None = None) -> bool:
    """Stop sharing the contact with member ``user_id``; returns whether it was shared with them.
    Anyone may take themselves off; taking another off needs the right to share the contact.
    Raises NotFound, Forbidden."""
    contact = get_record(actor.org_id, Entity.CONTACT, contact_id)
    if user_id != actor.user_id:
        check_share(actor, contact)
    gone = db.session.execute(delete(ContactShare).where(
        ContactShare.org_id == actor.org_id, ContactShare.contact_id == contact.id,
        ContactShare.user_id == user_id).execution_options(synchronize_session=False)).rowcount
    if not gone:
        return False
    record_activity(actor, Entity.CONTACT, contact, "unshared", user_ids=[user_id])
    audit.record("contact.unshared", org_id=actor.org_id, actor_id=actor.user_id, target=contact, ip=ip,
                 user_id=user_id)
    db.session.flush()
    emit(ContactUnshared(org_id=actor.org_id, actor_id=actor.user_id, contact_id=contact.id,
                         user_ids=(user_id,)))
    return True


def panel(viewer: Membership, contact: Contact, error: str | None = None,
          chosen: Iterable[str] = ()) -> dict[str, Any]:
    """What the contact page's "Shared with" card shows ``viewer``; ``error`` and ``chosen`` (the
    ticked ids as sent) redraw a refused form."""
    found = shares(contact.org_id, contact.id)
    allowed = may_share(viewer, contact)
    return {"shares": found, "can_share": allowed, "error": error, "chosen": set(chosen),
            "candidates": candidates(contact, found) if allowed else []}


@dataclass(frozen=True)
class SharedContact:
    contact: Contact
    shared_by: User | None
    shared_at: Any


def shared_with(viewer: Membership, user_id: int, page: int = 1, per_page: int = 50
                ) -> tuple[list[SharedContact], int]:
    """One page of the live contacts shared with member ``user_id`` (the latest shared first) and
    how many there are. Another member's needs RECORDS_SHARE_ANY (Forbidden); someone outside the
    organization is NotFound."""
    if user_id != viewer.user_id:
        require(viewer, Permission.RECORDS_SHARE_ANY)
        if db.session.scalar(select(Membership.user_id).where(
                Membership.org_id == viewer.org_id, Membership.user_id == user_id)) is None:
            raise NotFound(_("Member not found."), {"user_id": _("Not a member of this organization.")})
    stmt = select(ContactShare, Contact).join(Contact, Contact.id == ContactShare.contact_id).where(
        ContactShare.org_id == viewer.org_id, ContactShare.user_id == user_id, Contact.deleted_at.is_(None))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.session.execute(stmt.order_by(ContactShare.created_at.desc(), ContactShare.id.desc())
                              .offset((page - 1) * per_page).limit(per_page)).unique()
    return [SharedContact(contact, share.shared_by, share.created_at) for share, contact in rows], total


def carry_shares(event: ContactsMerged) -> None:
    """Whom the merged contacts were shared with, the survivor is shared with (inside the merge)."""
    share = ContactShare
    moved = db.session.execute(select(share.user_id, share.shared_by_id, share.created_at).where(
        share.org_id == event.org_id, share.contact_id.in_(event.merged_ids)).order_by(share.id)).all()
    survivor = db.session.scalar(select(Contact.owner_id).where(Contact.id == event.contact_id))
    kept = set(db.session.scalars(select(share.user_id).where(share.contact_id == event.contact_id)))
    rows = {}
    for user_id, shared_by_id, created_at in moved:
        if user_id not in kept and user_id != survivor:
            rows.setdefault(user_id, {"org_id": event.org_id, "contact_id": event.contact_id,
                                      "user_id": user_id, "shared_by_id": shared_by_id,
                                      "created_at": created_at})
    if rows:
        db.session.execute(insert(ContactShare), list(rows.values()))


subscribe(ContactsMerged, carry_shares, in_transaction=True)
