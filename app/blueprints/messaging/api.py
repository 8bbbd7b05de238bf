"""``/api/messaging``: the inbox, chats, messages, sending, read marks and figures.

Same services and the same sight as the pages: an agent's token sees the chats of the accounts
given to them and the chats assigned to them; any other chat is a 404. Sending queues the message
(202): its status moves from queued to sent or failed once Telegram answers (poll
``GET /messages/<id>``). Telegram's 64-bit ``random_id`` is a string (JavaScript numbers cannot
hold it). Bodies are strict: an unknown key is a 422 naming it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify, request

from app.api.auth import json_body, only_fields, per_member_limit, protect
from app.api.docs import ID, JSON, MULTIPART, documented, integer, obj, string
from app.blueprints.messaging import media, service
from app.blueprints.messaging.models import Chat, Message, MessageStatus
from app.errors import DomainError
from app.extensions import db

bp = protect(Blueprint("messaging_api", __name__, url_prefix="/api/messaging"))


per_user = per_member_limit("messaging_api")

# -- shapes ------------------------------------------------------------------------------------

NULL_INT = {"type": ["integer", "null"]}
NULL_STR = {"type": ["string", "null"]}
NULL_TIME = {"type": ["string", "null"], "format": "date-time"}
CHAT = obj(id=integer(), account_id=integer(), peer_id=integer(description="the other side's Telegram id"),
           title=string(), username=NULL_STR, phone=NULL_STR, contact_id=NULL_INT, assignee_id=NULL_INT,
           unread_count=integer(), read_inbox_max_id=integer(), read_outbox_max_id=integer(),
           last_message_at=NULL_TIME, last_message_preview=NULL_STR, last_message_out={"type": "boolean"},
           has_deal={"type": "boolean", "description": "the contact has an open deal"})
MESSAGE = obj(id=integer(), chat_id=integer(), account_id=integer(),
              telegram_id={"type": ["integer", "null"], "description": "null until Telegram confirms a send"},
              random_id={"type": ["string", "null"],
                         "description": "outbound: the 64-bit id every attempt reuses"},
              out={"type": "boolean"}, text=string(), date=string(format="date-time"), edited_at=NULL_TIME,
              deleted_at=NULL_TIME, status=string(enum=[s.value for s in MessageStatus]),
              error={"type": ["string", "null"], "description": "why it failed (status failed)"},
              author_id=NULL_INT, media={"type": ["object", "null"], "description":
                                         "kind, mime_type, size, file_name, width, height, duration"})
NOT_FOUND = "No such chat or message that you may see"


def _query(name: str, description: str, schema: dict | None = None) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": schema or string()}


FILTERS = [_query("q", "search titles, usernames, phones and message text"),
           _query("account_id", "only this account's chats", integer()),
           _query("assignee", "me, none, or a user id"),
           _query("unread", "1: only chats with unread messages"),
           _query("has_deal", "1: only chats whose contact has an open deal")]


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


def _whole(name: str, default: int | None, least: int, most: int) -> int | None:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or not least <= int(raw) <= most:
        message = f"{name}: a whole number from {least} to {most}."
        raise DomainError(message, {name: f"From {least} to {most}."})
    return int(raw)


def _filter() -> service.InboxFilter:
    assignee = request.args.get("assignee", "")
    if assignee and assignee not in ("me", "none") and not assignee.isdigit():
        raise DomainError("assignee: me, none or a user id.", {"assignee": "me, none or a user id."})
    flt = service.InboxFilter.from_args(request.args)
    flt.account_id = _whole("account_id", None, 1, 2**62)
    return flt


# -- chats -------------------------------------------------------------------------------------

@bp.get("/inbox")
@per_user
@documented("The inbox: chats with a message, newest conversation first, with your unread figures",
            tag="messaging",
            params=[*FILTERS, _query("cursor", "next_cursor of the previous page"),
                    _query("limit", "chats per page, 1-100 (default 30)", integer(minimum=1, maximum=100))],
            responses={200: {"description": "A page of the inbox", "schema": obj(
                items={"type": "array", "items": CHAT}, next_cursor=NULL_STR, unread_chats=integer(),
                unread_messages=integer())}, 422: "A bad filter or cursor"})
def inbox():
    flt = _filter()
    rows, next_cursor = service.list_chats(g.membership, flt, request.args.get("cursor"),
                                           limit=_whole("limit", service.CHAT_PAGE, 1, 100))
    unread_chats, unread_messages = service.unread_totals(g.membership)
    return jsonify({"items": [chat_json(r.chat, r.has_deal) for r in rows], "next_cursor": next_cursor,
                    "unread_chats": unread_chats, "unread_messages": unread_messages})


@bp.get("/chats")
@per_user
@documented("Every chat you may see (those without messages too), page by page", tag="messaging",
            params=[*FILTERS, _query("page", "1-based page", integer(minimum=1)),
                    _query("per_page", "1-200 (default 50)", integer(minimum=1, maximum=200))],
            responses={200: {"description": "A page of chats", "schema": obj(
                items={"type": "array", "items": CHAT}, total=integer(), page=integer(), per_page=integer())},
                422: "A bad filter"})
def chats():
    flt = _filter()
    page, per_page = _whole("page", 1, 1, 1_000_000), _whole("per_page", 50, 1, 200)
    found, total = service.chats_page(g.membership, flt, page, per_page)
    return jsonify({"items": [chat_json(c) for c in found], "total": total, "page": page,
                    "per_page": per_page})


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
            body=obj(["assignee_id"], assignee_id=NULL_INT),
            responses={200: {"description": "The chat", "schema": CHAT}, 403: "Managers and above only",
                       404: NOT_FOUND, 422: "Not a member of the organization"})
def assign(chat_id: int):
    chat = service.get_chat(g.membership, chat_id)
    data = only_fields(json_body(), {"assignee_id"})
    user_id = data.get("assignee_id")
    if user_id is not None and (not isinstance(user_id, int) or isinstance(user_id, bool)):
        raise DomainError("assignee_id: a user id or null.", {"assignee_id": "A user id or null."})
    service.assign(g.membership, chat, user_id)
    db.session.commit()
    return jsonify(chat_json(chat))


# -- messages ----------------------------------------------------------------------------------

@bp.get("/messages")
@per_user
@documented("A chat's messages, oldest first, newest page first; older_cursor pages back", tag="messaging",
            params=[{"name": "chat_id", "in": "query", "required": True, "schema": integer()},
                    _query("before", "older_cursor of the previous answer"),
                    _query("limit", "1-200 (default 40)", integer(minimum=1, maximum=200))],
            responses={200: {"description": "Messages", "schema": obj(
                items={"type": "array", "items": MESSAGE}, older_cursor=NULL_STR)},
                404: NOT_FOUND, 422: "chat_id missing, or a bad cursor"})
def messages():
    chat_id = _whole("chat_id", None, 1, 2**62)
    if chat_id is None:
        raise DomainError("chat_id: which chat's messages.", {"chat_id": "Required."})
    chat = service.get_chat(g.membership, chat_id)
    found, older = service.thread(chat, request.args.get("before"),
                                  limit=_whole("limit", service.THREAD_PAGE, 1, 200))
    return jsonify({"items": [message_json(m) for m in found], "older_cursor": older})


@bp.get("/messages/<int:message_id>")
@per_user
@documented("One message (poll it to follow a send: queued, sending, then sent or failed)", tag="messaging",
            responses={200: {"description": "The message", "schema": MESSAGE}, 404: NOT_FOUND})
def message(message_id: int):
    return jsonify(message_json(service.get_message(g.membership, message_id)))


@bp.post("/send")
@per_user
@documented("Send a message in a chat: it is queued at once and sent by the account's connection. "
            "A file goes as multipart/form-data (fields chat_id, text, file; up to 10 MB)", tag="messaging",
            bodies={JSON: obj(["chat_id"], chat_id=ID,
                              text=string(maxLength=service.MAX_TEXT, description="up to 4,096 characters")),
                    MULTIPART: obj(["chat_id"], chat_id=string(pattern=r"^[0-9]{1,10}$"),
                                   text=string(maxLength=service.MAX_CAPTION,
                                               description="the caption, up to 1,024 characters"),
                                   file=string(format="binary", description="up to 10 MB"))},
            responses={202: {"description": "Queued", "schema": MESSAGE}, 404: NOT_FOUND,
                       422: "Empty or too long, a file too large, or the account cannot send"})
def send():
    if request.mimetype == "multipart/form-data":
        data = dict(request.form.items())
        only_fields(data, {"chat_id", "text"})
        raw_id = data.get("chat_id", "")
        chat_id = int(raw_id) if raw_id.isdigit() else None
        attachment = media.attachment_from(request.files)
    else:
        data = only_fields(json_body(), {"chat_id", "text"})
        chat_id = data.get("chat_id") if isinstance(data.get("chat_id"), int) else None
        attachment = None
        if data.get("text") is not None and not isinstance(data["text"], str):
            raise DomainError("text: a string.", {"text": "A string."})
    if chat_id is None or isinstance(chat_id, bool):
        raise DomainError("chat_id: the chat to send in.", {"chat_id": "A chat id."})
    chat = service.get_chat(g.membership, chat_id)
    queued = service.queue_message(g.membership, chat, data.get("text"), attachment)
    db.session.commit()
    return jsonify(message_json(queued)), 202


@bp.post("/messages/<int:message_id>/retry")
@per_user
@documented("Send a failed message again (the same message, the same random_id)", tag="messaging",
            responses={202: {"description": "Queued again", "schema": MESSAGE}, 404: NOT_FOUND,
                       422: "The message did not fail"})
def retry(message_id: int):
    found = service.get_message(g.membership, message_id)
    service.retry_message(g.membership, found)
    db.session.commit()
    return jsonify(message_json(found)), 202


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
            responses={200: {"description": "Figures over the chats you may see", "schema": obj(
                **COUNTS, accounts={"type": "array", "items": obj(account_id=integer(), phone=NULL_STR,
                                                                    **COUNTS)})}})
def stats():
    return jsonify(service.stats(g.membership))
