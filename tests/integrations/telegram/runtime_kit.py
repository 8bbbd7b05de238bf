"""Running the telegram runtime in tests: a thread with its own loop, the test database and Redis.

``runtime`` starts one (more with ``runtime(...)`` again: several processes sharing one world);
every runtime is killed at the end of the test. ``account`` makes a signed-in BD account whose
sealed session the world knows. ``eventually`` polls with a fresh view of the database.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import pytest
from flask import current_app
from sqlalchemy import select
from telethon import TelegramClient

from app.blueprints.accounts.models import AccountStatus, BDAccount
from app.blueprints.accounts.vault import SessionVault
from app.blueprints.messaging.models import Chat, Message, MessageFile
from app.db_types import utcnow
from app.extensions import db, redis_store
from app.integrations.telegram import dispatch
from app.integrations.telegram.runtime.config import RuntimeConfig
from app.integrations.telegram.runtime.process import Runtime
from app.integrations.telegram.sandbox import World, render, sandbox_client
from app.realtime import read_event

FAST = RuntimeConfig(lease_ttl=3, heartbeat_seconds=0.5, supervise_seconds=0.2, reconcile_seconds=3600,
                     sweep_seconds=0.5, backoff_base=0.1, backoff_max=0.5, connect_timeout=5)


def eventually(check: Callable[[], Any], timeout: float = 10.0, what: str = "condition") -> Any:
    """Poll ``check`` (with a fresh database view each time) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        db.session.rollback()
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def make_account(org, world: World, phone: str, *, status: str = AccountStatus.OFFLINE,
                 config: dict | None = None, session: str | None = None) -> BDAccount:
    vault = SessionVault(current_app.config["SETTINGS"].session_keys)
    account = BDAccount(org_id=org.id, phone=f"+{phone}", status=str(status), config=config,
                        sealed_session=vault.seal(session or world.login_session(phone)))
    db.session.add(account)
    db.session.commit()
    return account


def from_phone(world: World, phone: str, action: Callable[[TelegramClient], Awaitable[Any]]) -> Any:
    """Do ``action`` with the account's own phone: another signed-in session, on a loop of its own."""
    async def go() -> Any:
        client = sandbox_client(world, world.login_session(phone))
        await client.connect()
        try:
            return await action(client)
        finally:
            await client.disconnect()

    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, go()).result(timeout=15)


def on_loop(rt: Runtime, work: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``work()`` on the runtime's loop and wait for it (e.g. a connection's outbox sweep)."""
    return asyncio.run_coroutine_threadsafe(work(), rt._loop).result(timeout=15)


def account_row(account_id: int) -> BDAccount | None:
    db.session.rollback()  # a fresh view: the runtime commits from its own threads
    return db.session.get(BDAccount, account_id)


def online(account_id: int) -> bool:
    row = account_row(account_id)
    return row is not None and row.status == AccountStatus.ONLINE and row.synced_at is not None


def messages_of(account_id: int) -> list[Message]:
    return list(db.session.scalars(select(Message).where(Message.account_id == account_id)
                                   .order_by(Message.telegram_id)))


def chat_with(account_id: int, peer_id: int) -> Chat | None:
    return db.session.scalar(select(Chat).where(Chat.account_id == account_id, Chat.peer_id == peer_id))


def queue_message(account: BDAccount, world: World, peer_id: int, text: str, *,
                  file: tuple[bytes, str, str] | None = None, nudge: bool = True) -> Message:
    """What the web does to send: an outbox row with its random_id, then a nudge to the holder."""
    chat = chat_with(account.id, peer_id)
    if chat is None:
        viewer = world.account(account.phone).profile.id
        chat = Chat(org_id=account.org_id, account_id=account.id, peer_id=peer_id,
                    peer_access_hash=render.access_hash(world.secret, viewer, peer_id),
                    title=world.profiles[peer_id].name)
        db.session.add(chat)
        db.session.flush()
    message = Message(org_id=account.org_id, chat_id=chat.id, account_id=account.id, out=True, text=text,
                      status="queued", random_id=random.getrandbits(62), date=utcnow())
    db.session.add(message)
    db.session.flush()
    if file is not None:
        data, mime_type, name = file
        db.session.add(MessageFile(org_id=account.org_id, message_id=message.id, data=data,
                                   mime_type=mime_type, file_name=name))
        message.media = {"kind": "document", "mime_type": mime_type, "size": len(data), "file_name": name}
    db.session.commit()
    if nudge:
        dispatch.send_soon(account.id, message.id)
    return message


def message_row(message_id: int) -> Message | None:
    db.session.rollback()
    return db.session.get(Message, message_id)


class Doorbell:
    """What the runtime rang on one organization's realtime channel."""

    def __init__(self, org_id: int) -> None:
        self.pubsub = redis_store.client.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(f"rt:org:{org_id}")
        self.pubsub.get_message(timeout=1)  # the subscribe confirmation (read as None)
        self.events: list[dict] = []

    def heard(self, kind: str, **data: Any) -> bool:
        while (message := self.pubsub.get_message(timeout=0.01)) is not None:
            self.events.append(read_event(message["data"])[1])
        return any(e["kind"] == kind and all(e["data"].get(k) == v for k, v in data.items())
                   for e in self.events)

    def close(self) -> None:
        self.pubsub.close()


@pytest.fixture
def runtime(app, world):
    started: list[Runtime] = []

    def start(*, world_: World | None = None, worker_id: str | None = None, **config: Any) -> Runtime:
        rt = Runtime(app, world=world_ or world, config=replace(FAST, **config), worker_id=worker_id)
        started.append(rt.start())
        return rt

    yield start
    for rt in started:
        rt.kill()
