"""The sandbox Telegram: accounts, people, their conversations, and the connections of every client.

One ``World`` serves any number of clients and accounts (a demo runs 200), from any thread or event
loop: state changes happen under one lock, and updates reach each client on its own loop. Requests
are answered by ``handlers``; this module holds the state and the scripted side (people writing,
QR codes being scanned, floods, lost connections) that tests and the demo drive.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from telethon.crypto import AuthKey
from telethon.sessions import StringSession
from telethon.tl import functions, types
from telethon.tl.tlobject import TLObject, TLRequest

from app.integrations.telegram.sandbox import prospects, render, wire
from app.integrations.telegram.sandbox.errors import tl_name
from app.integrations.telegram.sandbox.mailbox import NEW, Entry, StoredMessage
from app.integrations.telegram.sandbox.records import Account, Media, Person, Profile, Session

if TYPE_CHECKING:
    from app.integrations.telegram.sandbox.sender import SandboxSender

TEST_PHONE = re.compile(r"^99966(\d)\d{4}$")
SEND_REQUESTS = (functions.messages.SendMessageRequest, functions.messages.SendMediaRequest)
DEFAULT_REPLIES = (
    "Thanks, got it!",
    "Sounds interesting. Could you tell me more?",
    "Can we talk next week?",
    "Sure, send over the details.",
    "Not right now, maybe next quarter.",
)


def normalize_phone(phone: str | int) -> str:
    return re.sub(r"\D", "", str(phone))


def new_session_string() -> str:
    """A ``StringSession`` string with a fresh auth key that no world knows yet (see ``adopt_session``)."""
    session = StringSession()
    session.set_dc(render.DC_ID, "149.154.167.51", 443)
    session.auth_key = AuthKey(os.urandom(256))
    return session.save()


def login_code(phone: str) -> str:
    """Telegram's test convention: 99966XYYYY signs in with X five times (9996621234 -> 22222)."""
    match = TEST_PHONE.match(normalize_phone(phone))
    if not match:
        raise ValueError(f"{phone} is not a test number (99966XYYYY)")
    return match.group(1) * 5


