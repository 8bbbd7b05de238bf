"""``/api/messaging``: the inbox, chats, messages, sending, read marks and figures.

Same services and the same sight as the pages: an agent's token sees the chats of the accounts
given to them and the chats assigned to them; any other chat is a 404. Sending queues the message
(202): its status moves from queued to sent or failed once Telegram answers (poll
``GET /messages/<id>``). Telegram's 64-bit ``random_id`` is a string (JavaScript numbers cannot
hold it). Bodies are strict: an unknown key is a 422 naming it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request, url_for
from flask_babel import gettext as _

from app.api.auth import json_body, per_member_limit, protect
from app.api.docs import (
    ID,
    JSON,
    MULTIPART,
    NO_NUL,
    NULL_ID,
    always,
    documented,
    integer,
    obj,
    query,
    string,
    text,
)
from app.blueprints.accounts.public import gateway
from app.blueprints.messaging import media, service
from app.blueprints.messaging.models import Chat, Message, MessageStatus
from app.canonical import id_or_none
from app.errors import NotFound
from app.extensions import db

bp = protect(Blueprint("messaging_api", __name__, url_prefix="/api/messaging"))


per_user = per_member_limit("messaging_api")

# -- shapes ------------------------------------------------------------------------------------

NULL_INT = {"type": ["integer", "null"]}
NULL_STR = {"type": ["string", "null"]}
NULL_TIME = {"type": ["string", "null"], "format": "date-time"}
BOOLEAN = {"type": "boolean"}
# A NUL in a query value or a form field is refused before any view runs (400, request_input).


CHAT = always(
    id=integer(), account_id=integer(), peer_id=integer(description="the other side's Telegram id"),
    title=string(), username=NULL_STR, phone=NULL_STR, contact_id=NULL_INT, assignee_id=NULL_INT,
    unread_count=integer(), read_inbox_max_id=integer(), read_outbox_max_id=integer(),
    last_message_at=NULL_TIME, last_message_preview=NULL_STR, last_message_out=BOOLEAN)
INBOX_CHAT = always(**CHAT["properties"], has_deal={**BOOLEAN, "description": "the contact has an open deal"})
MESSAGE = always(
    id=integer(), chat_id=integer(), account_id=integer(),
    telegram_id={"type": ["integer", "null"], "description": "null until Telegram confirms a send"},
    random_id={"type": ["string", "null"], "description": "outbound: the 64-bit id every attempt reuses"},
    out=BOOLEAN, text=string(), date=string(format="date-time"), edited_at=NULL_TIME,
    deleted_at=NULL_TIME, status=string(enum=[s.value for s in MessageStatus]),
    error={"type": ["string", "null"], "description": "why it failed (status failed)"},
    author_id=NULL_INT,
    media={"type": ["object", "null"],
           "description": "kind, mime_type, size, file_name, width, height, duration"})
NOT_FOUND = "No such chat or message that you may see"
MESSAGE_AT = {"Location": {"description": "the message, to poll until it is sent or failed",
                           "required": True, "schema": string()}}
THE_MESSAGE = {"message_id": "$response.body#/id"}
FIRST_CHAT = {"chat_id": "$response.body#/items/0/id"}
CHAT_LINKS = {"ChatMessages": {"operationId": "messaging_api.messages", "parameters": FIRST_CHAT},
              "MarkChatRead": {"operationId": "messaging_api.mark_chat_read", "parameters": FIRST_CHAT},
              "AssignChat": {"operationId": "messaging_api.assign", "parameters": FIRST_CHAT}}
FIRST_MESSAGE = {"message_id": "$response.body#/items/0/id"}
THREAD_LINKS = {"ReadMessage": {"operationId": "messaging_api.read", "parameters": FIRST_MESSAGE},
                "GetMessage": {"operationId": "messaging_api.message", "parameters": FIRST_MESSAGE}}
MESSAGE_LINKS = {"GetMessage": {"operationId": "messaging_api.message", "parameters": THE_MESSAGE},
                 "RetryMessage": {"operationId": "messaging_api.retry", "parameters": THE_MESSAGE}}


FILTERS = [query("q", "search titles, usernames, phones and message text", text(100)),
           query("account_id", "only this account's chats", ID),
           query("assignee", "me, none, or a user id", string(pattern=r"^(me|none|[0-9]{1,10})$")),
           query("unread", "true: only chats with unread messages", BOOLEAN),
           query("has_deal", "true: only chats whose contact has an open deal", BOOLEAN)]
CURSOR = text(64)


def chat_json(chat: Chat, has_deal: bool | None = None) -> dict[str, Any]:
    data = {"id": chat.id, "account_id": chat.account_id, "peer_id": chat.peer_id, "title": chat.title,
            "username": chat.username, "phone": chat.phone, "contact_id": chat.contact_id,
            "assignee_id": chat.assignee_id, "unread_count": chat.unread_count,
            "read_inbox_max_id": chat.read_inbox_max_id, "read_outbox_max_id": chat.read_outbox_max_id,
            "last_message_at": chat.last_message_at.isoformat() if chat.last_message_at else None,
            "last_message_preview": chat.last_message_preview, "last_message_out": chat.last_message_out}
    if has_deal is not None:
        data["has_deal"] = has_deal
    return data


def message_json(message: Message) -> dict[str, Any]:
    return {"id": message.id, "chat_id": message.chat_id, "account_id": message.account_id,
            "telegram_id": message.telegram_id,
            "random_id": str(message.random_id) if message.random_id is not None else None,
            "out": message.out, "text": message.text, "date": message.date.isoformat(),
            "edited_at": message.edited_at.isoformat() if message.edited_at else None,
            "deleted_at": message.deleted_at.isoformat() if message.deleted_at else None,
            "status": message.status, "error": message.error, "author_id": message.author_id,
            "media": message.media}


def _filter() -> service.InboxFilter:
    """The filters in ``g.args``, stripped: the check reads a pattern's closing ``$`` as Python does,
    so one trailing newline gets through it."""
    return service.InboxFilter(q=g.args.get("q", "").strip(), account_id=g.args.get("account_id"),
                               assignee=g.args.get("assignee", "").strip(),
                               unread=g.args.get("unread", False), has_deal=g.args.get("has_deal", False))


# -- chats -------------------------------------------------------------------------------------

@bp.get("/inbox")
@per_user
@documented("The inbox: chats with a message, newest conversation first, with your unread figures",
            tag="messaging",
            params=[*FILTERS, query("cursor", "next_cursor of the previous page", CURSOR),
                    query("limit", f"chats per page (default {service.CHAT_PAGE})",
                           integer(minimum=1, maximum=100))],
            responses={200: {"description": "A page of the inbox", "schema": always(
                items={"type": "array", "items": INBOX_CHAT}, next_cursor=NULL_STR, unread_chats=integer(),
                unread_messages=integer()), "links": CHAT_LINKS},
                422: "Outside the parameters below, or a cursor not from this list"})
def inbox():
    rows, next_cursor = service.list_chats(g.membership, _filter(), g.args.get("cursor"),
                                           limit=g.args.get("limit", service.CHAT_PAGE))
    unread_chats, unread_messages = service.unread_totals(g.membership)
    return jsonify({"items": [chat_json(r.chat, r.has_deal) for r in rows], "next_cursor": next_cursor,
                    "unread_chats": unread_chats, "unread_messages": unread_messages})


@bp.get("/chats")
@per_user
@documented("Every chat you may see (those without messages too), page by page", tag="messaging",
            params=[*FILTERS,
                    query("page", "1-based page (default 1)", integer(minimum=1, maximum=1_000_000)),
                    query("per_page", "chats per page (default 50)", integer(minimum=1, maximum=200))],
            responses={200: {"description": "A page of chats", "schema": always(
                items={"type": "array", "items": CHAT}, total=integer(), page=integer(), per_page=integer()),
                "links": CHAT_LINKS}})
def chats():
    page, per_page = g.args.get("page", 1), g.args.get("per_page", 50)
    found, total = service.chats_page(g.membership, _filter(), page, per_page)
    return jsonify({"items": [chat_json(c) for c in found], "total": total, "page": page,
                    "per_page": per_page})


@bp.post("/chats")
@per_user
@documented("Start a conversation with a contact from an account you may send from (an agent: their "
            "own): the account's chat with them, opened on Telegram when there is none (found by "
            "their username, else their phone number). Nothing is sent; a first message sent into "
            "it counts against the account's daily budget of new chats and waits when that is spent. "
            "A refusal from Telegram is an error envelope whose code is Telegram's (not_found, "
            "not_a_person, account_offline; flood_wait: 429; telegram_unavailable: 503)",
            tag="messaging",
            body=obj(["account_id", "contact_id"], account_id=ID, contact_id=ID),
            responses={201: {"description": "The chat, linked to the contact", "schema": CHAT,
                             "headers": {"Location": {"description": "the chat's messages", "required": True,
                                                      "schema": string()}},
                             "links": {"ChatMessages": {"operationId": "messaging_api.messages",
                                                        "parameters": {"chat_id": "$response.body#/id"}}}},
                       404: "No such contact in your organization, or no such account that you may send from",
                       422: "The contact has no Telegram username or phone number, the account cannot "
                            "send (banned, not connected), or Telegram refused (nobody found)",
                       429: "Telegram asks the account to wait before looking people up again",
                       503: "The Telegram connection service is not answering"})
def start_chat():
    data = json_body()
    chat = service.start_chat(g.membership, data["contact_id"], data["account_id"], gateway.telegram())
    db.session.commit()  # a chat that had no contact is linked to this one
    response = jsonify(chat_json(chat))
    response.status_code = 201
    response.headers["Location"] = url_for("messaging_api.messages", chat_id=chat.id)
    return response


@bp.post("/chats/<int:chat_id>/mark-all-read")
@per_user
@documented("Mark every message of a chat read (here at once, on Telegram soon)", tag="messaging",
            responses={200: {"description": "The chat", "schema": CHAT}, 404: NOT_FOUND})
def mark_chat_read(chat_id: int):
    chat = service.get_chat(g.membership, chat_id)
    service.mark_read(g.membership, chat)
    db.session.commit()
    return jsonify(chat_json(chat))


@bp.put("/chats/<int:chat_id>/assignee")
@per_user
@documented("Assign a chat to a member (null: nobody)", tag="messaging",
            body=obj(["assignee_id"], assignee_id=NULL_ID),
            responses={200: {"description": "The chat", "schema": CHAT}, 403: "Managers and above only",
                       404: NOT_FOUND, 422: "Not a member of the organization"})
def assign(chat_id: int):
    chat = service.get_chat(g.membership, chat_id)
    service.assign(g.membership, chat, json_body()["assignee_id"])
    db.session.commit()
    return jsonify(chat_json(chat))


# -- messages ----------------------------------------------------------------------------------

@bp.get("/messages")
@per_user
@documented("A chat's messages, oldest first, newest page first; older_cursor pages back", tag="messaging",
            params=[query("chat_id", "the chat", ID, required=True),
                    query("before", "older_cursor of the previous answer", CURSOR),
                    query("limit", f"messages per page (default {service.THREAD_PAGE})",
                           integer(minimum=1, maximum=200))],
            responses={200: {"description": "Messages", "schema": always(
                items={"type": "array", "items": MESSAGE}, older_cursor=NULL_STR), "links": THREAD_LINKS},
                404: NOT_FOUND,
                422: "Outside the parameters below, or a cursor not from this chat"})
def messages():
    chat = service.get_chat(g.membership, g.args["chat_id"])
    found, older = service.thread(chat, g.args.get("before"), limit=g.args.get("limit", service.THREAD_PAGE))
    return jsonify({"items": [message_json(m) for m in found], "older_cursor": older})


@bp.get("/messages/<int:message_id>")
@per_user
@documented("One message (poll it to follow a send: queued, sending, then sent or failed)", tag="messaging",
            responses={200: {"description": "The message", "schema": MESSAGE}, 404: NOT_FOUND})
def message(message_id: int):
    return jsonify(message_json(service.get_message(g.membership, message_id)))


def _queued(found: Message):
    """202 with the message and where to follow it."""
    response = jsonify(message_json(found))
    response.status_code = 202
    response.headers["Location"] = url_for("messaging_api.message", message_id=found.id)
    return response


@bp.post("/send")
@per_user
@documented("Send a message in a chat: it is queued at once and sent by the account's connection. "
            "A file goes as multipart/form-data (fields chat_id, text, file; up to 10 MB)", tag="messaging",
            bodies={JSON: obj(["chat_id", "text"], chat_id=ID,
                              text=string(minLength=1, maxLength=service.MAX_TEXT,
                                          description="up to 4,096 characters")),
                    MULTIPART: obj(["chat_id"], chat_id=string(pattern=r"^[0-9]{1,10}$"),
                                   text=string(maxLength=service.MAX_CAPTION, pattern=NO_NUL,
                                               description="the caption, up to 1,024 characters"),
                                   file=string(format="binary", description="up to 10 MB"))},
            responses={202: {"description": "Queued", "schema": MESSAGE, "headers": MESSAGE_AT,
                             "links": MESSAGE_LINKS},
                       400: "Not JSON, or a NUL in a form field", 404: NOT_FOUND,
                       422: "Blank, a file empty or too large, or the account cannot send"})
def send():
    if request.mimetype == MULTIPART:
        chat_id = id_or_none(request.form.get("chat_id"))  # up to 10 digits: maybe beyond any id
        text, attachment = request.form.get("text"), media.attachment_from(request.files)
    else:
        data = json_body()
        chat_id, text, attachment = data["chat_id"], data["text"], None
    if chat_id is None:
        raise NotFound(_("Chat not found."))
    chat = service.get_chat(g.membership, chat_id)
    queued = service.queue_message(g.membership, chat, text, attachment)
    db.session.commit()
    return _queued(queued)


@bp.post("/messages/<int:message_id>/retry")
@per_user
@documented("Send a failed message again (the same message, the same random_id)", tag="messaging",
            responses={202: {"description": "Queued again", "schema": MESSAGE, "headers": MESSAGE_AT,
                             "links": {"GetMessage": MESSAGE_LINKS["GetMessage"]}},
                       404: NOT_FOUND, 422: "The message did not fail"})
def retry(message_id: int):
    found = service.get_message(g.membership, message_id)
    service.retry_message(g.membership, found)
    db.session.commit()
    return _queued(found)


@bp.patch("/messages/<int:message_id>/read")
@per_user
@documented("Mark a received message, and every earlier one, read", tag="messaging",
            responses={200: {"description": "The chat", "schema": CHAT}, 404: NOT_FOUND,
                       422: "Not a received message"})
def read(message_id: int):
    found = service.get_message(g.membership, message_id)
    chat = service.mark_read_up_to(g.membership, found)
    db.session.commit()
    return jsonify(chat_json(chat))


# -- figures -----------------------------------------------------------------------------------

COUNTS = {key: integer() for key in ("chats", "unread_chats", "unread_messages", "in_today", "out_today",
                                     "in_7d", "out_7d")}


@bp.get("/stats")
@per_user
@documented("Chats, unread, and messages in and out today (UTC) and over 7 days, overall and per account",
            tag="messaging",
            responses={200: {"description": "Figures over the chats you may see", "schema": always(
                **COUNTS, accounts={"type": "array", "items": always(account_id=integer(), phone=NULL_STR,
                                                                       **COUNTS)})}})
def stats():
    return jsonify(service.stats(g.membership))
