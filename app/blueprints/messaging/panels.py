"""The inbox's panels on CRM record pages.

A contact's page: their conversations (of the chats the viewer may see; the inbox has the rest),
"Message on Telegram" (the latest of them, or a form to start one from an account the viewer may
send from), and their latest messages on the contact's timeline, so a busy chat does not push the
notes and changes out.

A deal's page: the same panel for the deal's contact, headed with their name. It adds nothing to
the deal's timeline: that is the deal's own story (its notes, changes and stage moves), and the
conversation is one click away.
"""

from __future__ import annotations

from typing import Any

from app.blueprints.crm.public import Contact, Entity, RecordPanel, register_panel
from app.blueprints.messaging import service
from app.blueprints.team.public import Membership


def conversations(viewer: Membership, contact: Contact | None, deal: Any = None) -> dict[str, Any]:
    """What the panel shows of ``contact`` to ``viewer``: their visible chats (the latest first);
    when there is none and Telegram can be asked for them, the accounts to start one from, with
    their daily budgets of new chats."""
    context: dict[str, Any] = {"contact": contact, "deal": deal, "chats": [], "reachable": False,
                               "accounts": [], "budgets": {}}
    if contact is None:
        return context
    context["chats"] = service.contact_chats(viewer, contact.id)
    context["reachable"] = service.reachable(contact)
    if not context["chats"] and context["reachable"]:
        accounts = service.startable_accounts(viewer)
        context["accounts"] = accounts
        context["budgets"] = {a.id: service.new_chats_per_day(a) for a in accounts}
    return context


def _deal_contact(deal: Any) -> Contact | None:
    contact = deal.contact if deal.contact_id else None
    return contact if contact is not None and contact.deleted_at is None else None


register_panel(Entity.CONTACT, RecordPanel(
    template="inbox/_contact_chats.html",
    load=lambda viewer, contact: conversations(viewer, contact),
    timeline=lambda context: service.contact_messages(context["chats"]),
))

register_panel(Entity.DEAL, RecordPanel(
    template="inbox/_contact_chats.html",
    load=lambda viewer, deal: conversations(viewer, _deal_contact(deal), deal),
))
