"""One held account: its client, kept connected with backoff, synced, and sending its outbox.

A ``Connection`` exists only while this process holds the account's lease. Each session (one
connected client) goes: connect -> check the session is still signed in -> status online ->
live handlers -> import (first time) or reconcile -> sweep the outbox -> wait for the client to
drop. A dropped session is retried after ``backoff_base * 2^attempt`` seconds (with jitter, at
most ``backoff_max``); a session Telegram ended stops for good with the status it deserves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from telethon import errors, functions, types

from app.blueprints.accounts.public import AccountInfo, AccountStatus
from app.blueprints.accounts.public import store as accounts
from app.blueprints.messaging.public import store as messages
from app.db_types import utcnow
from app.i18n import N_, said
from app.integrations.telegram.runtime import outbox, sync
from app.integrations.telegram.runtime.clients import RuntimeClient, SessionEnded, session_ended
from app.integrations.telegram.runtime.proxy_guard import ProxyRefused

if TYPE_CHECKING:
    from app.integrations.telegram.runtime.process import Runtime

log = logging.getLogger(__name__)
STABLE_SECONDS = 60.0  # a session that lasted this long resets the backoff


class AccountGone(Exception):
    """The account row was removed, or its session ended elsewhere: stop holding it."""


class Connection:
    def __init__(self, runtime: Runtime, account_id: int, org_id: int, *,
                 client: RuntimeClient | None = None) -> None:
        self.runtime = runtime
        self.account_id = account_id
        self.org_id = org_id
        self.client: RuntimeClient | None = client  # a finished login hands over its client
        self.info: AccountInfo | None = None
        self.lock = asyncio.Lock()  # one account's writes, reconciles and sends, in order
        self.online = False
        self.status: str | None = None
        self.in_flight: set[int] = set()
        self.telegram_read: dict[int, int] = {}  # peer id -> read mark Telegram has from us
        self.paused_until: datetime | None = None  # no sends before (flood, limit)
        self.limit_detail: str | None = None  # why the account is limited, in words
        self.closing = False
        self._ended: SessionEnded | None = None
        self._session_tasks: set[asyncio.Task] = set()
        self._wake: asyncio.TimerHandle | None = None
        self._wake_when: datetime | None = None
        self.task = runtime.spawn(self._run(), name=f"account-{account_id}")

    # -- lifecycle ------------------------------------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        attempt = 0
        while not self.closing:
            started = loop.time()
            problem = said(N_("Connection lost."))
            try:
                await self._session()
            except AccountGone:
                await self._teardown()
                self.runtime.forget(self, release=True)
                return
            except ProxyRefused as refused:
                # Retried like any failed connection: the proxy may be changed (read again on
                # each attempt) or its name may resolve elsewhere; meanwhile the account says why.
                log.warning("account %s: %s", self.account_id, refused.message)
                problem = refused.message
            except Exception as exc:  # noqa: BLE001 - sorted: session ended, or retry later
                ended = session_ended(exc)
                if ended is None:
                    log.warning("account %s: connection failed: %s: %s", self.account_id,
                                type(exc).__name__, exc)
                self._ended = self._ended or ended
            await self._teardown()
            if self._ended is not None:
                await self._finish_ended(self._ended)
                return
            if self.closing:
                return
            attempt = 1 if loop.time() - started > STABLE_SECONDS else attempt + 1
            delay = self.backoff(attempt)
            await self.set_status(AccountStatus.CONNECTING,
                                  detail=said(N_("%(problem)s Trying again in %(seconds)s s."),
                                              problem=problem, seconds=round(delay)))
            await asyncio.sleep(delay)

    def backoff(self, attempt: int) -> float:
        config = self.runtime.config
        return min(config.backoff_base * 2 ** (attempt - 1), config.backoff_max) * random.uniform(0.5, 1.0)

    async def _session(self) -> None:
        runtime = self.runtime
        self.info = info = await runtime.db(accounts.load, self.account_id, runtime.vault)
        if info is None or info.session is None or info.status not in accounts.RUNNABLE:
            raise AccountGone()
        if self.client is None:
            held = await runtime.db(messages.last_telegram_id, info.id)
            self.client = runtime.new_client(info.session, phone=info.phone, proxy=info.proxy,
                                             last_message_id=held)
        client = self.client
        client.on_reconnect = self._on_reconnect
        if not client.is_connected():
            if info.status != AccountStatus.ONLINE:
                await self.set_status(AccountStatus.CONNECTING, detail=said(N_("Connecting to Telegram.")))
            await asyncio.wait_for(client.connect(), runtime.config.connect_timeout)
        try:
            await client(functions.users.GetUsersRequest([types.InputUserSelf()]))
        except errors.RPCError as exc:
            raise session_ended(exc) or exc from None
        me = await client.get_me()
        now = utcnow()
        limited = info.limited_until is not None and info.limited_until > now
        self.paused_until = info.limited_until if limited else None
        sync.install_handlers(self)
        if limited and not self.limit_detail:
            self.limit_detail = info.detail if info.status == AccountStatus.LIMITED else (
                said(N_("Telegram limited sending until %(until)s UTC."),
                     until=f"{info.limited_until:%Y-%m-%d %H:%M}"))
        if not await self.set_status(
                AccountStatus.LIMITED if limited else AccountStatus.ONLINE,
                detail=self.limit_detail if limited else None,
                limited_until=info.limited_until if limited else None,
                connected_at=now, telegram_user_id=me.id, username=me.username,
                display_name=" ".join(filter(None, (me.first_name, me.last_name)))[:200] or me.phone):
            raise AccountGone()
        self.online = True
        first = info.synced_at is None
        async with self.lock:
            await sync.sync_dialogs(self, first=first)
        if first:
            await runtime.db(accounts.mark_synced, self.account_id)
        await outbox.sweep(self)
        self._every(runtime.config.reconcile_seconds, self.reconcile)
        self._every(runtime.config.sweep_seconds, self.wake)
        await client.disconnected
        updates_error = getattr(client, "_updates_error", None)
        if updates_error is not None:  # Telethon stopped its update loop: the session ended
            raise updates_error

    async def _teardown(self) -> None:
        self.online = False
        if self._wake is not None:
            self._wake.cancel()
            self._wake, self._wake_when = None, None
        tasks, self._session_tasks = self._session_tasks, set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        client, self.client = self.client, None
        if client is not None:
            try:
                await client.disconnect()
            except Exception:
                log.debug("account %s: disconnect failed", self.account_id, exc_info=True)

    async def _finish_ended(self, ended: SessionEnded) -> None:
        log.warning("account %s: %s", self.account_id, ended.detail)
        await self.runtime.db(accounts.end_session, self.account_id, ended.status, ended.detail)
        self.runtime.forget(self, release=True)

    @property
    def ended(self) -> bool:
        """Telegram ended this session: what fails on it now fails for that, not for the network."""
        return self._ended is not None

    def end(self, ended: SessionEnded) -> None:
        """Telegram ended the session (seen by a send or a sync): stop and say why."""
        self._ended = self._ended or ended
        if self.client is not None:
            self.runtime.spawn(self.client.disconnect(), name=f"account-{self.account_id}-end")

    async def stop(self, *, status: str | None = None) -> None:
        """Disconnect and stop. ``status`` (e.g. offline on shutdown) is written afterwards, unless
        the account is limited: that it shows until the limit ends, held or not."""
        self.closing = True
        if self.task is not asyncio.current_task():
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
        await self._teardown()
        if status is not None and self.status != AccountStatus.LIMITED:
            await self.set_status(status)

    # -- what the session runs ------------------------------------------------------------------

    def _every(self, seconds: float, work) -> None:
        async def repeat() -> None:
            while True:
                await asyncio.sleep(seconds)
                await self._guarded(work)
        self._track(self.runtime.spawn(repeat(), name=f"account-{self.account_id}-{work.__name__}"))

    def _track(self, task: asyncio.Task) -> None:
        self._session_tasks.add(task)
        task.add_done_callback(self._session_tasks.discard)

    async def _guarded(self, work) -> None:
        try:
            await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            ended = session_ended(exc)
            if ended is not None:
                self.end(ended)
            else:
                log.warning("account %s: %s failed", self.account_id, work.__name__, exc_info=True)

    async def reconcile(self) -> None:
        """Compare the dialogs with Telegram and fetch what is missing (after outages, and often)."""
        if not self.online:
            return
        async with self.lock:
            await sync.sync_dialogs(self, first=False)

    async def _on_reconnect(self) -> None:
        """Telethon reconnected by itself: catch up on what was said meanwhile."""
        async def catch_up() -> None:
            await self._guarded(self.reconcile)
            await self._guarded(self.wake)
        self._track(self.runtime.spawn(catch_up(), name=f"account-{self.account_id}-catch-up"))

    async def wake(self) -> None:
        """Lift an expired limit, then send whatever is due."""
        self._wake, self._wake_when = None, None
        if not self.online:
            return
        now = utcnow()
        if self.paused_until is not None and self.paused_until <= now:
            self.paused_until = None
        if self.status == AccountStatus.LIMITED and self.paused_until is None:
            self.limit_detail = None
            await self.set_status(AccountStatus.ONLINE, limited_until=None)
        await outbox.sweep(self)

    def wake_at(self, when: datetime) -> None:
        """Sweep the outbox at ``when`` (the earliest of the times asked for wins)."""
        if self.closing or not self.online:
            return  # the next session sweeps on connect
        if self._wake_when is not None and self._wake_when <= when:
            return
        if self._wake is not None:
            self._wake.cancel()
        delay = max(0.5, (when - utcnow()).total_seconds() + 0.05)  # never a hot loop
        loop = asyncio.get_running_loop()
        self._wake_when = when
        self._wake = loop.call_later(
            delay, lambda: self._track(self.runtime.spawn(self._guarded(self.wake),
                                                          name=f"account-{self.account_id}-wake")))

    async def set_status(self, status: str, *, detail: str | None = None,
                         limited_until: datetime | None = accounts.KEEP, **fields: Any) -> bool:
        ok = await self.runtime.db(accounts.set_status, self.account_id, status, detail=detail,
                                   limited_until=limited_until, **fields)
        self.status = str(status)
        return ok

    @contextlib.asynccontextmanager
    async def patient(self, seconds: int = 60) -> AsyncIterator[None]:
        """Let Telethon sleep through short FloodWaits (a big import pages a lot); sends never do."""
        client = self.client
        client.flood_sleep_threshold = seconds
        try:
            yield
        finally:
            client.flood_sleep_threshold = 0

    async def send_read(self, peer_id: int, access_hash: int | None, max_id: int) -> None:
        """Tell Telegram we read the chat up to ``max_id`` (marks read in the app reach the phone)."""
        if self.client is None or max_id <= self.telegram_read.get(peer_id, 0):
            return
        try:
            await self.client(functions.messages.ReadHistoryRequest(
                peer=types.InputPeerUser(peer_id, access_hash or 0), max_id=max_id))
        except errors.RPCError as exc:
            log.warning("account %s: read mark for %s refused: %s", self.account_id, peer_id, exc)
            return
        self.telegram_read[peer_id] = max_id
