"""Mirroring an account's private chats: the first import, reconciles, and live updates.

- First connect: the newest ``sync_dialogs`` dialogs with their newest ``sync_messages_per_dialog``
  messages (account config), in pages; no events for old history, one ``inbox.synced`` at the end.
- Reconcile (after every (re)connect and every few minutes): the dialog list again; a dialog whose
  top message is newer than what we hold gets its history from there (``min_id``), so what arrived
  while nobody listened appears, announced as if live.
- Live: new messages (theirs, and ours from other devices), edits, deletions, read receipts.

Everything that writes runs under the connection's lock, so a reconcile and live updates of one
account never interleave, and dedupe by (chat, Telegram id) makes a message seen twice harmless.
Only private chats with people are mirrored: groups, channels, bots, Saved Messages and Telegram's
service notifications are skipped.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from telethon import events, types, utils
from telethon.tl.custom.message import Message as TgMessage

from app.blueprints.messaging.public import Item, Marks, Peer, store

if TYPE_CHECKING:
    from app.integrations.telegram.runtime.connection import Connection

log = logging.getLogger(__name__)
SERVICE_USER_ID = 777000  # Telegram's own notifications (login codes)


# -- Telethon objects -> what the store keeps ---------------------------------------------------

def person(user: Any) -> Peer | None:
    """A Telegram user we mirror chats with; None for bots, ourselves, Telegram, non-users."""
    if not isinstance(user, types.User) or user.bot or user.is_self or user.id == SERVICE_USER_ID:
        return None
    return Peer(user_id=user.id, access_hash=user.access_hash, first_name=user.first_name or "",
                last_name=user.last_name or "", username=user.username, phone=user.phone)


def media_of(message: Any) -> dict[str, Any] | None:
    """Metadata of a message's photo, document, voice, video, sticker or audio (bytes on demand)."""
    media = getattr(message, "media", None)
    if media is None or isinstance(media, types.MessageMediaWebPage):
        return None
    if isinstance(media, types.MessageMediaPhoto) and isinstance(media.photo, types.Photo):
        sizes = [s for s in media.photo.sizes if hasattr(s, "w")]
        largest = max(sizes, key=lambda s: s.w * s.h, default=None)
        size = getattr(largest, "size", None) or max(getattr(largest, "sizes", None) or [0])
        return {"kind": "photo", "mime_type": "image/jpeg", "size": size or None,
                "width": getattr(largest, "w", None), "height": getattr(largest, "h", None)}
    if isinstance(media, types.MessageMediaDocument) and isinstance(media.document, types.Document):
        document = media.document
        info: dict[str, Any] = {"kind": "document", "mime_type": document.mime_type, "size": document.size}
        for attribute in document.attributes:
            if isinstance(attribute, types.DocumentAttributeFilename):
                info["file_name"] = attribute.file_name
            elif isinstance(attribute, types.DocumentAttributeAudio):
                info["kind"] = "voice" if attribute.voice else "audio"
                info["duration"] = attribute.duration
            elif isinstance(attribute, types.DocumentAttributeVideo):
                info["kind"] = "video"
                info.update(duration=attribute.duration, width=attribute.w, height=attribute.h)
            elif isinstance(attribute, types.DocumentAttributeSticker):
                info["kind"] = "sticker"
            elif isinstance(attribute, types.DocumentAttributeImageSize):
                info.update(width=attribute.w, height=attribute.h)
        return info
    return {"kind": "other", "type": type(media).__name__}


def item(message: TgMessage) -> Item | None:
    """A plain message (service messages such as calls or joins are not mirrored)."""
    if not isinstance(message, types.Message):
        return None
    return Item(telegram_id=message.id, out=bool(message.out), text=message.message or "",
                date=message.date, edited_at=message.edit_date, media=media_of(message))


def marks(dialog: Any) -> Marks:
    raw = dialog.dialog
    return Marks(unread_count=raw.unread_count, read_inbox_max_id=raw.read_inbox_max_id,
                 read_outbox_max_id=raw.read_outbox_max_id)


# -- dialogs: first import and reconcile --------------------------------------------------------

