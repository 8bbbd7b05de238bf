"""Records -> TL objects, as one account sees them (access hashes and ``out`` are per viewer)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from telethon.tl import types

from app.integrations.telegram.sandbox import mailbox as log
from app.integrations.telegram.sandbox.mailbox import Entry, Mailbox
from app.integrations.telegram.sandbox.mailbox import StoredMessage as Stored
from app.integrations.telegram.sandbox.records import Account, Media, Profile

DC_ID = 2  # Telethon's default DC: media on it downloads through the same (sandbox) sender


def when(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def access_hash(secret: bytes, viewer_id: int, target_id: int) -> int:
    """Stable per (viewer, target), like Telegram's: another account's hash for a user is refused."""
    digest = hashlib.blake2b(f"{viewer_id}:{target_id}".encode(), key=secret, digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def user(profile: Profile, viewer: Account, secret: bytes) -> types.User:
    return types.User(
        id=profile.id, is_self=profile.id == viewer.profile.id, contact=profile.id in viewer.contacts,
        access_hash=access_hash(secret, viewer.profile.id, profile.id),
        first_name=profile.first_name, last_name=profile.last_name or None, username=profile.username,
        phone=profile.phone, status=types.UserStatusRecently(),
    )


def media(item: Media | None) -> types.TypeMessageMedia | None:
    if item is None:
        return None
    if item.kind == "photo":
        return types.MessageMediaPhoto(photo=types.Photo(
            id=item.id, access_hash=item.access_hash, file_reference=item.file_reference,
            date=when(item.date), dc_id=DC_ID,
            sizes=[types.PhotoSize(type="y", w=item.width, h=item.height, size=len(item.data))],
        ))
    attributes: list[types.TypeDocumentAttribute] = []
    if item.file_name:
        attributes.append(types.DocumentAttributeFilename(item.file_name))
    return types.MessageMediaDocument(document=types.Document(
        id=item.id, access_hash=item.access_hash, file_reference=item.file_reference, date=when(item.date),
        mime_type=item.mime_type, size=len(item.data), dc_id=DC_ID, attributes=attributes,
    ))


def message(stored: Stored, owner_id: int) -> types.Message:
    return types.Message(
        id=stored.id, peer_id=types.PeerUser(stored.peer_id), date=when(stored.date), message=stored.text,
        out=stored.out, from_id=types.PeerUser(owner_id) if stored.out else None,
        media=media(stored.media), edit_date=when(stored.edit_date) if stored.edit_date else None,
        entities=stored.entities,
    )


def update(entry: Entry, mailbox: Mailbox, owner_id: int) -> types.TypeUpdate | None:
    """The update a log entry stands for; None for a new message deleted since (getDifference skips it)."""
    peer = types.PeerUser(entry.peer_id)
    if entry.kind in (log.NEW, log.EDIT):
        stored = mailbox.messages.get(entry.message_ids[0])
        if stored is None:
            return None
        kind = types.UpdateNewMessage if entry.kind == log.NEW else types.UpdateEditMessage
        return kind(message(stored, owner_id), entry.pts, entry.pts_count)
    if entry.kind == log.DELETE:
        return types.UpdateDeleteMessages(list(entry.message_ids), entry.pts, entry.pts_count)
    if entry.kind == log.READ_INBOX:
        still = mailbox.unread_count(entry.peer_id) if entry.peer_id in mailbox.dialogs else 0
        return types.UpdateReadHistoryInbox(peer, entry.max_id, still, entry.pts, entry.pts_count)
    if entry.kind == log.READ_OUTBOX:
        return types.UpdateReadHistoryOutbox(peer, entry.max_id, entry.pts, entry.pts_count)
    raise ValueError(f"unknown log entry kind {entry.kind!r}")


def dialog(mailbox: Mailbox, peer_id: int) -> types.Dialog:
    state = mailbox.dialogs[peer_id]
    top = mailbox.top_message(peer_id)
    return types.Dialog(
        peer=types.PeerUser(peer_id), top_message=top.id if top else 0,
        read_inbox_max_id=state.read_inbox_max_id, read_outbox_max_id=state.read_outbox_max_id,
        unread_count=mailbox.unread_count(peer_id), unread_mentions_count=0, unread_reactions_count=0,
        unread_poll_votes_count=0, notify_settings=types.PeerNotifySettings(),
    )


def state(mailbox: Mailbox, date: datetime) -> types.updates.State:
    unread = sum(mailbox.unread_count(peer_id) for peer_id in mailbox.dialogs)
    return types.updates.State(pts=mailbox.pts, qts=0, date=date, seq=0, unread_count=unread)