class World:
    """Shared state of the sandbox. Populate it, hand it to ``sandbox_client``, script it in tests.

    ``reply_delay``: seconds before a person answers a message (None: people never answer by
    themselves); prospects wait a multiple of it (``prospects``). ``auto_register``: a test number
    unknown to the world gets an account on first ``auth.sendCode`` instead of a sign-up flow.
    ``difference_limit``: updates per getDifference answer before it is cut into a
    ``DifferenceSlice``. ``welcome``: called with each account the world registers on a first
    sign-in (``auto_register``), e.g. to give it conversations.
    ``secret``: what access hashes derive from (random by default); a fixed one keeps them stable
    across restarts, as Telegram's are, so stored chats stay valid.
    """

    def __init__(self, *, reply_delay: float | None = 2.0, replies: Sequence[str] = DEFAULT_REPLIES,
                 auto_register: bool = True, difference_limit: int = 100, qr_ttl: float = 30.0,
                 welcome: Callable[[World, Account], None] | None = None, secret: bytes | None = None):
        self.lock = threading.RLock()
        self.reply_delay = reply_delay
        self.replies = list(replies)
        self.auto_register = auto_register
        self.difference_limit = difference_limit
        self.qr_ttl = qr_ttl
        self.welcome = welcome
        self.secret = secret or os.urandom(16)
        self.profiles: dict[int, Profile] = {}
        self.accounts: dict[str, Account] = {}
        self.people: dict[int, Person] = {}
        self.sessions: dict[int, Session] = {}
        self.media: dict[int, Media] = {}
        self.uploads: dict[int, dict[int, bytes]] = {}  # file_id -> part -> bytes, per upload.saveFilePart
        self.login_tokens: dict[bytes, tuple[int, float, Account | None]] = {}  # key_id, expires, scanned by
        self.calls: deque[tuple[str | None, str]] = deque(maxlen=10_000)  # (phone, TL name) per request
        self._ids = itertools.count(7_000_000_001)
        self._pending_replies: set[tuple[str, int]] = set()

    # -- population ---------------------------------------------------------------------------

    def add_account(self, phone: str | int, *, first_name: str | None = None, last_name: str = "",
                    username: str | None = None, password: str | None = None, hint: str = "") -> Account:
        phone = normalize_phone(phone)
        login_code(phone)  # refuses anything but a test number
        with self.lock:
            if phone in self.accounts:
                raise ValueError(f"account {phone} already exists")
            profile = self._profile(first_name or f"Sandbox {phone[-4:]}", last_name, username, phone)
            account = Account(profile, password=password, hint=hint)
            self.accounts[phone] = account
            return account

    def add_person(self, first_name: str, last_name: str = "", *, username: str | None = None,
                   phone: str | None = None, replies: Sequence[str] | None = None,
                   auto_reply: bool = True) -> Person:
        with self.lock:
            phone = normalize_phone(phone) if phone else None
            profile = self._profile(first_name, last_name, username, phone)
            person = Person(profile, list(replies) if replies is not None else None, auto_reply)
            self.people[profile.id] = person
            return person

    def add_prospect(self, first_name: str, last_name: str = "", *, username: str | None = None,
                     phone: str | None = None, language: str = "en", persona: str | None = None) -> Person:
        """Someone the team may write to first: in no dialog, they react to an account's first message
        as ``persona`` says (``prospects.PERSONAS``; None: one derived from the world's secret and
        their id, 60% silent, 20% reply later, 10% ask a question, 10% opt out), in ``language``."""
        prospects.check(language, persona)
        with self.lock:
            person = self.add_person(first_name, last_name, username=username, phone=phone)
            person.language = language
            person.persona = persona or prospects.assign(self.secret, person.profile.id)
            return person

    def _profile(self, first_name: str, last_name: str, username: str | None, phone: str | None) -> Profile:
        if username and self.by_username(username):
            raise ValueError(f"username @{username} is taken")
        profile = Profile(next(self._ids), first_name, last_name, username, phone)
        self.profiles[profile.id] = profile
        return profile

    def account(self, phone: str | int) -> Account:
        return self.accounts[normalize_phone(phone)]

    def account_by_id(self, user_id: int) -> Account | None:
        profile = self.profiles.get(user_id)
        return self.accounts.get(profile.phone) if profile and profile.phone else None

    def by_username(self, username: str) -> Profile | None:
        wanted = username.lower()
        return next((p for p in self.profiles.values() if p.username and p.username.lower() == wanted), None)

    def register(self, phone: str | int) -> Account:
        """An account the world makes by itself (a test number signing in for the first time)."""
        with self.lock:
            account = self.add_account(phone)
            if self.welcome is not None:
                self.welcome(self, account)
            return account

    def login_session(self, phone: str | int) -> str:
        """A ``StringSession`` string already signed in to the account (skips the login flow)."""
        session = new_session_string()
        self.adopt_session(session, phone)
        return session

    def adopt_session(self, session: str, phone: str | int, *, after_message_id: int = 0) -> bool:
        """Admit a stored session as signed in to ``phone`` (adding the account if new).

        The sandbox lives in memory: after a restart it has forgotten the sessions the app sealed
        before. Only keys the world has never seen are admitted, so a session that was logged out
        or revoked stays that way. ``after_message_id``: the highest message id the app holds for
        the account; new messages are numbered after it, as Telegram's would be. Returns whether
        the key was admitted.
        """
        key = StringSession(session).auth_key
        if key is None:
            raise ValueError("the session has no auth key")
        phone = normalize_phone(phone)
        with self.lock:
            if key.key_id in self.sessions:
                return False
            # An account that signed in before a restart: its history is the app's already.
            account = self.accounts.get(phone) or self.add_account(phone)
            account.mailbox.last_id = max(account.mailbox.last_id, after_message_id)
            self.sessions[key.key_id] = Session(key.key_id, account=account)
            return True

    # -- what people do -----------------------------------------------------------------------

    def person_writes(self, person_id: int, phone: str | int, text: str = "", *, media: Media | None = None,
                      push: bool = True) -> StoredMessage:
        """A sandbox person sends the account a message.

        ``push=False`` records it (pts advances) but loses the push, as when Telegram's update never
        arrives: the client finds the gap at the next update and fetches it with getDifference.
        """
        with self.lock:
            account = self.account(phone)
            return self.deliver(account, self.profiles[person_id], text, media=media, push=push)

    def person_sends_photo(self, person_id: int, phone: str | int, data: bytes, *, width: int = 640,
                           height: int = 480, caption: str = "") -> StoredMessage:
        media = self.new_media("photo", data, mime_type="image/jpeg", width=width, height=height)
        return self.person_writes(person_id, phone, caption, media=media)

    def person_sends_document(self, person_id: int, phone: str | int, data: bytes, *, file_name: str,
                              mime_type: str = "application/octet-stream",
                              caption: str = "") -> StoredMessage:
        media = self.new_media("document", data, mime_type=mime_type, file_name=file_name)
        return self.person_writes(person_id, phone, caption, media=media)

    def new_media(self, kind: str, data: bytes, **fields) -> Media:
        with self.lock:
            media_id = next(self._ids)
            item = Media(media_id, render.access_hash(self.secret, 0, media_id), kind, data,
                         int(time.time()), **fields)
            self.media[media_id] = item
            return item

    def seed_outgoing(self, phone: str | int, peer_id: int, text: str) -> StoredMessage:
        """History the account wrote before the app arrived (no reply is scheduled)."""
        with self.lock:
            account = self.account(phone)
            message, entry = account.mailbox.add(peer_id, out=True, text=text)
            self.push_entry(account, entry)
            return message

    def accept_qr(self, token: bytes | str, phone: str | int) -> None:
        """The account's phone scans the QR code (``token`` bytes or the ``tg://login?token=`` URL)."""
        if isinstance(token, str):
            from base64 import urlsafe_b64decode

            raw = token.split("token=", 1)[-1]
            token = urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        with self.lock:
            key_id, expires, _ = self.login_tokens[token]
            if time.time() > expires:
                raise ValueError("the QR login token expired")
            self.login_tokens[token] = (key_id, expires, self.account(phone))
            update = types.UpdateShort(types.UpdateLoginToken(), render.when(int(time.time())))
            for sender in self.sessions[key_id].senders:
                sender.push(wire.copy(update))

    # -- failures on demand -------------------------------------------------------------------

    def flood_next(self, phone: str | int, seconds: int,
                   requests: Sequence[type[TLRequest]] = SEND_REQUESTS) -> None:
        """The account's next request of these types fails with FLOOD_WAIT_<seconds>, once."""
        with self.lock:
            account = self.account(phone)
            for request in requests:
                account.flood_next[tl_name(request)] = seconds

    def peer_flood(self, phone: str | int, on: bool = True) -> None:
        """While on, the account gets PEER_FLOOD when it writes to anyone who never wrote to it."""
        with self.lock:
            self.account(phone).peer_flooded = on

    def ban(self, phone: str | int) -> None:
        """Telegram bans the account: every request of its sessions fails USER_DEACTIVATED_BAN."""
        with self.lock:
            self.account(phone).banned = True

    def end_sessions(self, phone: str | int) -> None:
        """The owner ends every session of the account from their phone (Settings > Devices): each
        one's next request fails AUTH_KEY_UNREGISTERED; signing in again opens a new one."""
        with self.lock:
            account = self.account(phone)
            for session in self.sessions.values():
                if session.account is account:
                    session.account = None

    def drop_connections(self, phone: str | int) -> None:
        """The network under the account's clients goes away: no pushes, requests wait."""
        for sender in self._senders_of(self.account(phone)):
            sender.set_online(False)

    def restore_connections(self, phone: str | int) -> None:
        """The network comes back; clients that missed updates are told updatesTooLong."""
        for sender in self._senders_of(self.account(phone)):
            sender.set_online(True)

    def _senders_of(self, account: Account) -> list[SandboxSender]:
        with self.lock:
            return [s for session in self.sessions.values() if session.account is account
                    for s in session.senders]

    # -- inspection ---------------------------------------------------------------------------

    def messages(self, phone: str | int, peer_id: int) -> list[StoredMessage]:
        """The conversation as stored, oldest first."""
        with self.lock:
            return list(reversed(self.account(phone).mailbox.history(peer_id)))

    def requests_made(self, phone: str | int | None = None) -> list[str]:
        """TL names of the requests the peer answered (for one account's sessions, if given)."""
        wanted = normalize_phone(phone) if phone is not None else None
        with self.lock:
            return [name for who, name in self.calls if wanted is None or who == wanted]

    # -- the machinery handlers and senders use -----------------------------------------------

    def user(self, profile: Profile, viewer: Account) -> types.User:
        return render.user(profile, viewer, self.secret)

    def deliver(self, account: Account, sender: Profile, text: str, *, media: Media | None = None,
                push: bool = True) -> StoredMessage:
        """An incoming message lands in the account's mailbox and is pushed to its clients."""
        known = sender.id in account.mailbox.dialogs
        message, entry = account.mailbox.add(sender.id, out=False, text=text, media=media)
        if push:
            # Telegram sends the short form for plain text from a peer the client already knows.
            short = known and media is None
            self.push_entry(account, entry, short=short)
        return message

    def push_entry(self, account: Account, entry: Entry, *, exclude: SandboxSender | None = None,
                   short: bool = False) -> None:
        update = render.update(entry, account.mailbox, account.profile.id)
        if update is None:
            return
        date = render.when(entry.date)
        if short and entry.kind == NEW:
            stored = account.mailbox.messages[entry.message_ids[0]]
            obj: TLObject = types.UpdateShortMessage(
                id=stored.id, user_id=stored.peer_id, message=stored.text, pts=entry.pts,
                pts_count=entry.pts_count, date=date, out=stored.out)
        else:
            involved = [self.profiles[entry.peer_id]] if entry.peer_id else []
            obj = types.Updates([update], [self.user(p, account) for p in involved], [], date, 0)
        self.push(account, obj, exclude=exclude)

    def push(self, account: Account, obj: TLObject, *, exclude: SandboxSender | None = None) -> None:
        for session in list(self.sessions.values()):
            if session.account is not account:
                continue
            live = [s for s in session.senders if s.online and s is not exclude]
            for sender in live:
                sender.push(wire.copy(obj))
            if not live and exclude not in session.senders:
                session.missed_updates = True

    def schedule_reply(self, account: Account, person: Person) -> None:
        """The person answers after ``reply_delay`` on the caller's loop (one pending answer per chat);
        a prospect reacts to the account's first message only, as their persona says."""
        first = person.persona is not None and person.profile.id not in account.approached
        if person.persona is not None:
            account.approached.add(person.profile.id)
        key = (account.phone, person.profile.id)
        if self.reply_delay is None or not person.auto_reply or key in self._pending_replies:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (seeding from plain code): nobody is listening for the answer anyway
        if person.persona is not None:
            for delay, text in prospects.reaction(self, account, person) if first else ():
                loop.call_later(delay, self._reply, account, person, text)
            return
        self._pending_replies.add(key)
        loop.call_later(self.reply_delay, self._reply, account, person)

    def _reply(self, account: Account, person: Person, text: str | None = None) -> None:
        with self.lock:
            self._pending_replies.discard((account.phone, person.profile.id))
            read = account.mailbox.read_outbox(person.profile.id)
            if read:
                self.push_entry(account, read)
            replies = person.replies or self.replies
            count = account.reply_counts.get(person.profile.id, 0)
            account.reply_counts[person.profile.id] = count + 1
            self.deliver(account, person.profile, text or replies[count % len(replies)])

    def session(self, key_id: int) -> Session:
        with self.lock:
            return self.sessions.setdefault(key_id, Session(key_id))

    def attach(self, sender: SandboxSender) -> None:
        with self.lock:
            session = self.session(sender.key_id)
            session.senders.add(sender)
            if session.account is not None and session.missed_updates:
                session.missed_updates = False
                sender.push(types.UpdatesTooLong())

    def detach(self, sender: SandboxSender) -> None:
        with self.lock:
            self.session(sender.key_id).senders.discard(sender)

    def back_online(self, sender: SandboxSender) -> None:
        with self.lock:
            session = self.session(sender.key_id)
            if session.account is not None and session.missed_updates:
                session.missed_updates = False
                sender.push(types.UpdatesTooLong())

    def handle(self, sender: SandboxSender, request: TLRequest) -> object:
        """Answer one request from ``sender`` as Telegram would, or raise its RPC error."""
        from app.integrations.telegram.sandbox.handlers import dispatch

        with self.lock:
            session = self.session(sender.key_id)
            inner = _unwrap(request)
            self.calls.append((session.account.phone if session.account else None, tl_name(inner)))
            return wire.answer(inner, dispatch(self, session, sender, inner))


def _unwrap(request: TLRequest) -> TLRequest:
    # invokeWithLayer(initConnection(help.getConfig)) and friends: answer the innermost query.
    while isinstance(request, (functions.InvokeWithLayerRequest, functions.InitConnectionRequest,
                               functions.InvokeWithoutUpdatesRequest, functions.InvokeAfterMsgRequest)):
        request = request.query
    return request
