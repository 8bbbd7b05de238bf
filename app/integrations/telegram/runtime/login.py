"""Signing an account in: phone -> code -> two-step password, or a QR code the phone scans.

The web has created the ``BDAccount`` row (phone, proxy, status connecting) and drives the steps
through ``control.call``: ``login.start``, ``login.code``, ``login.password``, ``login.qr``. The
process holds the account's lease for the whole login, so every later step reaches the client
that began it; a login nobody continues for ``login_idle_seconds`` is dropped. A finished login
seals the session, records who it is, and becomes the account's connection (same client).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from telethon import errors, functions

from app.blueprints.accounts.public import AccountStatus
from app.blueprints.accounts.public import store as accounts
from app.i18n import N_, said, wait
from app.integrations.telegram import leases
from app.integrations.telegram.runtime.clients import RuntimeClient
from app.integrations.telegram.runtime.proxy_guard import ProxyRefused

if TYPE_CHECKING:
    from app.integrations.telegram.control import Request
    from app.integrations.telegram.runtime.process import Runtime

log = logging.getLogger(__name__)
# Texts for people are ``said`` (no language yet): the web says them in its viewer's (``control``).
PASSWORD_NEEDED = said(N_("Enter the account's two-step verification password to finish signing in."))
LOGIN_EXPIRED = said(N_("This sign-in has expired or was never started. Start again."))


class Refusal(Exception):
    """An op that cannot be done; ``message`` is for the person at the keyboard (``said``, or plain)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def refusal_for(exc: Exception) -> Refusal | None:
    """Telegram's login errors in words a person can act on."""
    if isinstance(exc, errors.PhoneCodeInvalidError | errors.PhoneCodeEmptyError):
        return Refusal("code_invalid", said(N_("That code is not right. Check the latest code Telegram sent "
                                               "and try again.")))
    if isinstance(exc, errors.PhoneCodeExpiredError):
        return Refusal("code_expired", said(N_("That code has expired. Ask for a new code and enter it.")))
    if isinstance(exc, errors.PasswordHashInvalidError):
        return Refusal("password_invalid", said(N_("That password is not right. It is the two-step "
                                                   "verification password set in Telegram's privacy "
                                                   "settings.")))
    if isinstance(exc, errors.FloodWaitError):
        return Refusal("flood_wait", said(N_("Telegram asks to wait %(wait)s before trying to sign in "
                                             "again."),
                                          wait=wait(exc.seconds)))
    if isinstance(exc, errors.PhoneNumberFloodError | errors.PhonePasswordFloodError):
        return Refusal("flood", said(N_("Too many sign-in attempts for this number. Try again in a few "
                                        "hours.")))
    if isinstance(exc, errors.PhoneNumberInvalidError):
        return Refusal("phone_invalid", said(N_("Telegram does not accept this phone number. Check it, with "
                                                "its country code.")))
    if isinstance(exc, errors.PhoneNumberBannedError):
        return Refusal("phone_banned", said(N_("Telegram has banned this phone number.")))
    if isinstance(exc, errors.PhoneNumberUnoccupiedError):
        return Refusal("phone_unregistered", said(N_("This number has no Telegram account yet. Create one in "
                                                     "a Telegram app first.")))
    if isinstance(exc, errors.SrpIdInvalidError):
        return Refusal("password_retry", said(N_("Telegram asked to retry. Enter the password again.")))
    return None


class LoginFlow:
    """One login in progress: its (signed-out) client and the step it waits for."""

    def __init__(self, runtime: Runtime, account_id: int, org_id: int, phone: str,
                 client: RuntimeClient) -> None:
        self.runtime = runtime
        self.account_id = account_id
        self.org_id = org_id
        self.phone = phone
        self.client = client
        self.step = "start"  # code | password | qr
        self.hint = ""
        self.lock = asyncio.Lock()
        self.touched = time.monotonic()
        self.qr: Any = None
        self.qr_task: asyncio.Task | None = None
        self.started_by: int | None = None  # the member who asked (the audit's actor), if told

    def touch(self) -> None:
        self.touched = time.monotonic()

    @property
    def idle(self) -> float:
        return time.monotonic() - self.touched

    async def close(self) -> None:
        if self.qr_task is not None:
            self.qr_task.cancel()
            await asyncio.gather(self.qr_task, return_exceptions=True)
        try:
            await self.client.disconnect()
        except Exception:
            log.debug("login %s: disconnect failed", self.account_id, exc_info=True)


# -- the ops ------------------------------------------------------------------------------------

def _started_by(request: Request) -> int | None:
    """Who asked for this step (``by``: a user id the web adds), or None when not told."""
    raw = request.args.get("by")
    return int(raw) if isinstance(raw, int) or (isinstance(raw, str) and raw.isdigit()) else None


def _account_id(request: Request) -> int:
    raw = request.account_id if request.account_id is not None else request.args.get("account_id")
    if raw is None:
        raise Refusal("bad_request", said(N_("Which account? account_id is missing.")))
    return int(raw)


