"""Sending one account's outbox: exactly once, within budgets, patient with floods.

A message is a row before it is anything else (status queued, with its ``random_id``). Sending
moves it to ``sending`` (one more attempt) and hands Telegram the raw ``messages.sendMessage``
(``sendMedia`` with an attachment) carrying that ``random_id``; the answer's message id and date
make it ``sent``. A process that dies between the two leaves the row in ``sending``: whoever holds
the account next sends it again with the same ``random_id`` and Telegram, which has seen it,
returns the original instead of a second message.

- FloodWait: back to queued, due after the wait plus jitter; the account's other sends wait too;
  a long wait also shows the account as limited until then.
- PeerFlood: the account is limited for ``peer_flood_hours``; its queued messages stay queued
  (a flood never moves a message to another account) until the limit ends.
- Budgets (``budgets``): a message over budget is held until the budget allows, never failed.
- A refusal that will not change (the person blocked us, the text is too long, ...) fails the
  message with a reason a person can act on. Anything else is retried with backoff: a refusal
  Telegram answered goes back to queued; an attempt that got no answer (the connection failed
  with the request on its way) may have reached Telegram, so the message stays ``sending`` (never
  withdrawn, as a crash's would not be) and goes again with its ``random_id`` when the retry is
  due: the record ends as Telegram holds it.
"""

from __future__ import annotations

import logging
import random
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from telethon import errors, functions, types

from app.blueprints.accounts.public import AccountStatus
from app.blueprints.messaging.public import MessageStatus, ReadTarget, SendPlan, store
from app.db_types import utcnow
from app.i18n import N_, in_words, said
from app.integrations.telegram import budgets
from app.integrations.telegram.runtime.clients import session_ended
from app.integrations.telegram.runtime.sync import media_of, person

if TYPE_CHECKING:
    from app.integrations.telegram.runtime.connection import Connection

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
REPLIED_FIRST = said(N_("Not sent: the person wrote first."))
NOT_ON_TELEGRAM = said(N_("Nobody on Telegram has this username or phone number (or they hide their "
                          "number)."))
NOT_A_PERSON = said(N_("That is a bot, a group or a channel, not a person."))

# Refusals that no retry will change, in words for the person who wrote the message.
PERMANENT: tuple[tuple[type[Exception], str], ...] = (
    (errors.UserIsBlockedError, "This person has blocked the account."),
    (errors.YouBlockedUserError, "The account has blocked this person; unblock them in Telegram first."),
    (errors.InputUserDeactivatedError, "This person's Telegram account was deleted."),
    (errors.PeerIdInvalidError, "Telegram does not know this person for this account any more."),
    (errors.UserPrivacyRestrictedError, "This person's privacy settings do not allow messages from "
                                        "this account."),
    (errors.ChatWriteForbiddenError, "This account may not write in this chat."),
    (errors.MessageTooLongError, "The message is longer than Telegram allows (4,096 characters)."),
    (errors.MessageEmptyError, "The message is empty."),
    (errors.MediaEmptyError, "Telegram could not read the attachment."),
    (errors.MediaInvalidError, "Telegram could not read the attachment."),
    (errors.FilePartsInvalidError, "Telegram could not read the attachment."),
)


def _jitter(seconds: float) -> float:
    return random.uniform(1.0, 3.0) + seconds * random.uniform(0.0, 0.1)


async def send(conn: Connection, message_id: int) -> None:
    """Send outbox message ``message_id`` if its time has come (else schedule it). Takes the lock."""
    if message_id in conn.in_flight:
        return
    conn.in_flight.add(message_id)
    try:
        async with conn.lock:
            if conn.online:
                await _send(conn, message_id)
    finally:
        conn.in_flight.discard(message_id)


def _claim(redis: Any, account_id: int, paused_until: datetime | None,
           message_id: int) -> tuple[SendPlan | None, datetime | None]:
    """One database unit, run in the db thread: the plan, the wait and budget checks, and the move
    to ``sending``. Returns the plan when the message goes now, else when to look again (if ever)."""
    plan = store.send_plan(message_id)
    if plan is None or plan.account_id != account_id or plan.status not in (
            MessageStatus.QUEUED, MessageStatus.SENDING):
        return None, None
    now = utcnow()
    if plan.status == MessageStatus.QUEUED and plan.cancel_on_reply and store.replied_since(plan):
        store.withdraw(message_id, REPLIED_FIRST)  # their message was stored first: it wins
        return None, None
    wait_until = max(filter(None, (plan.send_after, paused_until)), default=None)
    if wait_until is not None and wait_until > now:  # also an unanswered attempt's retry
        return None, wait_until
    if plan.status == MessageStatus.QUEUED:
        allowed = budgets.allowed_at(redis, account_id, plan.config, first_contact=plan.first_contact)
        if allowed is not None:
            later = datetime.fromtimestamp(allowed, now.tzinfo)
            store.requeue(message_id, later)
            return None, later
        budgets.spend(redis, account_id, plan.config, first_contact=plan.first_contact)
    # A row still in ``sending`` was handed to Telegram by a process that died before recording
    # the answer: the same random_id goes again, and Telegram answers with the original.
    return (plan, None) if store.start_sending(message_id) else (None, None)


