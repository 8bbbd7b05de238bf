"""messages.*: dialogs, history, sending (deduplicated on random_id), reading, editing, deleting."""

from __future__ import annotations

from datetime import UTC, datetime

from telethon.tl import functions, types

from app.integrations.telegram.sandbox import render
from app.integrations.telegram.sandbox.handlers.base import Call, handles
from app.integrations.telegram.sandbox.mailbox import Entry, StoredMessage
from app.integrations.telegram.sandbox.records import Media, Profile

_PAGE_MAX = 100  # Telegram's cap on dialogs/messages per call
_MESSAGE_MAX = 4096


def _timestamp(value: datetime | int | None) -> int:
    return int(value.timestamp()) if isinstance(value, datetime) else int(value or 0)


def _users(call: Call, peer_ids) -> list[types.User]:
    ids = {call.account.profile.id, *peer_ids}
    return [call.user(call.world.profiles[i]) for i in sorted(ids)]


@handles(functions.messages.GetDialogsRequest)
def get_dialogs(call: Call, request: functions.messages.GetDialogsRequest) -> object:
    """Newest conversation first; ``offset_id``/``offset_date`` continue after the previous page."""
    mailbox = call.account.mailbox
    if request.folder_id:  # nothing is archived in the sandbox
        return types.messages.Dialogs([], [], [], [])
    tops = sorted(filter(None, map(mailbox.top_message, mailbox.dialogs)), key=lambda m: m.id, reverse=True)
    rest = tops
    if request.offset_id:
        rest = [m for m in tops if m.id < request.offset_id]
    elif request.offset_date:
        rest = [m for m in tops if m.date < _timestamp(request.offset_date)]
    page = rest[:min(request.limit, _PAGE_MAX)]
    owner = call.account.profile.id
    dialogs = [render.dialog(mailbox, m.peer_id) for m in page]
    messages = [render.message(m, owner) for m in page]
    users = _users(call, (m.peer_id for m in page))
    if len(page) == len(tops):
        return types.messages.Dialogs(dialogs, messages, [], users)
    return types.messages.DialogsSlice(len(tops), dialogs, messages, [], users)


@handles(functions.messages.GetPeerDialogsRequest)
def get_peer_dialogs(call: Call, request: functions.messages.GetPeerDialogsRequest) -> object:
    mailbox, owner = call.account.mailbox, call.account.profile.id
    peers = [call.resolve(p.peer).id for p in request.peers if isinstance(p, types.InputDialogPeer)]
    known = [p for p in peers if p in mailbox.dialogs]
    tops = [m for m in map(mailbox.top_message, known) if m]
    return types.messages.PeerDialogs(
        [render.dialog(mailbox, p) for p in known], [render.message(m, owner) for m in tops], [],
        _users(call, known), render.state(mailbox, datetime.now(UTC)))


@handles(functions.messages.GetHistoryRequest)
def get_history(call: Call, request: functions.messages.GetHistoryRequest) -> object:
    """Telegram's paging: start below ``offset_id`` (or ``offset_date``), shift by ``add_offset``
    (negative reaches newer messages, which ``iter_messages(reverse=True)`` uses), take ``limit``,
    then keep ids strictly between ``min_id`` and ``max_id``."""
    peer = call.resolve(request.peer)
    history = call.account.mailbox.history(peer.id)  # newest first
    start = 0
    if request.offset_id:
        start = next((i for i, m in enumerate(history) if m.id < request.offset_id), len(history))
    elif request.offset_date:
        cutoff = _timestamp(request.offset_date)
        start = next((i for i, m in enumerate(history) if m.date < cutoff), len(history))
    low = start + request.add_offset
    high = low + min(request.limit, _PAGE_MAX)
    page = history[max(low, 0):max(high, 0)]
    page = [m for m in page if (not request.max_id or m.id < request.max_id) and m.id > request.min_id]
    owner = call.account.profile.id
    messages = [render.message(m, owner) for m in page]
    users = _users(call, [peer.id])
    if len(page) == len(history):
        return types.messages.Messages(messages, [], [], users)
    return types.messages.MessagesSlice(len(history), messages, [], [], users)


@handles(functions.messages.GetMessagesRequest)
def get_messages(call: Call, request: functions.messages.GetMessagesRequest) -> types.messages.Messages:
    mailbox, owner = call.account.mailbox, call.account.profile.id
    found: list[types.TypeMessage] = []
    for wanted in request.id:
        wanted_id = getattr(wanted, "id", 0)  # only InputMessageID points into a private chat
        stored = mailbox.messages.get(wanted_id)
        found.append(render.message(stored, owner) if stored else types.MessageEmpty(id=wanted_id))
    peers = [mailbox.messages[m.id].peer_id for m in found if isinstance(m, types.Message)]
    return types.messages.Messages(found, [], [], _users(call, peers))


def _send(call: Call, peer: Profile, text: str, *, media: Media | None, random_id: int,
          entities: list | None) -> tuple[StoredMessage, bool]:
    """Store an outgoing message once per ``random_id``; True when this call created it."""
    account = call.account
    mailbox = account.mailbox
    if random_id in mailbox.random_ids:
        original = mailbox.messages.get(mailbox.random_ids[random_id])
        if original is None:
            raise call.error(400, "RANDOM_ID_DUPLICATE")  # the original was deleted since
        return original, False
    if account.peer_flooded and peer.id != account.profile.id \
            and not any(not m.out for m in mailbox.history(peer.id)):
        raise call.error(400, "PEER_FLOOD")
    message, entry = mailbox.add(peer.id, out=True, text=text, media=media, random_id=random_id,
                                 entities=entities)
    call.world.push_entry(account, entry, exclude=call.sender)  # the account's other sessions
    if peer.id != account.profile.id:
        other = call.world.account_by_id(peer.id)
        if other is not None:
            call.world.deliver(other, account.profile, text, media=media)
        elif peer.id in call.world.people:
            call.world.schedule_reply(account, call.world.people[peer.id])
    return message, True


