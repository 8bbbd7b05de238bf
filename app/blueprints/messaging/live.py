"""Live inbox: what open pages receive when a message or a chat changes.

The telegram process (inbound messages, sent / failed, edits, deletions, read marks) and the web
(queued messages, reads, assignment) ring ``inbox.message`` {chat_id, message_id, new} and
``inbox.chat`` {chat_id}. Each viewer who may see the chat gets the changed message (appended to
the open thread when new, redrawn in place otherwise), the chat's row (moved to the top of the
list for a new message) and their unread figures; a viewer who may not see the chat gets nothing,
except an agent the chat was just taken from, whose pages drop it.
"""

from __future__ import annotations

from jinja2_fragments.flask import render_block

from app.blueprints.messaging import service
from app.blueprints.messaging.models import Chat, Message
from app.blueprints.team.permissions import Permission, can
from app.blueprints.team.service import people
from app.extensions import db
from app.realtime import Connection, renderer

FRAGMENTS = "inbox/_fragments.html"


def _render(block: str, **context) -> str:
    return render_block(FRAGMENTS, block, **context)  # the hub renders inside a request context


def _org_chat(event: dict) -> Chat | None:
    chat = db.session.get(Chat, int(event["chat_id"]))
    return chat if chat is not None and chat.org_id == event["org_id"] else None


def _visible_chat(event: dict, viewer: Connection) -> Chat | None:
    chat = _org_chat(event)
    return chat if chat is not None and service.can_see_chat(viewer, chat) else None


def _common(event: dict, chat: Chat, viewer: Connection) -> dict:
    """The context of a viewer's fragment. What every viewer shares is read once per event (the
    hub hands each viewer the same event dict); only the unread figures are the viewer's own."""
    shared = event.get("_shared")
    if shared is None:
        shared = event["_shared"] = {"row": service.chat_row(chat),
                                     "names": {u.id: u.name for u in people(chat.org_id)}}
    unread_chats, unread_messages = service.unread_totals(viewer)
    return {"chat": chat, "row": shared["row"], "flt": service.InboxFilter(), "names": shared["names"],
            "unread_chats": unread_chats, "unread_messages": unread_messages}


@renderer(service.MESSAGE_EVENT)
def message_changed(event: dict, viewer: Connection) -> str | None:
    chat = _visible_chat(event, viewer)
    if chat is None:
        return None
    context = _common(event, chat, viewer)
    if "message" not in event["_shared"]:
        message = db.session.get(Message, int(event.get("message_id") or 0))
        event["_shared"]["message"] = message if message is not None and message.chat_id == chat.id else None
    return _render("live_message", m=event["_shared"]["message"], new=bool(event.get("new")), **context)


@renderer(service.CHAT_EVENT)
def chat_changed(event: dict, viewer: Connection) -> str | None:
    chat = _org_chat(event)
    if chat is None:
        return None
    if not service.can_see_chat(viewer, chat):
        if event.get("unassigned") != viewer.user_id:
            return None
        unread_chats, unread_messages = service.unread_totals(viewer)
        return _render("live_chat_gone", chat_id=chat.id, unread_chats=unread_chats,
                       unread_messages=unread_messages)
    return _render("live_chat", can_assign=can(viewer.role, Permission.CHATS_ASSIGN),
                   new=bool(event.get("new")), **_common(event, chat, viewer))
