"""Telethon clients as the runtime builds them: real Telegram, or the sandbox world.

With ``TELEGRAM_API_ID`` set a client talks to Telegram with the app's own keys (and the
account's proxy, if any); otherwise to the process's sandbox ``World``, through the same client
code. Also: which Telegram errors end an account's session, and with what status.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from telethon import TelegramClient, errors
from telethon.sessions import StringSession

from app.blueprints.accounts.public import AccountStatus
from app.config import Settings
from app.i18n import N_, said
from app.integrations.telegram.runtime.proxy_guard import vetted_proxy
from app.integrations.telegram.sandbox import World, install_sandbox
from app.integrations.telegram.sandbox.sender import SANDBOX_API_HASH, SANDBOX_API_ID

log = logging.getLogger(__name__)


class RuntimeClient(TelegramClient):
    """Telethon's client, told to call ``on_reconnect`` after it reconnected by itself (Telethon
    only pings then; the runtime reconciles, so nothing said meanwhile is missed), and dialling
    its proxy only once the proxy is vetted (``proxy_guard``)."""

    on_reconnect: Callable[[], Awaitable[None]] | None = None
    allow_private_proxy = False  # TELEGRAM_ALLOW_PRIVATE_PROXIES

    async def connect(self) -> None:
        """Telethon's connect (every one: the first, and after a DC switch), through the proxy's
        checked address. Telethon's own reconnects reuse the connection, so that address too.
        Raises ProxyRefused, or what Telethon raises (OSError, ConnectionError)."""
        await self.vet_proxy()
        await super().connect()

    async def vet_proxy(self) -> None:
        """Resolve and check the proxy's host, and give Telethon the address to dial. Raises
        ProxyRefused."""
        if self._proxy:
            self.set_proxy(await vetted_proxy(self._proxy, allow_private=self.allow_private_proxy))

    async def _handle_auto_reconnect(self) -> None:
        await super()._handle_auto_reconnect()
        if self.on_reconnect is not None:
            await self.on_reconnect()


def telethon_proxy(proxy: dict[str, Any] | None) -> dict[str, Any] | None:
    """An account's proxy ({scheme, host, port, username, password}: the stored form, its password
    opened) as Telethon takes it."""
    if not proxy or not proxy.get("host"):
        return None
    return {"proxy_type": proxy.get("scheme") or "socks5", "addr": proxy["host"], "port": int(proxy["port"]),
            "username": proxy.get("username") or None, "password": proxy.get("password") or None,
            "rdns": True}


def build_client(settings: Settings, world: World | None, session: str | None, *,
                 proxy: dict[str, Any] | None = None) -> RuntimeClient:
    """A client for one account (``session`` None: signed out, for a login)."""
    options: dict[str, Any] = {
        # Floods are the outbox's business (reschedule, never sleep holding the account).
        "flood_sleep_threshold": 0,
        # One account's updates in order: an edit never overtakes its message.
        "sequential_updates": True,
        "device_model": "Relay CRM", "system_version": "server", "app_version": "1.0",
        "connection_retries": 3, "retry_delay": 2, "request_retries": 3, "auto_reconnect": True,
    }
    if settings.telegram_api_id:
        client = RuntimeClient(StringSession(session), settings.telegram_api_id, settings.telegram_api_hash,
                               proxy=telethon_proxy(proxy), **options)
        client.allow_private_proxy = settings.telegram_allow_private_proxies
        return client
    if world is None:
        raise RuntimeError("sandbox mode needs a World")
    client = RuntimeClient(StringSession(session), SANDBOX_API_ID, SANDBOX_API_HASH, **options)
    install_sandbox(client, world)
    return client


class SessionEnded(Exception):
    """Telegram ended the account's session: it needs a new login (or is banned, or deactivated).
    ``detail`` says why (``app.i18n.said``: the web says it in its viewer's language)."""

    def __init__(self, status: AccountStatus, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


_NEEDS_LOGIN = (errors.AuthKeyUnregisteredError, errors.SessionRevokedError, errors.SessionExpiredError,
                errors.AuthKeyInvalidError, errors.AuthKeyPermEmptyError, errors.SessionPasswordNeededError)


def session_ended(exc: BaseException) -> SessionEnded | None:
    """The account-level meaning of ``exc``, if it has one."""
    if isinstance(exc, SessionEnded):
        return exc
    if isinstance(exc, errors.UserDeactivatedBanError):
        return SessionEnded(AccountStatus.BANNED, said(N_("Telegram has banned this account.")))
    if isinstance(exc, errors.UserDeactivatedError):
        return SessionEnded(AccountStatus.DEACTIVATED, said(N_("This Telegram account was deleted or "
                                                               "deactivated.")))
    if isinstance(exc, errors.AuthKeyDuplicatedError):
        return SessionEnded(AccountStatus.NEEDS_LOGIN, said(N_("Telegram saw this session used in two places "
                                                               "at once and ended it. Sign in again.")))
    if isinstance(exc, _NEEDS_LOGIN):
        return SessionEnded(AccountStatus.NEEDS_LOGIN, said(N_("Telegram ended this session (signed out from "
                                                               "another device, or expired). Sign in "
                                                               "again.")))
    return None
