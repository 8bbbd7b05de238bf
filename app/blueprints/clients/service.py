"""Operations on a member's clients. Flask-free: explicit actor, flush, never commit.

``assign_clients`` hands contacts, deals and chats to one member in one transaction: every id is
checked (it exists in the actor's organization, and the actor may reassign it, by the rule of the
single operation) before anything is written, so a request naming one wrong id changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from app.blueprints.crm import public as crm
from app.blueprints.messaging import public as messaging
from app.blueprints.team.public import Membership
from app.errors import DomainError
from app.extensions import db

MAX_IDS = 1000  # of each kind in one request


@dataclass(frozen=True)
class Assigned:
    """How many of each kind changed hands (those the member had already are not counted)."""

    contacts: int
    deals: int
    chats: int


def assign_clients(actor: Membership, user_id: int, contact_ids: Sequence[int] = (),
                   deal_ids: Sequence[int] = (), chat_ids: Sequence[int] = ()) -> Assigned:
    """Make member ``user_id`` the owner of the contacts and deals and the assignee of the chats,
    all or none. Raises DomainError (nothing named, too many, ``user_id`` not a member), Forbidden
    (RECORDS_EDIT_ALL for records, CHATS_ASSIGN for chats), NotFound naming the ids that are not
    live records or chats the actor may see in their organization."""
    if not (contact_ids or deal_ids or chat_ids):
        message = _("Name contacts, deals or chats to assign.")
        raise DomainError(message, {"contact_ids": message, "deal_ids": message, "chat_ids": message})
    for field, ids in (("contact_ids", contact_ids), ("deal_ids", deal_ids), ("chat_ids", chat_ids)):
        if len(ids) > MAX_IDS:
            raise DomainError(_("Assign at most %(most)s of each at once.", most=MAX_IDS),
                              {field: _("At most %(most)s ids.", most=MAX_IDS)})
    if db.session.scalar(select(Membership.user_id).where(Membership.org_id == actor.org_id,
                                                          Membership.user_id == user_id)) is None:
        message = _("Assign to a member of this organization.")
        raise DomainError(message, {"user_id": _("Not a member of this organization.")})
    # Every check first: a refusal below leaves everything as it was.
    if contact_ids:
        crm.check_assign(actor, crm.Entity.CONTACT, contact_ids)
    if deal_ids:
        crm.check_assign(actor, crm.Entity.DEAL, deal_ids)
    if chat_ids:
        messaging.check_assign_chats(actor, chat_ids)
    return Assigned(
        contacts=crm.assign_owner(actor, crm.Entity.CONTACT, contact_ids, user_id) if contact_ids else 0,
        deals=crm.assign_owner(actor, crm.Entity.DEAL, deal_ids, user_id) if deal_ids else 0,
        chats=messaging.assign_chats(actor, chat_ids, user_id) if chat_ids else 0,
    )