async def sync_dialogs(conn: Connection, *, first: bool) -> int:
    """Import (``first``) or reconcile the account's dialogs; returns how many messages were new.

    A reconcile reads the newest ``sync_dialogs`` dialogs (their read marks and unread counts,
    and sends Telegram a read mark made here while it was out of reach), then goes on down the
    list only while dialogs have messages newer than any we hold: message ids grow across an
    account's private chats, so below the first one that has none, every dialog is older too.
    Call with ``conn.lock`` held.
    """
    client, runtime = conn.client, conn.runtime
    config = conn.info.config
    if first and not config["sync_dialogs"]:
        return 0
    held = await runtime.db(store.watermarks, conn.account_id)
    high_water = max(held.values(), default=0)
    new = seen = 0
    async with conn.patient():
        async for dialog in client.iter_dialogs(limit=config["sync_dialogs"] if first else None,
                                                ignore_migrated=True):
            seen += 1
            top = dialog.message.id if dialog.message else 0
            if not first and seen > config["sync_dialogs"] and not dialog.pinned and top <= high_water:
                break
            peer = person(dialog.entity)
            if peer is not None:
                new += await _sync_dialog(conn, dialog, peer, held.get(peer.user_id), first=first)
    return new


async def _sync_dialog(conn: Connection, dialog: Any, peer: Peer, known: int | None, *, first: bool) -> int:
    """One dialog: its messages newer than ``known`` (all recent ones when new to us), read marks."""
    client, runtime = conn.client, conn.runtime
    per_dialog = conn.info.config["sync_messages_per_dialog"]
    top = dialog.message.id if dialog.message else 0
    messages: list[TgMessage] = []
    if known is None and (per_dialog or not first):
        # New to us: its recent history (after an outage, at least what was missed).
        limit = per_dialog if first else max(per_dialog, 20)
        messages = await client.get_messages(dialog.input_entity, limit=limit)
    elif known is not None and top > known:
        messages = await client.get_messages(dialog.input_entity, limit=runtime.config.reconcile_cap,
                                             min_id=known)
    items = [i for i in map(item, messages) if i is not None]
    saved = await runtime.db(store.import_dialog, conn.account_id, conn.org_id, peer, marks(dialog), items,
                             announce=not first)
    conn.telegram_read[peer.user_id] = dialog.dialog.read_inbox_max_id
    if saved.read_behind:
        await conn.send_read(peer.user_id, peer.access_hash, saved.read_behind)
    return len(saved.new_ids)


# -- live updates -------------------------------------------------------------------------------

def install_handlers(conn: Connection) -> None:
    client = conn.client

    async def on_message(event: events.NewMessage.Event) -> None:
        await _live(conn, event.message, store.receive)

    async def on_edit(event: events.MessageEdited.Event) -> None:
        await _live(conn, event.message, store.edit)

    async def on_delete(event: events.MessageDeleted.Event) -> None:
        if event.chat_id is not None:  # a channel's deletion: not mirrored
            return
        async with conn.lock:
            await conn.runtime.db(store.delete, conn.account_id, list(event.deleted_ids))

    async def on_read(event: events.MessageRead.Event) -> None:
        update = event.original_update
        peer = getattr(update, "peer", None)
        if not isinstance(peer, types.PeerUser):
            return
        still = getattr(update, "still_unread_count", None)
        if event.inbox:
            conn.telegram_read[peer.user_id] = max(conn.telegram_read.get(peer.user_id, 0), event.max_id)
        async with conn.lock:
            await conn.runtime.db(store.read, conn.account_id, peer.user_id, inbox=event.inbox,
                                  max_id=event.max_id, still_unread=still)

    client.add_event_handler(on_message, events.NewMessage(func=lambda e: e.is_private))
    client.add_event_handler(on_edit, events.MessageEdited(func=lambda e: e.is_private))
    client.add_event_handler(on_delete, events.MessageDeleted())
    client.add_event_handler(on_read, events.MessageRead(inbox=True))  # we read theirs elsewhere
    client.add_event_handler(on_read, events.MessageRead(inbox=False))  # they read ours


async def _live(conn: Connection, message: TgMessage, write) -> None:
    plain = item(message)
    if plain is None:
        return
    try:
        peer = await _peer_of(conn, message)
    except Exception:
        log.warning("account %s: no user for message %s; left to the reconcile", conn.account_id,
                    message.id, exc_info=True)
        return
    if peer is None:
        return
    async with conn.lock:
        await conn.runtime.db(write, conn.account_id, conn.org_id, peer, plain)


async def _peer_of(conn: Connection, message: TgMessage) -> Peer | None:
    """The user on the other side; Telethon usually has them cached from the update itself."""
    if not isinstance(message.peer_id, types.PeerUser):
        return None
    chat = message.chat or await message.get_chat()
    if chat is None:
        # A short update from someone Telethon has not cached: ask for the message with its users.
        fetched = await conn.client.get_messages(None, ids=[message.id])
        chat = fetched[0].chat if fetched and fetched[0] else None
    if chat is None:
        raise LookupError(f"user {utils.get_peer_id(message.peer_id)} unknown")
    return person(chat)
