"""The sandbox's state as plain records: who exists, what was said, which sessions are signed in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.integrations.telegram.sandbox.mailbox import Mailbox
from app.integrations.telegram.sandbox.srp import Challenge, Verifier

if TYPE_CHECKING:
    from app.integrations.telegram.sandbox.sender import SandboxSender


@dataclass
class Profile:
    """A Telegram user as everyone sees it: an account of ours or a sandbox person."""

    id: int
    first_name: str
    last_name: str = ""
    username: str | None = None
    phone: str | None = None

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class Media:
    """A photo or document a sandbox person sent; ``data`` is what ``upload.getFile`` serves."""

    id: int
    access_hash: int
    kind: str  # "photo" | "document"
    data: bytes
    date: int
    mime_type: str = "application/octet-stream"
    file_name: str | None = None
    width: int = 0
    height: int = 0
    file_reference: bytes = b"\x01sandbox"


@dataclass
class Account:
    """A sandbox account that our app signs in to; it owns one mailbox (one pts sequence)."""

    profile: Profile
    password: str | None = None
    hint: str = ""
    mailbox: Mailbox = field(default_factory=Mailbox)
    contacts: set[int] = field(default_factory=set)
    flood_next: dict[str, int] = field(default_factory=dict)  # TL request name -> FLOOD_WAIT seconds
    peer_flooded: bool = False
    banned: bool = False
    reply_counts: dict[int, int] = field(default_factory=dict)  # person id -> replies sent so far
    approached: set[int] = field(default_factory=set)  # prospects it wrote to (they react once)
    _verifier: Verifier | None = None

    @property
    def phone(self) -> str:
        assert self.profile.phone
        return self.profile.phone

    def verifier(self) -> Verifier | None:
        # PBKDF2 costs ~0.1 s: derive on first use, so a world of 200 accounts starts instantly.
        if self.password and self._verifier is None:
            self._verifier = Verifier.for_password(self.password)
        return self._verifier


@dataclass
class Person:
    """A sandbox contact who answers what an account writes to them; a prospect (``persona`` set)
    reacts to an account's first message only, as ``prospects.PERSONAS`` says, in ``language``."""

    profile: Profile
    replies: list[str] | None = None  # None: the world's default replies
    auto_reply: bool = True
    persona: str | None = None  # a prospect's: silent, replies_later, asks_question, opts_out
    language: str = "en"  # what a prospect answers in: "ru" | "en"


@dataclass
class Session:
    """What the peer knows about one auth key: the login in progress, then the signed-in account."""

    key_id: int
    account: Account | None = None
    code_hashes: dict[str, str] = field(default_factory=dict)  # phone_code_hash -> phone
    awaiting_password: Account | None = None
    challenge: Challenge | None = None
    senders: set[SandboxSender] = field(default_factory=set)
    missed_updates: bool = False  # an update found no live connection: say updatesTooLong on return