async def _send(conn: Connection, message_id: int) -> None:
    runtime = conn.runtime
    plan, later = await runtime.db(_claim, runtime.redis, conn.account_id, conn.paused_until, message_id)
    if plan is None:
        if later is not None:
            conn.wake_at(later)
        return
    if plan.peer_id is None:  # someone the account has no chat with yet: find them first
        plan = await _find_recipient(conn, plan)
        if plan is None:
            return
    try:
        result = await conn.client(await _request(conn, plan))
    except errors.FloodWaitError as flood:
        await _flood_wait(conn, plan, flood.seconds)
    except errors.PeerFloodError:
        await _peer_flood(conn, plan)
    except errors.RandomIdDuplicateError:
        await runtime.db(store.sent_then_deleted, message_id)
    except Exception as exc:  # noqa: BLE001 - sorted below: permanent, account-level, or retry
        await _refused(conn, plan, exc)
    else:
        telegram_id, date, media = _outcome(result, plan.random_id)
        if telegram_id is None:
            log.error("account %s: no message id for random_id %s in %s", conn.account_id, plan.random_id,
                      type(result).__name__)
            await runtime.db(store.requeue, message_id, utcnow() + timedelta(seconds=30))
            return
        await record(conn, message_id, telegram_id, date, media)


async def _find_recipient(conn: Connection, plan: SendPlan) -> SendPlan | None:
    """Look the recipient up on Telegram (by username, else phone number: a user id alone is of no
    use without this account's access hash for them) and join the message to the account's chat
    with them. None when it cannot go now: not found (failed) or a flood (requeued)."""
    runtime, recipient = conn.runtime, plan.recipient or {}
    try:
        entity = await look_up(conn, recipient.get("username"), recipient.get("phone"))
    except errors.FloodWaitError as flood:
        await _flood_wait(conn, plan, flood.seconds)
        return None
    except Exception as exc:  # noqa: BLE001 - sorted like a refused send
        await _refused(conn, plan, exc)
        return None
    peer = person(entity) if entity is not None else None
    if peer is None:
        await runtime.db(store.fail, plan.message_id, NOT_ON_TELEGRAM if entity is None else NOT_A_PERSON)
        return None
    return await runtime.db(store.bind_recipient, plan.message_id, peer)  # under the send's lock


async def look_up(conn: Connection, username: str | None, phone: str | None) -> Any:
    """The Telegram user with this username (without @), else this phone number; None if nobody."""
    username = (username or "").strip().lstrip("@")
    if username:
        try:
            return await conn.client.get_entity(username)
        except (errors.UsernameNotOccupiedError, errors.UsernameInvalidError, ValueError):
            if not phone:
                return None
    if phone:
        digits = "".join(ch for ch in str(phone) if ch.isdigit())
        found = await conn.client(functions.contacts.ImportContactsRequest([types.InputPhoneContact(
            client_id=random.getrandbits(62), phone=digits, first_name=digits, last_name="")]))
        return found.users[0] if found.users else None
    return None


async def record(conn: Connection, message_id: int, telegram_id: int, date: datetime | None,
                 media: dict | None) -> None:
    """Write down Telegram's answer: the message is sent, with Telegram's id and date."""
    await conn.runtime.db(store.record_sent, message_id, telegram_id, date, media)


async def _request(conn: Connection, plan: SendPlan) -> Any:
    peer = types.InputPeerUser(plan.peer_id, plan.access_hash or 0)
    if plan.file is None:
        return functions.messages.SendMessageRequest(peer=peer, message=plan.text, random_id=plan.random_id)
    data, mime_type, file_name = plan.file
    uploaded = await conn.client.upload_file(data, file_name=file_name or "file")
    if mime_type in ("image/jpeg", "image/png", "image/webp"):
        media: Any = types.InputMediaUploadedPhoto(file=uploaded)
    else:
        attributes = [types.DocumentAttributeFilename(file_name or "file")]
        media = types.InputMediaUploadedDocument(file=uploaded, mime_type=mime_type, attributes=attributes)
    return functions.messages.SendMediaRequest(peer=peer, media=media, message=plan.text,
                                               random_id=plan.random_id)


