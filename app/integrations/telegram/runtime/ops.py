"""Requests the web makes of the telegram process (``control.call``), by op name.

Each op takes the ``Request`` and returns the result dict, or raises ``Refusal`` (code + message
for a person). The login ops live in ``login``; here: signing out and fetching media.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from telethon import errors, types

from app.blueprints.accounts.public import AccountStatus
from app.blueprints.accounts.public import store as accounts
from app.blueprints.messaging.public import store
from app.i18n import N_, said, wait
from app.integrations.telegram import leases
from app.integrations.telegram.runtime import login, outbox, sync
from app.integrations.telegram.runtime.login import Refusal
from app.integrations.telegram.runtime.proxy_guard import ProxyRefused

if TYPE_CHECKING:
    from app.integrations.telegram.control import Request
    from app.integrations.telegram.runtime.process import Runtime

SIGNED_OUT = said(N_("Signed out from the CRM. Sign in again to reconnect it."))


async def disconnect(runtime: Runtime, request: Request) -> dict[str, Any]:
    """account.disconnect {account_id}: log out on Telegram, forget the session, let go."""
    account_id = login._account_id(request)
    flow = runtime.logins.pop(account_id, None)
    if flow is not None:
        await flow.close()
    conn = runtime.connections.pop(account_id, None)
    client = None
    if conn is not None:
        conn.closing = True
        client = conn.client
    elif flow is None and not leases.acquire(runtime.redis, account_id, runtime.worker_id,
                                             runtime.config.lease_ttl):
        raise Refusal("busy", said(N_("Another Telegram connection service is holding this account. Try "
                                      "again in "
                              "a minute.")))
    try:
        if client is None and flow is None:
            info = await runtime.db(accounts.load, account_id, runtime.vault)
            if info is not None and info.session:
                client = runtime.new_client(info.session, phone=info.phone, proxy=info.proxy)
                try:
                    await client.connect()
                except ProxyRefused as refused:  # no log out on Telegram then; the session goes anyway
                    login.log.warning("account %s: %s", account_id, refused.message)
        if client is not None and client.is_connected():
            try:
                await client.log_out()
            except Exception:  # noqa: BLE001 - the session is dropped here either way
                login.log.warning("account %s: log out on Telegram failed", account_id, exc_info=True)
        if conn is not None:
            await conn.stop()
    finally:
        if client is not None and conn is None and client.is_connected():
            await client.disconnect()
        await runtime.db(accounts.end_session, account_id, AccountStatus.NEEDS_LOGIN, SIGNED_OUT)
        runtime.release(account_id)
    return {"disconnected": True}


async def fetch_media(runtime: Runtime, request: Request) -> dict[str, Any]:
    """media.fetch {message_id}: download the message's file into MessageFile -> {"stored": true}."""
    message_id = int(request.args.get("message_id") or 0)
    target = await runtime.db(store.media_target, message_id)
    if target is None:
        raise Refusal("not_found", said(N_("This message has no file.")))
    if target.stored:
        return {"stored": True}
    conn = runtime.connections.get(target.account_id)
    if conn is None or not conn.online or conn.client is None:
        raise Refusal("account_offline", said(N_("The account of this chat is not connected right now; "
                                                 "the file "
                                         "can be fetched once it is back online.")))
    size = target.media.get("size") or 0
    cap = runtime.config.media_max_bytes
    if size > cap:
        raise Refusal("too_large", said(N_("This file is larger than %(size)s MB; open it in Telegram."),
                                        size=cap // (1024 * 1024)))
    peer = types.InputPeerUser(target.peer_id, target.access_hash or 0)
    found = await conn.client.get_messages(peer, ids=[target.telegram_id])
    message = found[0] if found else None
    if message is None or message.media is None:
        raise Refusal("gone", said(N_("Telegram no longer has this file (the message was deleted).")))
    data = await conn.client.download_media(message, file=bytes)
    if not isinstance(data, bytes):
        raise Refusal("gone", said(N_("Telegram no longer has this file.")))
    await runtime.db(store.store_file, message_id, data, target.media.get("mime_type"),
                     target.media.get("file_name"))
    return {"stored": True, "size": len(data)}


async def open_chat(runtime: Runtime, request: Request) -> dict[str, Any]:
    """chat.open {account_id, username | phone, contact_id?} -> {"chat_id"}: the account's chat with
    that person, found on Telegram (Telegram limits username look-ups: use them for people, not
    lists)."""
    account_id = login._account_id(request)
    conn = runtime.connections.get(account_id)
    if conn is None or not conn.online or conn.client is None:
        raise Refusal("account_offline", said(N_("This account is not connected right now. Try again "
                                                 "when it is "
                                         "online.")))
    username = str(request.args.get("username") or "")
    phone = str(request.args.get("phone") or "")
    if not username.strip().lstrip("@") and not any(ch.isdigit() for ch in phone):
        raise Refusal("bad_request", said(N_("Give a Telegram username or a phone number.")))
    try:
        entity = await outbox.look_up(conn, username, phone if not username.strip() else None)
    except errors.FloodWaitError as flood:
        raise Refusal("flood_wait", said(N_("Telegram asks this account to wait %(wait)s before looking "
                                            "people up again."), wait=wait(flood.seconds))) from None
    if entity is None:
        raise Refusal("not_found", outbox.NOT_ON_TELEGRAM)
    peer = sync.person(entity)
    if peer is None:
        raise Refusal("not_a_person", outbox.NOT_A_PERSON)
    contact_id = request.args.get("contact_id")
    async with conn.lock:
        chat_id = await runtime.db(store.open_chat, account_id, conn.org_id, peer,
                                   int(contact_id) if contact_id else None)
    return {"chat_id": chat_id}


Op = Callable[["Runtime", "Request"], Awaitable[dict[str, Any]]]
OPS: dict[str, Op] = {
    "login.start": login.start,
    "login.code": login.code,
    "login.password": login.password,
    "login.qr": login.qr,
    "account.disconnect": disconnect,
    "media.fetch": fetch_media,
    "chat.open": open_chat,
}