async def begin(runtime: Runtime, account_id: int) -> LoginFlow:
    """A fresh login for the account: take its lease (or reuse ours), connect a signed-out client."""
    previous = runtime.logins.pop(account_id, None)
    if previous is not None:
        await previous.close()
    elif account_id in runtime.connections:
        await runtime.connections.pop(account_id).stop()  # the lease stays ours
    elif not leases.acquire(runtime.redis, account_id, runtime.worker_id, runtime.config.lease_ttl):
        raise Refusal("busy", said(N_("Another Telegram connection service is holding this account. Try "
                                      "again in a minute.")))
    info = await runtime.db(accounts.load, account_id, runtime.vault)
    if info is None:
        runtime.release(account_id)
        raise Refusal("not_found", said(N_("This account no longer exists.")))
    await runtime.db(accounts.set_status, account_id, AccountStatus.CONNECTING)
    client = runtime.new_client(None, phone=info.phone, proxy=info.proxy)
    flow = LoginFlow(runtime, account_id, info.org_id, info.phone, client)
    runtime.logins[account_id] = flow
    try:
        await asyncio.wait_for(client.connect(), runtime.config.connect_timeout)
    except ProxyRefused as refused:
        log.warning("login %s: %s", account_id, refused.message)
        await abandon(runtime, flow, refused.message)
        raise Refusal("proxy_refused", refused.message) from None
    except (OSError, TimeoutError, ConnectionError):
        log.warning("login %s: could not connect", account_id, exc_info=True)
        await abandon(runtime, flow, said(N_("Could not reach Telegram to sign in. Try again in a minute.")))
        raise Refusal("telegram_unreachable", said(N_("Could not reach Telegram. Check the proxy, or try "
                                                      "again in a minute."))) from None
    return flow


def _flow(runtime: Runtime, account_id: int) -> LoginFlow:
    flow = runtime.logins.get(account_id)
    if flow is None:
        raise Refusal("login_expired", LOGIN_EXPIRED)
    flow.touch()
    return flow


async def start(runtime: Runtime, request: Request) -> dict[str, Any]:
    """login.start {account_id} -> {"next": "code"}: Telegram sends the code to the account's apps."""
    flow = await begin(runtime, _account_id(request))
    flow.started_by = _started_by(request)
    async with flow.lock:
        try:
            await flow.client.send_code_request(flow.phone)
        except errors.RPCError as exc:
            refusal = refusal_for(exc)
            await abandon(runtime, flow, refusal.message if refusal else str(exc))
            raise refusal or Refusal("telegram_error", said(N_("Telegram refused to send a code "
                                                               "(%(error)s)."),
                                                            error=str(exc))) from None
        flow.step = "code"
    return {"next": "code"}


async def code(runtime: Runtime, request: Request) -> dict[str, Any]:
    """login.code {code} -> {"next": "password", "hint"} or {"next": "done"}."""
    flow = _flow(runtime, _account_id(request))
    typed = "".join(str(request.args.get("code") or "").split())
    if not typed:
        raise Refusal("code_invalid", said(N_("Enter the code Telegram sent.")))
    async with flow.lock:
        try:
            user = await flow.client.sign_in(flow.phone, typed)
        except errors.SessionPasswordNeededError:
            return await _password_needed(flow)
        except errors.RPCError as exc:
            refusal = refusal_for(exc)
            if refusal is None or refusal.code in ("phone_unregistered", "phone_banned"):
                await abandon(runtime, flow, refusal.message if refusal else str(exc))
            raise refusal or Refusal("telegram_error", said(N_("Telegram refused the code (%(error)s)."),
                                                            error=str(exc))) from None
        await finish(runtime, flow, user)
    return {"next": "done"}


async def password(runtime: Runtime, request: Request) -> dict[str, Any]:
    """login.password {password} -> {"next": "done"}."""
    flow = _flow(runtime, _account_id(request))
    if flow.step != "password":
        raise Refusal("no_password_step", said(N_("This sign-in is not waiting for a password.")))
    typed = str(request.args.get("password") or "")
    if not typed:
        raise Refusal("password_invalid", said(N_("Enter the two-step verification password.")))
    async with flow.lock:
        try:
            user = await flow.client.sign_in(password=typed)
        except errors.RPCError as exc:
            refusal = refusal_for(exc)
            raise refusal or Refusal("telegram_error", said(N_("Telegram refused the password (%(error)s)."),
                                                            error=str(exc))) from None
        await finish(runtime, flow, user)
    return {"next": "done"}