def _outcome(result: Any, random_id: int) -> tuple[int | None, datetime | None, dict | None]:
    """(message id, date, media) of our message in Telegram's answer to the send."""
    if isinstance(result, types.UpdateShortSentMessage):
        return result.id, result.date, None
    updates = getattr(result, "updates", None) or ([result.update] if hasattr(result, "update") else [])
    message_id = next((u.id for u in updates if isinstance(u, types.UpdateMessageID)
                       and u.random_id == random_id), None)
    for update in updates:
        message = getattr(update, "message", None)
        if isinstance(update, (types.UpdateNewMessage, types.UpdateNewChannelMessage)) \
                and isinstance(message, types.Message) and (message_id is None or message.id == message_id):
            return message.id, message.date, media_of(message)
    return message_id, getattr(result, "date", None), None


async def _flood_wait(conn: Connection, plan: SendPlan, seconds: int) -> None:
    until = utcnow() + timedelta(seconds=seconds + _jitter(seconds))
    conn.paused_until = max(filter(None, (conn.paused_until, until)))
    await conn.runtime.db(store.requeue, plan.message_id, until)
    if seconds >= conn.runtime.config.long_flood_seconds:
        minutes = max(1, round(seconds / 60))
        conn.limit_detail = said(N_("Telegram asked this account to wait %(minutes)s min before sending "
                                    "more (FloodWait)."), minutes=minutes)
        await conn.set_status(AccountStatus.LIMITED, limited_until=until, detail=conn.limit_detail)
    conn.wake_at(until)
    log.info("account %s: FloodWait %ss, message %s due at %s", conn.account_id, seconds, plan.message_id,
             until.isoformat())


async def _peer_flood(conn: Connection, plan: SendPlan) -> None:
    until = utcnow() + timedelta(hours=conn.runtime.config.peer_flood_hours)
    conn.paused_until = until
    await conn.runtime.db(store.requeue, plan.message_id, None)
    conn.limit_detail = said(N_("Telegram limited this account for sending too many first messages "
                                "(PeerFlood). Its queued messages wait until the limit ends."))
    await conn.set_status(AccountStatus.LIMITED, limited_until=until, detail=conn.limit_detail)
    conn.wake_at(until)
    log.warning("account %s: PeerFlood; sending paused until %s", conn.account_id, until.isoformat())


async def _refused(conn: Connection, plan: SendPlan, exc: Exception) -> None:
    runtime = conn.runtime
    for kind, reason in PERMANENT:
        if isinstance(exc, kind):
            await runtime.db(store.fail, plan.message_id, reason)
            return
    ended = session_ended(exc)
    if ended is not None:
        if ended.status in (AccountStatus.BANNED, AccountStatus.DEACTIVATED):
            await runtime.db(store.fail, plan.message_id, in_words(ended.detail))  # the message's, in English
        else:
            await runtime.db(store.requeue, plan.message_id, None)  # goes after the next login
        conn.end(ended)
        return
    if conn.ended:  # cut off by the session's end (another send saw it): goes after the next login
        await runtime.db(store.retry_sending, plan.message_id, None)
        return
    attempts = plan.attempts + 1
    if attempts >= MAX_ATTEMPTS:
        await runtime.db(store.fail, plan.message_id, f"Telegram kept refusing this message ({exc}).")
        return
    later = utcnow() + timedelta(seconds=min(30 * 2 ** attempts, 3600))
    answered = isinstance(exc, errors.RPCError)  # else the request may have reached Telegram
    log.warning("account %s: message %s not sent (%s); retry at %s", conn.account_id, plan.message_id,
                type(exc).__name__, later.isoformat(), exc_info=not answered)
    await runtime.db(store.requeue if answered else store.retry_sending, plan.message_id, later)
    conn.wake_at(later)


async def sweep(conn: Connection) -> None:
    """Send whatever is due for the account (also what a crash left in ``sending``)."""
    if conn.paused_until and conn.paused_until > utcnow():
        conn.wake_at(conn.paused_until)
        return
    for message_id in await conn.runtime.db(store.due, conn.account_id, utcnow()):
        if not conn.online:
            return
        await send(conn, message_id)
    later = await conn.runtime.db(store.next_due, conn.account_id)
    if later is not None:
        conn.wake_at(later)


async def mark_read(conn: Connection, target: ReadTarget) -> None:
    """Tell Telegram the chat is read up to ``target.max_id`` (unless it already knows)."""
    if target.account_id != conn.account_id:
        return
    if target.max_id > conn.telegram_read.get(target.peer_id, 0):
        async with conn.lock:
            await conn.send_read(target.peer_id, target.access_hash, target.max_id)

