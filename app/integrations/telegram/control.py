"""Requests from web processes to telegram processes over Redis, with a reply.

Only telegram processes hold Telethon clients (see ``leases``). A web request that needs Telegram
now (a login step, a file to show) calls ``call(op, account_id=..., **args)``: the request goes to
the list of the process holding the account's lease (``tg:ctl:<worker id>``), or, for an account no
process holds yet (the first login step), to the shared list ``tg:ctl:any``. The process answers on
a reply list the caller waits on with a timeout. Sends do not come through here: they are outbox
rows plus an RQ job on the holder's queue (``send_queue_name``).

Request:  {"id", "op", "account_id", "args", "deadline"}   (deadline: epoch seconds; later = drop)
Reply:    {"ok": true, "result": {...}}  or  {"ok": false, "code": "...", "message": "...", "said": "..."}

Texts for people (a refusal's message, an account's status detail) are made in the telegram
process, which answers no one in particular: it writes them in no language (``app.i18n.said``: the
English message id and its values, as JSON), and the web says them in its viewer's language
(``app.i18n.in_words``).
A refusal's reply carries both its English ``message`` and the ``said`` form.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from flask_babel import gettext
from redis import Redis

from app.i18n import in_words, is_said, said
from app.integrations.telegram import leases

ANY = "any"
REPLY_TTL_SECONDS = 60
NUDGE_CHANNEL = "tg:nudge"
WAIT_SLICE = 1.0  # seconds of one blocking read for a reply
# A running process takes a request within a second (its listening read); one still untaken after
# this long has no process free to take it, and the caller is told so rather than kept waiting.
PICKUP_SECONDS = 5.0


class ControlError(Exception):
    """The telegram process answered with an error (``code`` is machine-readable)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Unavailable(ControlError):
    """No telegram process answered in time (none running, or all busy)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__("telegram_unavailable", message or gettext(
            "The Telegram connection service is not answering. Try again in a minute."))


def request_list(worker_id: str) -> str:
    return f"tg:ctl:{worker_id}"


def nudge(redis: Redis) -> None:
    """Ask every telegram process to look at the accounts now (one was added, changed or removed)
    instead of at its next round (a few seconds)."""
    redis.publish(NUDGE_CHANNEL, "1")


def send_queue_name(worker_id: str) -> str:
    """The RQ queue a telegram process takes send jobs from."""
    return f"telegram.{worker_id}"


def call(redis: Redis, op: str, *, account_id: int | None = None, timeout: float = 20.0,
         **args: Any) -> dict[str, Any]:
    """Ask the process holding ``account_id`` (or any process) to do ``op``; wait for its answer."""
    worker = leases.holder(redis, account_id) if account_id is not None else None
    request_id = uuid.uuid4().hex
    payload = {"id": request_id, "op": op, "account_id": account_id, "args": args,
               "deadline": time.time() + timeout}
    queue, raw = request_list(worker or ANY), json.dumps(payload, default=str)
    redis.rpush(queue, raw)
    reply_key = _reply_key(request_id)
    answer = _wait_for_reply(redis, reply_key, min(payload["deadline"], time.time() + PICKUP_SECONDS))
    if answer is None and redis.lrem(queue, 1, raw):
        raise Unavailable()  # nobody took it; withdrawn, so no process acts on it later
    if answer is None:  # taken: the process is at work on it
        answer = _wait_for_reply(redis, reply_key, payload["deadline"])
    if answer is None:
        raise Unavailable()
    reply = json.loads(answer[1])
    if not reply.get("ok"):
        message = reply.get("said") or reply.get("message") or said("Telegram refused.")
        raise ControlError(reply.get("code", "telegram_error"), in_words(message))
    return reply.get("result") or {}


def _wait_for_reply(redis: Redis, key: str, deadline: float) -> tuple | None:
    """The reply, or None at ``deadline``. Waited for in blocking reads shorter than the client's
    socket timeout (5 s by default in redis-py): a read that outlives it raises instead of answering."""
    socket_timeout = redis.connection_pool.connection_kwargs.get("socket_timeout")
    step = min(WAIT_SLICE, socket_timeout / 2) if socket_timeout else WAIT_SLICE
    while (left := deadline - time.time()) > 0:
        answer = redis.blpop([key], timeout=max(0.01, min(step, left)))
        if answer is not None:
            return answer
    return None


@dataclass(frozen=True)
class Request:
    id: str
    op: str
    account_id: int | None
    args: dict[str, Any]
    deadline: float

    @property
    def expired(self) -> bool:
        return time.time() > self.deadline


def next_request(redis: Redis, worker_id: str, timeout: float = 1.0) -> Request | None:
    """The next request for this process (its own list first, then the shared one), or None."""
    item = redis.blpop([request_list(worker_id), request_list(ANY)], timeout=timeout)
    if item is None:
        return None
    raw = json.loads(item[1])
    return Request(raw["id"], raw["op"], raw.get("account_id"), raw.get("args") or {}, raw["deadline"])


def requeue(redis: Redis, request: Request, worker_id: str | None = None) -> None:
    """Hand a request on (to the process now holding its account, or back to the shared list)."""
    payload = {"id": request.id, "op": request.op, "account_id": request.account_id,
               "args": request.args, "deadline": request.deadline}
    redis.rpush(request_list(worker_id or ANY), json.dumps(payload, default=str))


def answer(redis: Redis, request: Request, result: dict[str, Any] | None = None) -> None:
    _reply(redis, request, {"ok": True, "result": result or {}})


def refuse(redis: Redis, request: Request, code: str, message: str) -> None:
    """``message``: a text ``said`` made (or plain English)."""
    body = {"ok": False, "code": code, "message": in_words(message)}
    if is_said(message):
        body["said"] = message
    _reply(redis, request, body)


def _reply(redis: Redis, request: Request, body: dict[str, Any]) -> None:
    key = _reply_key(request.id)
    with redis.pipeline() as pipe:
        pipe.rpush(key, json.dumps(body, default=str))
        pipe.expire(key, REPLY_TTL_SECONDS)
        pipe.execute()


def _reply_key(request_id: str) -> str:
    return f"tg:reply:{request_id}"
