"""The seam: a stand-in for Telethon's ``MTProtoSender`` that answers from a ``World``, no network.

Everything above the sender is the real ``TelegramClient``: its request retries, flood handling,
entity cache, update pipeline (``MessageBox``: pts checks, gap detection, getDifference) and event
handlers, so gateway code behaves against the sandbox as against Telegram.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable

from telethon import TelegramClient, utils
from telethon.crypto import AuthKey
from telethon.network import MTProtoSender
from telethon.sessions import Session, StringSession
from telethon.tl.tlobject import TLObject, TLRequest

from app.integrations.telegram.sandbox.world import World

SANDBOX_API_ID = 1
SANDBOX_API_HASH = "sandbox"


class SandboxSender:
    """Answers each request on the client's loop, one loop turn later, like a reply off the wire."""

    def __init__(self, world: World, auth_key: AuthKey | None, *, updates_queue: asyncio.Queue,
                 auto_reconnect_callback: Callable[[], Awaitable[None]] | None = None,
                 auth_key_callback: Callable[[AuthKey], Awaitable[None]] | None = None):
        self.world = world
        self.auth_key = auth_key or AuthKey(None)
        self._updates_queue = updates_queue  # the name MTProtoSender._store_own_updates uses
        self._auto_reconnect_callback = auto_reconnect_callback
        self._auth_key_callback = auth_key_callback
        self._connection = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._user_connected = False
        self._disconnected_future: asyncio.Future | None = None
        self._held: list[tuple[TLRequest, asyncio.Future]] = []
        self._tasks: set[asyncio.Task] = set()
        self.online = False

    @property
    def key_id(self) -> int:
        return self.auth_key.key_id

    # -- what TelegramClient calls ------------------------------------------------------------

    async def connect(self, connection) -> bool:
        if self._user_connected:
            return False
        self._loop = asyncio.get_running_loop()
        self._connection = connection  # kept for set_proxy; never opened
        if not self.auth_key.key:
            # A fresh key stands for a fresh (unauthorized) session, as after a real key exchange.
            self.auth_key.key = os.urandom(256)
            if self._auth_key_callback:
                await self._auth_key_callback(self.auth_key)
        self._disconnected_future = self._loop.create_future()
        self._user_connected = self.online = True
        self.world.attach(self)
        return True

    def is_connected(self) -> bool:
        return self._user_connected

    def _transport_connected(self) -> bool:
        return self._user_connected and self.online

    def _keepalive_ping(self, ping_id: int) -> None:
        """The client pings every minute; the sandbox never drops an idle connection."""

    async def disconnect(self) -> None:
        if not self._user_connected:
            return
        self._user_connected = self.online = False
        self.world.detach(self)
        for _, future in self._held:
            future.cancel()
        self._held.clear()
        if self._disconnected_future and not self._disconnected_future.done():
            self._disconnected_future.set_result(None)

    @property
    def disconnected(self) -> asyncio.Future:
        if self._disconnected_future is None:
            self._disconnected_future = asyncio.get_running_loop().create_future()
            self._disconnected_future.set_result(None)
        return asyncio.shield(self._disconnected_future)

    def send(self, request, ordered: bool = False):
        if not self._user_connected:
            raise ConnectionError("Cannot send requests while disconnected")
        if utils.is_list_like(request):
            return [self._enqueue(item) for item in request]
        return self._enqueue(request)

    # -- what the world calls (from any thread) -----------------------------------------------

    def push(self, updates: TLObject) -> None:
        """Deliver an ``Updates`` object into the client's update pipeline, as a server push."""
        self._threadsafe(self._updates_queue.put_nowait, updates)

    def set_online(self, online: bool) -> None:
        self._threadsafe(self._set_online, online)

    # -- internals ----------------------------------------------------------------------------

    def _threadsafe(self, callback: Callable, *args) -> None:
        if self._loop is None or self._loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            callback(*args)
        else:
            self._loop.call_soon_threadsafe(callback, *args)

    def _enqueue(self, request: TLRequest) -> asyncio.Future:
        bytes(request)  # serializes as the real sender does: a malformed request fails here, not later
        future = self._loop.create_future()
        if self.online:
            self._loop.call_soon(self._answer, request, future)
        else:
            self._held.append((request, future))
        return future

    def _answer(self, request: TLRequest, future: asyncio.Future) -> None:
        if future.done():
            return
        if not self._user_connected:
            future.set_exception(ConnectionError("disconnected before the answer arrived"))
            return
        try:
            result = self.world.handle(self, request)
        except Exception as exc:  # noqa: BLE001 - RPC errors and unsupported requests belong to the caller
            future.set_exception(exc)
            return
        MTProtoSender._store_own_updates(self, result)
        future.set_result(result)

    def _set_online(self, online: bool) -> None:
        if not self._user_connected or online == self.online:
            return
        self.online = online
        if not online:
            return
        held, self._held = self._held, []
        for request, future in held:
            self._loop.call_soon(self._answer, request, future)
        self.world.back_online(self)
        if self._auto_reconnect_callback:  # the real sender calls it after reconnecting
            task = self._loop.create_task(self._auto_reconnect_callback())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


def install_sandbox(client: TelegramClient, world: World) -> TelegramClient:
    """Point an existing, not yet connected client at the sandbox."""
    client._sender = SandboxSender(
        world, client.session.auth_key, updates_queue=client._updates_queue,
        auto_reconnect_callback=client._handle_auto_reconnect, auth_key_callback=client._auth_key_callback,
    )
    return client


def sandbox_client(world: World, session: str | Session | None = None, **kwargs) -> TelegramClient:
    """A real ``TelegramClient`` talking to ``world``; ``kwargs`` go to ``TelegramClient``.

    ``session`` is a ``StringSession`` string (e.g. from ``world.login_session(phone)`` or a
    previous ``client.session.save()``) or any Telethon session; None starts signed out.
    """
    if session is None or isinstance(session, str):
        session = StringSession(session)
    return install_sandbox(TelegramClient(session, SANDBOX_API_ID, SANDBOX_API_HASH, **kwargs), world)
