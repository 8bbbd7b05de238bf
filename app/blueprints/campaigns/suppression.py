"""The organization's do-not-contact list, and the checks every first message passes.

An entry is one Telegram identity (a user id, a username, a phone number) or a CRM contact: a
contact is suppressed when any identity they have is listed, when they are listed themselves, or
when their record says do not contact. Entries are canonical (lower-case usernames without @,
E.164 phones) and unique per organization, so adding one twice is a no-op.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, func, or_, select, tuple_
from sqlalchemy.exc import IntegrityError

from app import canonical
from app.blueprints.campaigns.models import Suppression, SuppressionKind
from app.blueprints.crm.public import Contact, Entity, update_record
from app.blueprints.team.public import Membership, Permission, phone_region, require
from app.db_types import utcnow
from app.errors import DomainError, NotFound
from app.extensions import db


@dataclass(frozen=True)
class Identity:
    kind: str
    value: str


def identities(contact: Contact) -> list[Identity]:
    """What identifies the contact on the list."""
    found = [Identity(SuppressionKind.CONTACT, str(contact.id))]
    if contact.telegram_user_id:
        found.append(Identity(SuppressionKind.USER_ID, str(contact.telegram_user_id)))
    if contact.telegram_username:
        found.append(Identity(SuppressionKind.USERNAME, contact.telegram_username.lower()))
    if contact.phone:
        found.append(Identity(SuppressionKind.PHONE, contact.phone))
    return found


def parse_identity(kind: str, raw: str, region: str | None = None) -> Identity:
    """A typed identity in canonical form (a phone without its country code read in ``region``,
    as the organization's contacts' phones are); DomainError naming ``value`` when it is not one."""
    try:
        if kind == SuppressionKind.USERNAME:
            return Identity(kind, canonical.telegram_username(raw))
        if kind == SuppressionKind.PHONE:
            return Identity(kind, canonical.phone(raw, region))
        if kind == SuppressionKind.USER_ID:
            return Identity(kind, str(canonical.telegram_user_id(raw)))
    except ValueError as err:
        raise DomainError(str(err), {"value": str(err)}) from None
    message = _("Choose a username, a phone number or a Telegram user id.")
    raise DomainError(message, {"kind": message})


def suppressed_contacts(org_id: int, contacts: Iterable[Contact]) -> set[int]:
    """The ids of ``contacts`` the organization may not write to first: one query per kind of
    identity and 500 values, each an index range of (org_id, kind, value)."""
    listed: set[int] = set()
    by_identity: dict[tuple[str, str], list[int]] = {}
    for contact in contacts:
        if contact.do_not_contact:
            listed.add(contact.id)
        for identity in identities(contact):
            by_identity.setdefault((identity.kind, identity.value), []).append(contact.id)
    by_kind: dict[str, list[str]] = {}
    for kind, value in by_identity:
        by_kind.setdefault(kind, []).append(value)
    for kind, values in by_kind.items():
        for start in range(0, len(values), 500):
            for value in db.session.scalars(select(Suppression.value).where(
                    Suppression.org_id == org_id, Suppression.kind == kind,
                    Suppression.value.in_(values[start:start + 500]))):
                listed.update(by_identity.get((kind, value), ()))
    return listed


def is_suppressed(org_id: int, contact: Contact) -> bool:
    return bool(suppressed_contacts(org_id, [contact]))


def _listed(org_id: int, identity: Identity) -> Suppression | None:
    return db.session.scalar(
        select(Suppression).where(
            Suppression.org_id == org_id,
            Suppression.kind == identity.kind,
            Suppression.value == identity.value,
        )
    )


def _add(
    org_id: int,
    identity: Identity,
    *,
    reason: str,
    contact_id: int | None,
    by: int | None,
    note: str | None = None,
) -> Suppression:
    found = _listed(org_id, identity)
    if found is not None:
        return found
    entry = Suppression(
        org_id=org_id,
        kind=identity.kind,
        value=identity.value,
        contact_id=contact_id,
        reason=reason,
        note=note,
        created_by_id=by,
        created_at=utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(entry)
    except IntegrityError:  # a concurrent add of the same identity: theirs stands
        return _listed(org_id, identity)
    return entry


def suppress_contact(
    org_id: int, contact: Contact, *, reason: str, by: int | None = None, note: str | None = None
) -> list[Suppression]:
    """Put every identity of the contact on the list (an opt-out, a teammate's "do not contact")."""
    return [
        _add(org_id, identity, reason=reason, contact_id=contact.id, by=by, note=note)
        for identity in identities(contact)
    ]


def add_identity(
    actor: Membership, kind: str, raw: str, *, reason: str = "manual", note: str | None = None
) -> Suppression:
    require(actor, Permission.CAMPAIGNS_MANAGE)
    return _add(
        actor.org_id,
        parse_identity(kind, raw, phone_region(actor.org_id)),
        reason=reason,
        contact_id=None,
        by=actor.user_id,
        note=note,
    )


def add_contact(actor: Membership, contact_id: int, *, note: str | None = None) -> list[Suppression]:
    """A member puts a contact on the list (from the contact's page or a chat)."""
    contact = db.session.scalar(
        select(Contact).where(
            Contact.org_id == actor.org_id, Contact.id == contact_id, Contact.deleted_at.is_(None)
        )
    )
    if contact is None:
        raise NotFound(_("Contact not found."))
    return suppress_contact(actor.org_id, contact, reason="manual", by=actor.user_id, note=note)


def remove(actor: Membership, suppression_id: int) -> None:
    require(actor, Permission.CAMPAIGNS_MANAGE)
    entry = db.session.scalar(
        select(Suppression).where(Suppression.org_id == actor.org_id, Suppression.id == suppression_id)
    )
    if entry is None:
        raise NotFound(_("No such entry on the do-not-contact list."))
    db.session.delete(entry)
    db.session.flush()


def remove_contact(actor: Membership, contact: Contact) -> int:
    """Take every identity of the contact off the list, and clear the record's "Do not contact"
    field (which lists them too; changed as an edit of the record, on its timeline); how many
    entries went."""
    require(actor, Permission.CAMPAIGNS_MANAGE)
    if contact.do_not_contact:
        update_record(actor, Entity.CONTACT, contact.id, {"do_not_contact": False})
    keys = [(i.kind, i.value) for i in identities(contact)]
    return (
        db.session.execute(
            delete(Suppression).where(
                Suppression.org_id == actor.org_id,
                or_(
                    Suppression.contact_id == contact.id,
                    tuple_(Suppression.kind, Suppression.value).in_(keys),
                ),
            )
        ).rowcount
        or 0
    )


def entries(org_id: int, *, limit: int = 100, offset: int = 0) -> tuple[list[Suppression], int]:
    base = select(Suppression).where(Suppression.org_id == org_id)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = list(
        db.session.scalars(
            base.order_by(Suppression.created_at.desc(), Suppression.id.desc()).limit(limit).offset(offset)
        )
    )
    return rows, total
