"""One account's side of Telegram: its messages, dialogs, and the pts-numbered log of changes.

Private-chat message ids and ``pts`` are per account on Telegram: each change that touches messages
(new, edited, deleted, read) advances ``pts`` by its ``pts_count``, and ``updates.getDifference``
replays the log from any earlier ``pts``. Pure state: the world locks, renders and pushes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.integrations.telegram.sandbox.records import Media

NEW, EDIT, DELETE, READ_INBOX, READ_OUTBOX = "new", "edit", "delete", "read_inbox", "read_outbox"


@dataclass
class StoredMessage:
    id: int
    peer_id: int  # the other side of the private chat
    out: bool
    text: str
    date: int
    pts: int
    media: Media | None = None
    random_id: int | None = None
    edit_date: int | None = None
    entities: list | None = None  # TL MessageEntity objects, as the client sent them


@dataclass(frozen=True)
class Entry:
    """One pts step: what changed, enough to rebuild the update for getDifference."""

    pts: int
    pts_count: int
    kind: str
    peer_id: int = 0
    message_ids: tuple[int, ...] = ()
    max_id: int = 0
    date: int = 0


@dataclass
class DialogState:
    read_inbox_max_id: int = 0
    read_outbox_max_id: int = 0


@dataclass
class Mailbox:
    pts: int = 1  # Telegram never hands out pts 0
    last_id: int = 0
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    by_peer: dict[int, list[int]] = field(default_factory=dict)  # ascending ids
    dialogs: dict[int, DialogState] = field(default_factory=dict)
    log: list[Entry] = field(default_factory=list)
    random_ids: dict[int, int] = field(default_factory=dict)  # random_id -> message id

    def _step(self, kind: str, count: int, **fields) -> Entry:
        self.pts += count
        entry = Entry(self.pts, count, kind, date=int(time.time()), **fields)
        self.log.append(entry)
        return entry

    def add(self, peer_id: int, *, out: bool, text: str, media: Media | None = None,
            random_id: int | None = None, entities: list | None = None) -> tuple[StoredMessage, Entry]:
        self.last_id += 1
        entry = self._step(NEW, 1, peer_id=peer_id, message_ids=(self.last_id,))
        message = StoredMessage(self.last_id, peer_id, out, text, entry.date, entry.pts, media, random_id,
                                entities=entities or None)
        self.messages[message.id] = message
        self.by_peer.setdefault(peer_id, []).append(message.id)
        self.dialogs.setdefault(peer_id, DialogState())
        if random_id is not None:
            self.random_ids[random_id] = message.id
        return message, entry

    def _ids(self, peer_id: int, *, out: bool) -> list[int]:
        return [i for i in self.by_peer.get(peer_id, []) if self.messages[i].out is out]

    def read_inbox(self, peer_id: int, max_id: int) -> Entry | None:
        state = self.dialogs.get(peer_id)
        if state is None:
            return None
        top = max(self._ids(peer_id, out=False), default=0)
        max_id = min(max_id or top, top)
        if max_id <= state.read_inbox_max_id:
            return None
        state.read_inbox_max_id = max_id
        return self._step(READ_INBOX, 1, peer_id=peer_id, max_id=max_id)

    def read_outbox(self, peer_id: int) -> Entry | None:
        state = self.dialogs.get(peer_id)
        top = max(self._ids(peer_id, out=True), default=0)
        if state is None or top <= state.read_outbox_max_id:
            return None
        state.read_outbox_max_id = top
        return self._step(READ_OUTBOX, 1, peer_id=peer_id, max_id=top)

    def edit(self, message_id: int, text: str, entities: list | None = None) -> Entry:
        message = self.messages[message_id]
        message.text, message.entities, message.edit_date = text, entities or None, int(time.time())
        return self._step(EDIT, 1, peer_id=message.peer_id, message_ids=(message_id,))

    def delete(self, message_ids: list[int]) -> Entry | None:
        gone = tuple(i for i in message_ids if i in self.messages)
        for i in gone:
            self.by_peer[self.messages.pop(i).peer_id].remove(i)
        return self._step(DELETE, len(gone), message_ids=gone) if gone else None

    def unread_count(self, peer_id: int) -> int:
        read = self.dialogs[peer_id].read_inbox_max_id
        return sum(1 for i in self._ids(peer_id, out=False) if i > read)

    def history(self, peer_id: int) -> list[StoredMessage]:
        """Newest first, as ``messages.getHistory`` pages it."""
        return [self.messages[i] for i in reversed(self.by_peer.get(peer_id, []))]

    def top_message(self, peer_id: int) -> StoredMessage | None:
        ids = self.by_peer.get(peer_id)
        return self.messages[ids[-1]] if ids else None

    def since(self, pts: int) -> list[Entry]:
        """Log entries after ``pts``; the log is in pts order, so bisect would do if it grew large."""
        return [entry for entry in self.log if entry.pts > pts]