def _check_text(call: Call, text: str, *, allow_empty: bool = False) -> None:
    if not text.strip() and not allow_empty:
        raise call.error(400, "MESSAGE_EMPTY")
    if len(text) > _MESSAGE_MAX:
        raise call.error(400, "MESSAGE_TOO_LONG")


@handles(functions.messages.SendMessageRequest)
def send_message(call: Call, request: functions.messages.SendMessageRequest) -> types.UpdateShortSentMessage:
    """Answered with ``updateShortSentMessage``, as Telegram does for a private chat; a repeated
    ``random_id`` gets the original message back and stores nothing."""
    peer = call.resolve(request.peer)
    _check_text(call, request.message)
    message, _ = _send(call, peer, request.message, media=None, random_id=request.random_id,
                       entities=request.entities)
    return types.UpdateShortSentMessage(
        id=message.id, pts=message.pts, pts_count=1, date=render.when(message.date), out=True,
        entities=message.entities)


def _input_media(call: Call, media: object) -> Media:
    world = call.world
    if isinstance(media, (types.InputMediaUploadedPhoto, types.InputMediaUploadedDocument)):
        parts = world.uploads.pop(media.file.id, {})
        if len(parts) != media.file.parts:
            raise call.error(400, "FILE_PARTS_INVALID")
        data = b"".join(parts[i] for i in sorted(parts))
        if isinstance(media, types.InputMediaUploadedPhoto):
            return world.new_media("photo", data, mime_type="image/jpeg", width=1280, height=720)
        name = next((a.file_name for a in media.attributes if isinstance(a, types.DocumentAttributeFilename)),
                    media.file.name)
        return world.new_media("document", data, mime_type=media.mime_type, file_name=name)
    if isinstance(media, (types.InputMediaPhoto, types.InputMediaDocument)):
        existing = world.media.get(getattr(media.id, "id", 0))
        if existing is None or existing.access_hash != media.id.access_hash:
            raise call.error(400, "MEDIA_INVALID")
        return existing
    raise call.error(400, "MEDIA_INVALID")


@handles(functions.messages.SendMediaRequest)
def send_media(call: Call, request: functions.messages.SendMediaRequest) -> types.Updates:
    """Answered with ``updates`` [updateMessageID, updateNewMessage], as Telegram does for media."""
    peer = call.resolve(request.peer)
    _check_text(call, request.message, allow_empty=True)
    existing = call.account.mailbox.random_ids.get(request.random_id)
    media = None if existing else _input_media(call, request.media)
    message, _ = _send(call, peer, request.message, media=media, random_id=request.random_id,
                       entities=request.entities)
    owner = call.account.profile.id
    new = types.UpdateNewMessage(render.message(message, owner), message.pts, 1)
    return types.Updates([types.UpdateMessageID(message.id, request.random_id), new],
                         _users(call, [peer.id]), [], render.when(message.date), 0)


@handles(functions.messages.ReadHistoryRequest)
def read_history(call: Call, request: functions.messages.ReadHistoryRequest) -> object:
    account = call.account
    peer = call.resolve(request.peer)
    entry = account.mailbox.read_inbox(peer.id, request.max_id)
    if entry is None:
        return types.messages.AffectedMessages(pts=account.mailbox.pts, pts_count=0)
    call.world.push_entry(account, entry, exclude=call.sender)
    other = call.world.account_by_id(peer.id)
    if other is not None and other is not account:  # the writer sees their messages read
        read = other.mailbox.read_outbox(account.profile.id)
        if read:
            call.world.push_entry(other, read)
    return types.messages.AffectedMessages(pts=entry.pts, pts_count=entry.pts_count)


def _affected(call: Call, entry: Entry) -> types.Updates:
    call.world.push_entry(call.account, entry, exclude=call.sender)
    update = render.update(entry, call.account.mailbox, call.account.profile.id)
    return types.Updates([update], _users(call, [entry.peer_id]), [], render.when(entry.date), 0)


@handles(functions.messages.EditMessageRequest)
def edit_message(call: Call, request: functions.messages.EditMessageRequest) -> types.Updates:
    """Edits the account's own copy only (the other side of an account-to-account chat keeps its own)."""
    peer = call.resolve(request.peer)
    stored = call.account.mailbox.messages.get(request.id)
    if stored is None or stored.peer_id != peer.id or not stored.out:
        raise call.error(400, "MESSAGE_ID_INVALID")
    text = stored.text if request.message is None else request.message
    if text == stored.text and (request.entities or None) == stored.entities:
        raise call.error(400, "MESSAGE_NOT_MODIFIED")
    _check_text(call, text, allow_empty=stored.media is not None)
    return _affected(call, call.account.mailbox.edit(request.id, text, request.entities))


@handles(functions.messages.DeleteMessagesRequest)
def delete_messages(call: Call, request: functions.messages.DeleteMessagesRequest) -> object:
    mailbox = call.account.mailbox
    entry = mailbox.delete(list(request.id))
    if entry is None:
        return types.messages.AffectedMessages(pts=mailbox.pts, pts_count=0)
    call.world.push_entry(call.account, entry, exclude=call.sender)
    return types.messages.AffectedMessages(pts=entry.pts, pts_count=entry.pts_count)


@handles(functions.messages.SetTypingRequest)
def set_typing(call: Call, request: functions.messages.SetTypingRequest) -> bool:
    call.resolve(request.peer)
    return True
