"""The inbox's panel on a contact's page: their conversations, and their latest messages on the
contact's timeline (of the chats the viewer may see; the inbox has the rest, so a busy chat does
not push the notes and changes out)."""

from __future__ import annotations

from app.blueprints.crm.public import Entity, RecordPanel, register_panel
from app.blueprints.messaging import service

register_panel(Entity.CONTACT, RecordPanel(
    template="inbox/_contact_chats.html",
    load=lambda viewer, contact: {"chats": service.contact_chats(viewer, contact.id)},
    timeline=lambda context: service.contact_messages(context["chats"]),
))
