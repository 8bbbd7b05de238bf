"""Live inbox: what open pages receive when a message or a chat changes.

The inbox's events (``events.py``), raised by the telegram process (inbound messages, sent /
failed, edits, deletions, read marks, imports) and the web (queued messages, reads, assignment,
contacts and deals from chats), ring the organization's doorbell here, after the commit:
``MESSAGE`` {chat_id, message_id, new} for a message, ``CHAT`` {chat_id} for the chat (with
``new`` when the first import lists it, ``unassigned`` when it changed hands; ``shared`` and
``unshared``, the members whose sight of it its contact's sharing changed). One subscriber hears
a transaction's events together (``batch``: a sync storing hundreds of messages is one unit of work
after the commit, not hundreds) and rings in the order the changes happened, each distinct
doorbell once.

Each viewer who may see the chat gets the changed message (appended to the open thread when new,
redrawn in place otherwise), the chat's row (moved to the top of the list for a new message) and
their unread figures; a viewer who may not see the chat gets nothing, except an agent the chat was
just taken from, whose pages drop it.
"""

from __future__ import annotations

from typing import Any

from jinja2_fragments.flask import render_block
from sqlalchemy import select

from app.blueprints.crm.public import ContactShared, ContactUnshared
from app.blueprints.messaging import service
from app.blueprints.messaging.events import (
    ChatAssigned,
    ChatCreated,
    ChatEvent,
    ChatImported,
    MessageEvent,
    MessageQueued,
    MessageReceived,
    MessageSent,
)
from app.blueprints.messaging.models import Chat, Message
from app.blueprints.team.public import Permission, can, people
from app.events import subscribe
from app.extensions import db
from app.realtime import Connection, publish_now, renderer

MESSAGE = "inbox.message"
CHAT = "inbox.chat"
FRAGMENTS = "inbox/_fragments.html"


# -- the doorbells ----------------------------------------------------------------------------------

def doorbell(event: ChatEvent) -> tuple[str, dict[str, Any]] | None:
    """The realtime kind and data an event rings (None: it rings nothing of its own)."""
    if isinstance(event, MessageEvent):
        if isinstance(event, MessageReceived):
            new = True
        elif isinstance(event, MessageQueued):
            new = not event.retry
        elif isinstance(event, MessageSent):
            new = not event.via_app  # written elsewhere: new to the thread; ours: its row changed
        else:
            new = False
        return MESSAGE, {"chat_id": event.chat_id, "message_id": event.message_id, "new": new}
    if isinstance(event, ChatCreated):
        return None  # the message, import or update that came with it rings
    if isinstance(event, ChatImported):
        return CHAT, {"chat_id": event.chat_id, "new": True}
    if isinstance(event, ChatAssigned):
        # The previous assignee's open pages drop the chat if it was theirs only by assignment.
        return CHAT, {"chat_id": event.chat_id, "unassigned": event.from_user_id}
    return CHAT, {"chat_id": event.chat_id}  # read marks, a contact or deal, an unread correction


def ring(events: list[ChatEvent]) -> None:
    """After the commit: the doorbells of a transaction's events, in order; a doorbell rung already
    in this transaction (a reconcile moving both read marks of a chat) is not rung again."""
    rung: set[tuple[int, str, tuple]] = set()
    for event in events:
        found = doorbell(event)
        if found is None:
            continue
        kind, data = found
        key = (event.org_id, kind, tuple(sorted(data.items())))
        if key not in rung:
            rung.add(key)
            publish_now(event.org_id, kind, **data)


subscribe(ChatEvent, ring, batch=True)


def ring_shared(events: list[ContactShared | ContactUnshared]) -> None:
    """After the commit: a contact shared or no longer shared rings each of its chats, naming the
    members whose sight it changed (``shared``: their lists take the chat in; ``unshared``: their
    pages drop it unless they see it otherwise)."""
    for event in events:
        key = "shared" if isinstance(event, ContactShared) else "unshared"
        chat_ids = db.session.scalars(select(Chat.id).where(
            Chat.org_id == event.org_id, Chat.contact_id == event.contact_id).order_by(Chat.id))
        for chat_id in chat_ids:
            publish_now(event.org_id, CHAT, chat_id=chat_id, **{key: list(event.user_ids)})


subscribe((ContactShared, ContactUnshared), ring_shared, batch=True)


# -- the renderers ----------------------------------------------------------------------------------


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
            "unread_chats": unread_chats, "unread_messages": unread_messages,
            "can_assign": can(viewer.role, Permission.CHATS_ASSIGN)}


@renderer(MESSAGE)
def message_changed(event: dict, viewer: Connection) -> str | None:
    chat = _visible_chat(event, viewer)
    if chat is None:
        return None
    context = _common(event, chat, viewer)
    if "message" not in event["_shared"]:
        message = db.session.get(Message, int(event.get("message_id") or 0))
        event["_shared"]["message"] = message if message is not None and message.chat_id == chat.id else None
    return _render("live_message", m=event["_shared"]["message"], new=bool(event.get("new")), **context)


@renderer(CHAT)
def chat_changed(event: dict, viewer: Connection) -> str | None:
    chat = _org_chat(event)
    if chat is None:
        return None
    if not service.can_see_chat(viewer, chat):
        if viewer.user_id not in (event.get("unassigned"), *event.get("unshared", ())):
            return None
        unread_chats, unread_messages = service.unread_totals(viewer)
        return _render("live_chat_gone", chat_id=chat.id, unread_chats=unread_chats,
                       unread_messages=unread_messages, unshared=viewer.user_id in event.get("unshared", ()))
    # A chat its contact's sharing has just shown to this viewer is new to their list.
    new = bool(event.get("new")) or (viewer.user_id in event.get("shared", ())
                                     and not service.sees_unshared(viewer, chat))
    return _render("live_chat", new=new, **_common(event, chat, viewer))