async def qr(runtime: Runtime, request: Request) -> dict[str, Any]:
    """login.qr {account_id, refresh?} -> {"url": "tg://login?token=...", "expires": epoch}.

    Without ``refresh`` a new QR login starts. With ``refresh: true`` (the page polling while it
    shows the code) the running one gets a fresh code, or says where it is: {"next": "password",
    "hint"} once the phone scanned it and two-step verification is on, {"next": "done"} once
    signed in. The process finishes a scanned login by itself and rings ``account.status``."""
    account_id = _account_id(request)
    flow = runtime.logins.get(account_id)
    refresh = bool(request.args.get("refresh"))
    if refresh:
        if flow is None:
            conn = runtime.connections.get(account_id)
            if conn is not None:
                return {"next": "done"}
            raise Refusal("login_expired", LOGIN_EXPIRED)
        if flow.step == "password":
            flow.touch()
            return {"next": "password", "hint": flow.hint}
        if flow.step == "qr" and flow.qr is not None and flow.qr.expires.timestamp() - time.time() > 5:
            flow.touch()  # the code on the page is still good: keep it (a new one each poll is unscannable)
            return {"url": flow.qr.url, "expires": int(flow.qr.expires.timestamp())}
    if not refresh or flow.step not in ("qr", "code", "start"):  # refreshing: the flow exists
        flow = await begin(runtime, account_id)
    flow.started_by = _started_by(request) or flow.started_by
    flow.touch()
    async with flow.lock:
        if flow.qr_task is not None:
            flow.qr_task.cancel()
            await asyncio.gather(flow.qr_task, return_exceptions=True)
        try:
            if flow.qr is None:
                flow.qr = await flow.client.qr_login()
            else:
                await flow.qr.recreate()
        except errors.RPCError as exc:
            refusal = refusal_for(exc) or Refusal("telegram_error", said(N_("Telegram refused a QR code "
                                                                            "(%(error)s)."), error=str(exc)))
            raise refusal from None
        flow.step = "qr"
        flow.qr_task = runtime.spawn(_wait_for_scan(runtime, flow), name=f"login-{account_id}-qr")
        expires = flow.qr.expires
    return {"url": flow.qr.url, "expires": int(expires.timestamp())}


async def _wait_for_scan(runtime: Runtime, flow: LoginFlow) -> None:
    timeout = max(1.0, (flow.qr.expires - datetime.now(UTC)).total_seconds())
    try:
        user = await flow.qr.wait(timeout=timeout)
    except TimeoutError:
        return  # the page asks for a fresh code
    except errors.SessionPasswordNeededError:
        async with flow.lock:
            await _password_needed(flow)
        return
    except Exception:
        log.warning("login %s: QR login failed", flow.account_id, exc_info=True)
        return
    flow.qr_task = None  # finishing closes nothing of ours
    async with flow.lock:
        await finish(runtime, flow, user)


async def _password_needed(flow: LoginFlow) -> dict[str, Any]:
    flow.step = "password"
    try:
        found = await flow.client(functions.account.GetPasswordRequest())
        flow.hint = found.hint or ""
    except errors.RPCError:
        flow.hint = ""
    await flow.runtime.db(accounts.set_status, flow.account_id, AccountStatus.CONNECTING,
                          detail=PASSWORD_NEEDED)
    return {"next": "password", "hint": flow.hint}


async def finish(runtime: Runtime, flow: LoginFlow, user: Any) -> None:
    """Seal the session, say who it is, and keep the client as the account's connection."""
    if runtime.logins.get(flow.account_id) is not flow:
        return
    sealed = runtime.vault.seal(flow.client.session.save())
    name = " ".join(filter(None, (user.first_name, user.last_name))) or user.phone or ""
    saved = await runtime.db(accounts.save_login, flow.account_id, sealed, telegram_user_id=user.id,
                             username=user.username, display_name=name, actor_id=flow.started_by)
    del runtime.logins[flow.account_id]
    if not saved:  # the row was removed meanwhile
        await flow.close()
        runtime.release(flow.account_id)
        return
    runtime.adopt(flow.account_id, flow.org_id, flow.client)


async def abandon(runtime: Runtime, flow: LoginFlow, detail: str) -> None:
    """Drop a login that cannot go on; an account with an earlier session goes back to it."""
    if runtime.logins.get(flow.account_id) is flow:
        del runtime.logins[flow.account_id]
    await flow.close()
    runtime.release(flow.account_id)
    info = await runtime.db(accounts.load, flow.account_id, runtime.vault)
    if info is None:
        return
    if info.session:
        await runtime.db(accounts.set_status, flow.account_id, AccountStatus.OFFLINE)
        runtime.nudge()
    else:
        await runtime.db(accounts.set_status, flow.account_id, AccountStatus.NEEDS_LOGIN, detail=detail)


async def reap_idle(runtime: Runtime) -> None:
    for flow in [f for f in runtime.logins.values() if f.idle > runtime.config.login_idle_seconds]:
        log.info("login %s: dropped after %.0f s without a step", flow.account_id, flow.idle)
        await abandon(runtime, flow, said(N_("The sign-in was not finished in time. Start again.")))
