"""Telegram BD accounts: connect (login steps through the telegram process), configure, remove.

Flask-free: explicit actor, flush only. The telegram process does the talking to Telegram; these
functions reach it through ``ask`` (``control.call`` bound to Redis and a timeout), and turn its
refusals into ``TelegramRefused`` (a DomainError naming the form field it concerns).

Who may do what: owners and admins connect, configure and remove accounts
(``Permission.ACCOUNTS_MANAGE``); managers and above see every account of the organization
(``Permission.CHATS_VIEW_ALL``); an agent sees the accounts given to them (``bd_account_agent``).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Protocol

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import ColumnElement, and_, delete, insert, not_, select

from app import audit, canonical
from app.after_commit import after_commit
from app.blueprints.accounts import config as account_config
from app.blueprints.accounts import proxy_hosts
from app.blueprints.accounts.events import AccountStatusChanged
from app.blueprints.accounts.models import AccountStatus, BDAccount, bd_account_agent
from app.blueprints.accounts.vault import SessionVault
from app.blueprints.auth.public import require_verified
from app.blueprints.team.public import Membership, Permission, Role, can, phone_region, require
from app.db_types import utcnow
from app.errors import DomainError, NotFound
from app.events import emit
from app.extensions import db, redis_store
from app.i18n import N_, in_words, said
from app.integrations.telegram import control, leases
from app.integrations.telegram.control import ControlError

Ask = Callable[..., dict[str, Any]]  # ask(op, account_id=..., **args) -> result; raises ControlError


class Viewer(Protocol):
    """Anyone whose sight is checked: a Membership, or a realtime Connection."""

    org_id: int
    user_id: int
    role: str


# -- telegram refusals -------------------------------------------------------------------------

# Which form field a refusal concerns, and the HTTP status it deserves when it concerns none.
REFUSAL_FIELDS = {"code_invalid": "code", "code_expired": "code", "password_invalid": "password",
                  "phone_invalid": "phone", "phone_banned": "phone", "phone_taken": "phone",
                  "proxy_refused": "proxy_host"}
REFUSAL_STATUS = {"flood_wait": 429, "telegram_unavailable": 503}


class TelegramRefused(DomainError):
    """Telegram (or the telegram process) said no; ``code`` is the process's machine-readable code,
    ``message`` the process's text in the viewer's language (``control.call`` says it so)."""

    def __init__(self, code: str, message: str) -> None:
        field = REFUSAL_FIELDS.get(code)
        super().__init__(message, {field: message} if field else None)
        self.code = code
        self.status = REFUSAL_STATUS.get(code, 422)


def _ask(ask: Ask, op: str, account_id: int, **args: Any) -> dict[str, Any]:
    try:
        return ask(op, account_id=account_id, **args)
    except ControlError as err:
        raise TelegramRefused(err.code, err.message) from None


# -- who sees what -----------------------------------------------------------------------------

def sees_every_account(viewer: Viewer) -> bool:
    return can(viewer.role, Permission.CHATS_VIEW_ALL)


def agent_account_ids(viewer: Viewer):
    """A subquery: the accounts given to ``viewer`` (what an agent sees)."""
    return select(bd_account_agent.c.account_id).where(bd_account_agent.c.user_id == viewer.user_id)


def visible_accounts(viewer: Viewer) -> list[BDAccount]:
    """The accounts ``viewer`` may see, oldest first; a QR sign-in left unfinished past
    ``QR_LOGIN_EXPIRY`` is not listed (the clock's purge deletes it)."""
    stmt = select(BDAccount).where(BDAccount.org_id == viewer.org_id,
                                   not_(abandoned_qr_login(utcnow() - QR_LOGIN_EXPIRY)))
    if not sees_every_account(viewer):
        stmt = stmt.where(BDAccount.id.in_(agent_account_ids(viewer)))
    return list(db.session.scalars(stmt.order_by(BDAccount.created_at, BDAccount.id)))


def can_see_account(viewer: Viewer, account: BDAccount) -> bool:
    if account.org_id != viewer.org_id:
        return False
    return sees_every_account(viewer) or is_agent_of(viewer, account.id)


def is_agent_of(viewer: Viewer, account_id: int) -> bool:
    """Whether the account is given to ``viewer``."""
    agents = bd_account_agent.c
    return db.session.scalar(select(agents.account_id).where(
        agents.account_id == account_id, agents.user_id == viewer.user_id)) is not None


def get_account(viewer: Viewer, account_id: int) -> BDAccount:
    """The account, if ``viewer`` may see it. Raises NotFound (foreign and hidden alike)."""
    account = db.session.scalar(select(BDAccount).where(BDAccount.org_id == viewer.org_id,
                                                        BDAccount.id == account_id))
    if account is None or not can_see_account(viewer, account):
        raise NotFound(_("Telegram account not found."))
    return account


def get_managed_account(actor: Membership, account_id: int) -> BDAccount:
    """The account, for someone who may manage it. Raises NotFound, then Forbidden."""
    account = get_account(actor, account_id)
    require(actor, Permission.ACCOUNTS_MANAGE)
    return account


def agents_of(account_ids: Iterable[int]) -> dict[int, list[int]]:
    """Account id -> user ids of the agents given it (one statement)."""
    ids = list(account_ids)
    found: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        for account_id, user_id in db.session.execute(select(
                bd_account_agent.c.account_id, bd_account_agent.c.user_id).where(
                bd_account_agent.c.account_id.in_(ids))):
            found[account_id].append(user_id)
    return found


# -- phone numbers -----------------------------------------------------------------------------

QR_PHONE_PREFIX = "qr:"  # an account started by QR has no number until Telegram tells us
_TEST_NUMBER = re.compile(r"^99966\d{5}$")  # Telegram's test numbers (the sandbox uses them too)


def normalize_phone(raw: str | None, region: str | None = None) -> str:
    """E.164; a number without its country code is read in ``region`` (the organization's default
    country). Raises DomainError on the ``phone`` field (blank, not text, not a number)."""
    if raw is not None and not isinstance(raw, str):
        raise DomainError(_("Phone: send the number as text, e.g. “+44 7700 900123”."),
                          {"phone": _("Send the number as text.")})
    text = (raw or "").strip()
    if not text:
        raise DomainError(_("Enter the account's phone number."), {"phone": _("Enter a phone number.")})
    digits = re.sub(r"\D", "", text)
    if _TEST_NUMBER.match(digits):
        return "+" + digits
    try:
        return canonical.phone(text, region)
    except ValueError as err:
        message = _("Phone: %(error)s.", error=str(err))
        raise DomainError(message, {"phone": message}) from None


def is_pending_qr(account: BDAccount) -> bool:
    """Whether the account was started by QR: it has no number (one signed in keeps it so)."""
    return account.phone.startswith(QR_PHONE_PREFIX)


# A QR sign-in nobody finished is forgotten this long after its last step. Its QR codes last about
# 30 s and the polling page renews them; the telegram process drops a login nobody continues after
# 10 minutes (``login_idle_seconds``) and the wizard keeps its step for 15
# (``gateway.STEP_TTL_SECONDS``): by then nothing is left that could finish it.
QR_LOGIN_EXPIRY = timedelta(minutes=15)


def abandoned_qr_login(before: datetime) -> ColumnElement[bool]:
    """Accounts started by QR that never signed in, unchanged since ``before``: a row without a
    session, a Telegram user or a first connection (a QR account that signed in once keeps its
    ``qr:`` number, and its chats, after a disconnect: it is not one of these)."""
    return and_(BDAccount.phone.startswith(QR_PHONE_PREFIX), BDAccount.sealed_session.is_(None),
                BDAccount.telegram_user_id.is_(None), BDAccount.connected_at.is_(None),
                BDAccount.updated_at < before)


def purge_abandoned_qr_logins(ask: Ask, now: datetime | None = None) -> int:
    """Delete every organization's QR sign-ins left unfinished for ``QR_LOGIN_EXPIRY``
    (their agent rows go with them: the foreign keys cascade). A telegram process still holding a
    login client for one is asked to drop it first (``account.disconnect``, as removing does; best
    effort). Returns how many were deleted."""
    cutoff = (now or utcnow()) - QR_LOGIN_EXPIRY
    stale = list(db.session.scalars(select(BDAccount).where(abandoned_qr_login(cutoff))
                                    .order_by(BDAccount.id)))
    for account in stale:
        if leases.holder(redis_store.client, account.id) is not None:  # a login client is alive
            _disconnect_best_effort(account, ask)
        db.session.delete(account)
    db.session.flush()
    if stale:
        after_commit(lambda: control.nudge(redis_store.client))
    return len(stale)


# -- proxy -------------------------------------------------------------------------------------

PROXY_SCHEMES = ("socks5", "socks4", "http")
PROXY_TEXT_FIELDS = ("scheme", "host", "username", "password")


def clean_proxy(raw: dict[str, Any] | None, vault: SessionVault,
                current: dict[str, Any] | None = None, *,
                allow_private: bool = False) -> dict[str, Any] | None:
    """The stored form of a proxy (its password sealed), or None for no proxy.

    ``raw``: scheme, host, port, username, password. A blank password keeps the current one (forms
    never echo it back). A host on a loopback, private or reserved address, or with a local name
    (``localhost``, ``*.internal``...), is refused unless ``allow_private`` (the operator's
    TELEGRAM_ALLOW_PRIVATE_PROXIES). Raises DomainError with ``proxy_*`` fields (one that is not
    text too).
    """
    if not raw:
        return None
    not_text = [key for key in PROXY_TEXT_FIELDS
                if raw.get(key) is not None and not isinstance(raw[key], str)]
    if not_text:
        raise DomainError(_("Check the proxy settings."),
                          {f"proxy_{key}": _("Must be text.") for key in not_text})
    if not (raw.get("host") or "").strip():
        return None
    errors: dict[str, str] = {}
    scheme = str(raw.get("scheme") or "socks5").strip().lower()
    if scheme not in PROXY_SCHEMES:
        errors["proxy_scheme"] = _("One of %(choices)s.", choices=", ".join(PROXY_SCHEMES))
    host = str(raw.get("host")).strip()
    if len(host) > 253 or not re.fullmatch(r"[A-Za-z0-9.\-:\[\]]+", host):
        errors["proxy_host"] = _("A host name or IP address.")
    elif not allow_private and (refusal := proxy_hosts.host_refusal(host)):
        errors["proxy_host"] = in_words(refusal)
    port_raw = raw.get("port")
    port = port_raw if isinstance(port_raw, int) and not isinstance(port_raw, bool) else (
        int(port_raw) if isinstance(port_raw, str) and port_raw.strip().isdigit() else None)
    if port is None or not 1 <= port <= 65535:
        errors["proxy_port"] = _("A port from 1 to 65535.")
    username = str(raw.get("username") or "").strip()[:128] or None
    if errors:
        raise DomainError(_("Check the proxy settings."), errors)
    stored: dict[str, Any] = {"scheme": scheme, "host": host, "port": port, "username": username}
    password = str(raw.get("password") or "")
    if password:
        stored["sealed_password"] = vault.seal(password[:256])
    elif current and current.get("sealed_password") and current.get("host") == host:
        stored["sealed_password"] = current["sealed_password"]
    return stored


def proxy_public(proxy: dict[str, Any] | None) -> dict[str, Any] | None:
    """What may be shown of a proxy: never its password, only whether one is set."""
    if not proxy:
        return None
    return {"scheme": proxy.get("scheme"), "host": proxy.get("host"), "port": proxy.get("port"),
            "username": proxy.get("username"), "has_password": bool(proxy.get("sealed_password"))}


# -- connecting --------------------------------------------------------------------------------

def create_account(actor: Membership, phone: str | None, vault: SessionVault,
                   proxy: dict[str, Any] | None = None, *, allow_private_proxy: bool = False) -> BDAccount:
    """A new account row for ``phone``, status connecting; the caller commits, then ``start_login``.

    Raises Forbidden, or DomainError (a bad or already connected number, a bad proxy).
    """
    require(actor, Permission.ACCOUNTS_MANAGE)
    require_verified(actor.user)
    number = normalize_phone(phone, phone_region(actor.org_id))
    stored_proxy = clean_proxy(proxy, vault, allow_private=allow_private_proxy)
    taken = db.session.scalar(select(BDAccount.id).where(BDAccount.org_id == actor.org_id,
                                                         BDAccount.phone == number))
    if taken is not None:
        message = _("This number is already connected. Open it in the list to sign in again.")
        raise DomainError(message, {"phone": message})
    return _new_account(actor, number, stored_proxy)


def create_qr_account(actor: Membership, vault: SessionVault, proxy: dict[str, Any] | None = None, *,
                      allow_private_proxy: bool = False) -> BDAccount:
    """A new account row for a QR login: its number is learnt once the QR is scanned. Raises
    Forbidden, or DomainError (a bad proxy)."""
    require(actor, Permission.ACCOUNTS_MANAGE)
    require_verified(actor.user)
    stored_proxy = clean_proxy(proxy, vault, allow_private=allow_private_proxy)
    return _new_account(actor, QR_PHONE_PREFIX + secrets.token_hex(6), stored_proxy)


def _new_account(actor: Membership, phone: str, proxy: dict[str, Any] | None) -> BDAccount:
    account = BDAccount(org_id=actor.org_id, phone=phone, proxy=proxy, created_by_id=actor.user_id,
                        status=AccountStatus.CONNECTING.value, status_detail=said(N_("Waiting for sign-in")))
    db.session.add(account)
    db.session.flush()
    return account


RELOGIN_STATUSES = {AccountStatus.CONNECTING, AccountStatus.NEEDS_LOGIN, AccountStatus.OFFLINE}


def start_login(actor: Membership, account: BDAccount, ask: Ask) -> dict[str, Any]:
    """Ask the telegram process to send the login code. The row must be committed (the process
    reads it). Returns the process's answer ({"next": "code", ...}). Raises TelegramRefused.
    The process is told who asked (``by``): the finished sign-in is audited as theirs."""
    require(actor, Permission.ACCOUNTS_MANAGE)
    if AccountStatus(account.status) not in RELOGIN_STATUSES:
        raise DomainError(_("This account is signed in. Disconnect it first to sign in again."))
    return _ask(ask, "login.start", account.id, by=actor.user_id)


def submit_code(actor: Membership, account: BDAccount, code: str | None, ask: Ask) -> dict[str, Any]:
    """The login code the user received. Returns {"next": "password", "hint"} or {"next": "done"}.
    Raises DomainError on the ``code`` field (not digits, not text), or TelegramRefused."""
    require(actor, Permission.ACCOUNTS_MANAGE)
    cleaned = re.sub(r"\s|-", "", code) if isinstance(code, str) else ""
    if not cleaned.isdigit() or not 3 <= len(cleaned) <= 10:
        raise DomainError(_("Enter the code Telegram sent you."), {"code": _("Enter the digits of the "
                                                                             "code.")})
    return _ask(ask, "login.code", account.id, code=cleaned)


def submit_password(actor: Membership, account: BDAccount, password: str | None,
                    ask: Ask) -> dict[str, Any]:
    """The account's two-step verification password. Returns {"next": "done"}. Raises
    DomainError on the ``password`` field (blank, not text), or TelegramRefused."""
    require(actor, Permission.ACCOUNTS_MANAGE)
    if password is not None and not isinstance(password, str):
        raise DomainError(_("Send the password as text."), {"password": _("Send the password as text.")})
    if not password:
        raise DomainError(_("Enter the two-step verification password."),
                          {"password": _("Enter the password.")})
    return _ask(ask, "login.password", account.id, password=password)


def qr_login(actor: Membership, account: BDAccount, ask: Ask, *, refresh: bool = False) -> dict[str, Any]:
    """Start a QR login, or (``refresh``: the page polling) the current token ({"url", "expires"},
    renewed when it runs out), or, once scanned, {"next": ...}."""
    require(actor, Permission.ACCOUNTS_MANAGE)
    if refresh:
        return _ask(ask, "login.qr", account.id, refresh=True, by=actor.user_id)
    return _ask(ask, "login.qr", account.id, by=actor.user_id)


# -- settings ----------------------------------------------------------------------------------

LABEL_MAX = 100


def rename_account(actor: Membership, account: BDAccount, label: str | None, *,
                   ip: str | None = None) -> BDAccount:
    """Give the account the team's own name, shown before Telegram's (``account_name``); blank
    clears it. Trimmed; audited when it changes. Raises Forbidden, NotFound (another
    organization's), or DomainError on the ``label`` field (not text, too long)."""
    require(actor, Permission.ACCOUNTS_MANAGE)
    if account.org_id != actor.org_id:
        raise NotFound(_("Telegram account not found."))
    if label is not None and not isinstance(label, str):
        raise DomainError(_("Send the name as text."), {"label": _("Send the name as text.")})
    clean = (label or "").strip() or None
    if clean and len(clean) > LABEL_MAX:
        raise DomainError(_("That name is too long."),
                          {"label": ngettext("Use at most %(num)d character.", "Use at most %(num)d "
                                                                               "characters.",
                                             LABEL_MAX)})
    if clean != account.label:
        audit.record("account.renamed", org_id=account.org_id, actor_id=actor.user_id, target=account, ip=ip,
                     old=account.label, new=clean)
        account.label = clean
    db.session.flush()
    return account


def update_config(actor: Membership, account: BDAccount, changes: dict[str, Any]) -> dict[str, int]:
    """Apply budget / sync settings (whole numbers, or their digits as a form sends them); returns
    the effective config. Raises DomainError per field."""
    require(actor, Permission.ACCOUNTS_MANAGE)
    changes = {k: int(v) if isinstance(v, str) and re.fullmatch(r"-?\d{1,9}", v.strip()) else v
               for k, v in changes.items()}
    stored, errors = account_config.validate(changes, account.config)
    if errors:
        raise DomainError(_("Some settings need attention."), errors)
    account.config = stored or None
    db.session.flush()
    return account_config.effective(account.config)


def set_proxy(actor: Membership, account: BDAccount, raw: dict[str, Any] | None,
              vault: SessionVault, *, allow_private: bool = False) -> None:
    """Set (or with an empty host, clear) the account's proxy; the process uses it on its next
    connect. Raises DomainError with ``proxy_*`` fields (the proxy is left as it was)."""
    require(actor, Permission.ACCOUNTS_MANAGE)
    account.proxy = clean_proxy(raw, vault, current=account.proxy, allow_private=allow_private)
    db.session.flush()


def set_agents(actor: Membership, account: BDAccount, user_ids: Iterable[int]) -> list[int]:
    """Give the account to exactly these members (agents see its chats). Raises DomainError for
    someone outside the organization."""
    require(actor, Permission.ACCOUNTS_MANAGE)
    wanted = {int(u) for u in user_ids}
    members = set(db.session.scalars(select(Membership.user_id).where(
        Membership.org_id == actor.org_id, Membership.user_id.in_(wanted)))) if wanted else set()
    if wanted - members:
        raise DomainError(_("Only members of the organization can be given an account."),
                          {"agents": _("Pick members of this organization.")})
    db.session.execute(delete(bd_account_agent).where(bd_account_agent.c.account_id == account.id))
    if wanted:
        db.session.execute(insert(bd_account_agent),
                           [{"account_id": account.id, "user_id": u} for u in sorted(wanted)])
    db.session.flush()
    return sorted(wanted)


def assignable_agents(org_id: int) -> list[Membership]:
    """Members an account can be given to: agents (managers and above see every account anyway)."""
    from app.blueprints.auth.public import User

    return list(db.session.scalars(select(Membership).join(Membership.user).where(
        Membership.org_id == org_id, Membership.role == Role.AGENT.value).order_by(User.name)))


# -- disconnecting -----------------------------------------------------------------------------

def disconnect(actor: Membership, account: BDAccount, ask: Ask, *, ip: str | None = None) -> bool:
    """Sign the account out of Telegram and forget its session; chats and messages stay.

    The process is asked first (it drops the client and logs out); when no process answers, the
    session is forgotten here anyway. Raises ``AccountStatusChanged``; audited. Returns whether
    the process confirmed.
    """
    require(actor, Permission.ACCOUNTS_MANAGE)
    confirmed = _disconnect_best_effort(account, ask)
    audit.record("account.disconnected", org_id=account.org_id, actor_id=actor.user_id, target=account, ip=ip,
                 **_audit_names(account))
    old_status = account.status
    account.sealed_session = None
    account.status = AccountStatus.NEEDS_LOGIN.value
    account.status_detail = said(N_("Disconnected from the CRM. Sign in again to reconnect."))
    account.updated_at = utcnow()
    db.session.flush()
    emit(AccountStatusChanged(org_id=account.org_id, actor_id=actor.user_id, account_id=account.id,
                              old_status=old_status, new_status=account.status))
    return confirmed


def remove_account(actor: Membership, account: BDAccount, ask: Ask, *, ip: str | None = None) -> bool:
    """Disconnect (best effort), then delete the account with its chats and messages; audited."""
    require(actor, Permission.ACCOUNTS_MANAGE)
    confirmed = _disconnect_best_effort(account, ask)
    audit.record("account.removed", org_id=account.org_id, actor_id=actor.user_id, target=account, ip=ip,
                 **_audit_names(account))
    db.session.delete(account)
    db.session.flush()
    # The process holding it lets go at its next round; the nudge makes that now.
    after_commit(lambda: control.nudge(redis_store.client))
    return confirmed


def _audit_names(account: BDAccount) -> dict[str, str | None]:
    """What an audit row keeps of an account, so it reads by name after the account is gone."""
    return {"name": account_name(account), "phone": None if is_pending_qr(account) else account.phone}


def _disconnect_best_effort(account: BDAccount, ask: Ask) -> bool:
    if account.sealed_session is None and AccountStatus(account.status) != AccountStatus.CONNECTING:
        return False  # nothing to sign out of
    try:
        ask("account.disconnect", account_id=account.id)
    except ControlError:
        return False
    return True


# -- presentation ------------------------------------------------------------------------------

STATUS_LABELS = {
    AccountStatus.CONNECTING: _l("Connecting"),
    AccountStatus.ONLINE: _l("Online"),
    AccountStatus.OFFLINE: _l("Offline"),
    AccountStatus.NEEDS_LOGIN: _l("Needs re-login"),
    AccountStatus.LIMITED: _l("Limited"),
    AccountStatus.BANNED: _l("Banned"),
    AccountStatus.DEACTIVATED: _l("Deactivated"),
}


def status_detail(account: BDAccount) -> str:
    """Why the account is in its status, in the viewer's language ("" when nothing is said): the
    telegram process writes it in no language (``app.i18n.said``)."""
    return in_words(account.status_detail)


def account_name(account: BDAccount) -> str:
    """How an account is named for people, everywhere: the team's label, else its Telegram name,
    else @username, else its number ("QR sign-in" before a QR code is scanned)."""
    if account.label:
        return account.label
    if account.display_name:
        return account.display_name
    if account.username:
        return f"@{account.username}"
    return _("QR sign-in") if is_pending_qr(account) else account.phone


def status_json(account: BDAccount) -> dict[str, Any]:
    return {"id": account.id, "status": account.status, "status_detail": status_detail(account) or None,
            "limited_until": account.limited_until.isoformat() if account.limited_until else None,
            "connected_at": account.connected_at.isoformat() if account.connected_at else None,
            "synced_at": account.synced_at.isoformat() if account.synced_at else None}


def account_json(account: BDAccount, agent_ids: list[int] | None = None) -> dict[str, Any]:
    return {**status_json(account), "phone": None if is_pending_qr(account) else account.phone,
            "name": account_name(account), "label": account.label, "username": account.username,
            "telegram_user_id": account.telegram_user_id, "proxy": proxy_public(account.proxy),
            "config": account_config.effective(account.config), "agent_ids": agent_ids or [],
            "created_at": account.created_at.isoformat()}
