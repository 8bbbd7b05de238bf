"""Account pages: the list with live statuses, the connect wizard, one account's settings.

The wizard (``connect.html``, block ``wizard``) moves phone -> code -> password (or QR ->
password) one POST at a time; each step asks the telegram process through the control channel and
shows its refusal on the form (422, what was typed kept, a password never echoed).
"""

from __future__ import annotations

from typing import Any

import segno
from flask import flash, g, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import login_required

from app.blueprints.accounts import bp, gateway, live, service  # noqa: F401 - live: renderer, subscribers
from app.blueprints.accounts.config import DEFAULT_CONFIG, LIMITS, effective
from app.blueprints.accounts.models import AccountStatus, BDAccount
from app.blueprints.accounts.proxy_hosts import private_proxies_allowed
from app.blueprints.accounts.vault import app_vault
from app.blueprints.team.public import Permission, can, people, require
from app.errors import DomainError, Forbidden, NotFound
from app.extensions import db
from app.htmx import is_partial_request, render

SETTING_LABELS = {
    "new_chats_per_day": (_l("New chats per day"), _l("First messages to people who never wrote to this "
                                                      "account.")),
    "new_chat_gap_min_seconds": (_l("Shortest gap between new chats (s)"), _l("Outreach waits at least "
                                                                              "this long.")),
    "new_chat_gap_max_seconds": (_l("Longest gap between new chats (s)"), _l("…and at most this long, at "
                                                                             "random.")),
    "messages_per_hour": (_l("Messages per hour"), _l("Every outbound message, replies included.")),
    "sync_dialogs": (_l("Chats to import"), _l("How many recent chats the first sync brings in.")),
    "sync_messages_per_dialog": (_l("Messages per chat to import"),
                                 _l("History the first sync brings in per chat.")),
}


@bp.app_template_filter("account_status")
def account_status_label(status: str) -> str:
    """An account status in words, wherever an account is shown (pages, chats, live pushes)."""
    return str(service.STATUS_LABELS.get(status, status))


# Why an account is in its status, in the viewer's language (the telegram process says it in none).
bp.app_template_filter("account_detail")(service.status_detail)
# How an account is named for people, in every template (accounts pages, the inbox, live pushes).
bp.app_template_filter("account_name")(service.account_name)


@bp.before_request
@login_required
def signed_in() -> None:
    """Every account page needs a signed-in member."""


@bp.get("/", endpoint="index")
def index():
    accounts = service.visible_accounts(g.membership)
    return render("accounts/index.html", accounts=accounts, agents=service.agents_of(a.id for a in accounts),
                  team=_team_names(), manage=can(g.membership.role, Permission.ACCOUNTS_MANAGE))


# -- the connect wizard ------------------------------------------------------------------------

def _wizard(step: dict[str, Any], account: BDAccount | None = None, error: DomainError | None = None,
            values: Any = None, status: int = 200):
    if step.get("step") == "qr" and step.get("url"):
        step = {**step, "image": _qr_image(step["url"])}
    return render("accounts/connect.html", block="wizard", step=step, account=account,
                  error=error.message if error else None, errors=error.fields if error else {},
                  values=values or {}, status=status)


def _qr_image(url: str) -> str:
    """The QR code as an SVG data: URL (the CSP allows data: images; nothing leaves the server)."""
    return segno.make(url, error="m").svg_data_uri(scale=6, border=2)


def _proxy_from(form: Any) -> dict[str, Any]:
    return {key: form.get(f"proxy_{key}", "") for key in ("scheme", "host", "port", "username", "password")}


def _refused(err: DomainError) -> None:
    db.session.rollback()
    if isinstance(err, Forbidden | NotFound):
        raise err


@bp.get("/connect")
def connect():
    require(g.membership, Permission.ACCOUNTS_MANAGE)
    return _wizard({"step": "qr_start" if request.args.get("method") == "qr" else "phone"})


@bp.post("/connect")
def connect_phone():
    """Add the number and ask Telegram for a login code; a refusal forgets the new row again."""
    try:
        account = service.create_account(g.membership, request.form.get("phone"), app_vault(),
                                          _proxy_from(request.form),
                                          allow_private_proxy=private_proxies_allowed())
    except DomainError as err:
        _refused(err)
        return _wizard({"step": "phone"}, error=err, values=request.form, status=422)
    db.session.commit()  # the telegram process reads the row
    try:
        answer = service.start_login(g.membership, account, gateway.telegram())
    except DomainError as err:
        _forget_new(account)
        return _wizard({"step": "phone"}, error=err, values=request.form, status=422)
    return _advance(account, answer)


@bp.post("/connect/qr")
def connect_qr():
    try:
        account = service.create_qr_account(g.membership, app_vault(), _proxy_from(request.form),
                                            allow_private_proxy=private_proxies_allowed())
    except DomainError as err:
        _refused(err)
        return _wizard({"step": "qr_start"}, error=err, values=request.form, status=422)
    db.session.commit()
    try:
        answer = service.qr_login(g.membership, account, gateway.telegram())
    except DomainError as err:
        _forget_new(account)
        return _wizard({"step": "qr_start"}, error=err, values=request.form, status=422)
    return _advance(account, answer)


def _forget_new(account: BDAccount) -> None:
    db.session.rollback()
    db.session.delete(db.session.get(BDAccount, account.id))
    db.session.commit()


def _advance(account: BDAccount, answer: dict[str, Any]):
    """Show the step the process asks for next (and remember it for a reloaded page)."""
    if answer.get("url"):
        step = {"step": "qr", "url": answer["url"], "expires": answer.get("expires")}
    elif answer.get("next") in ("code", "password"):
        step = {"step": answer["next"], "hint": answer.get("hint"), "via": answer.get("via")}
    else:  # done: the process saved the session and set the status
        gateway.forget_step(account.id)
        db.session.rollback()  # a fresh read: the process has just written the account
        return _wizard({"step": "done"}, account)
    gateway.remember_step(account.id, {k: v for k, v in step.items() if k != "url"})
    return _wizard(step, account)


@bp.get("/<int:account_id>/connect")
def resume(account_id: int):
    """The step a sign-in under way is on, or a button to start one."""
    account = service.get_managed_account(g.membership, account_id)
    if AccountStatus(account.status) not in service.RELOGIN_STATUSES:
        return _wizard({"step": "done"}, account)
    step = gateway.login_step(account.id) or {"step": "restart"}
    if step.get("step") == "qr":
        step = {"step": "restart", "qr": True}
    return _wizard(step, account)


@bp.post("/<int:account_id>/connect")
def relogin(account_id: int):
    """Start (again) a sign-in for a known account: a fresh code, or a fresh QR code."""
    account = service.get_managed_account(g.membership, account_id)
    qr = request.form.get("method") == "qr" or service.is_pending_qr(account)
    try:
        answer = (service.qr_login if qr else service.start_login)(g.membership, account, gateway.telegram())
    except DomainError as err:
        _refused(err)
        return _wizard({"step": "restart", "qr": qr}, account, error=err, status=422)
    return _advance(account, answer)


@bp.post("/<int:account_id>/connect/code")
def code(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    step = gateway.login_step(account.id) or {"step": "code"}
    try:
        answer = service.submit_code(g.membership, account, request.form.get("code"), gateway.telegram())
    except DomainError as err:
        _refused(err)
        return _wizard({**step, "step": "code", "expired": err.code == "code_expired"}, account,
                       error=err, values={"code": request.form.get("code", "")}, status=422)
    return _advance(account, answer)


@bp.post("/<int:account_id>/connect/password")
def password(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    step = gateway.login_step(account.id) or {"step": "password"}
    try:
        answer = service.submit_password(g.membership, account, request.form.get("password"),
                                         gateway.telegram())
    except DomainError as err:
        _refused(err)
        return _wizard({**step, "step": "password"}, account, error=err, status=422)
    return _advance(account, answer)


@bp.get("/<int:account_id>/connect/qr")
def qr(account_id: int):
    """Polled by the QR step: the current QR code until it is scanned, then the next step."""
    account = service.get_managed_account(g.membership, account_id)
    if AccountStatus(account.status) == AccountStatus.ONLINE:
        answer: dict[str, Any] = {"next": "done"}
    else:
        try:
            answer = service.qr_login(g.membership, account, gateway.telegram(), refresh=True)
        except DomainError as err:
            _refused(err)
            return _wizard({"step": "restart", "qr": True}, account, error=err, status=422)
    if answer.get("url"):  # not scanned yet: only the picture (perhaps a renewed one) changes
        return render("accounts/connect.html", block="qr", account=account,
                      step={"image": _qr_image(answer["url"])})
    response = _advance(account, answer)
    response.headers["HX-Retarget"] = "#wizard"  # scanned: the whole wizard moves on
    response.headers["HX-Reswap"] = "outerHTML"
    return response


# -- one account ------------------------------------------------------------------------------

def _team_names() -> dict[int, str]:
    return {u.id: u.name for u in people(g.membership.org_id)}


def _detail_context(account: BDAccount, **extra) -> dict[str, Any]:
    return {"account": account, "manage": can(g.membership.role, Permission.ACCOUNTS_MANAGE),
            "settings": effective(account.config), "labels": SETTING_LABELS, "limits": LIMITS,
            "proxy": service.proxy_public(account.proxy), "schemes": service.PROXY_SCHEMES,
            "agents": service.assignable_agents(account.org_id),
            "given": set(service.agents_of([account.id])[account.id]), "errors": {}, **extra}


@bp.get("/<int:account_id>")
def detail(account_id: int):
    account = service.get_account(g.membership, account_id)
    return render("accounts/detail.html", **_detail_context(account))


@bp.post("/<int:account_id>/label")
def label(account_id: int):
    """The team's own name for the account; the page title follows (out of band)."""
    account = service.get_managed_account(g.membership, account_id)
    try:
        service.rename_account(g.membership, account, request.form.get("label"), ip=request.remote_addr)
    except DomainError as err:
        _refused(err)
        return render("accounts/detail.html", block="name_card", status=422, values=request.form,
                      **_detail_context(account, errors=err.fields))
    db.session.commit()
    return render("accounts/detail.html", block="name_card", toast=_("Name saved."),
                  **_detail_context(account, retitle=is_partial_request()))


@bp.post("/<int:account_id>/config")
def config(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    changes = {key: request.form[key].strip() for key in DEFAULT_CONFIG if request.form.get(key, "").strip()}
    try:
        service.update_config(g.membership, account, changes)
    except DomainError as err:
        _refused(err)
        return render("accounts/detail.html", block="settings_card", status=422, values=request.form,
                      **_detail_context(account, errors=err.fields))
    db.session.commit()
    return render("accounts/detail.html", block="settings_card", toast=_("Settings saved."),
                  **_detail_context(account))


@bp.post("/<int:account_id>/proxy")
def proxy(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    try:
        service.set_proxy(g.membership, account, _proxy_from(request.form), app_vault(),
                          allow_private=private_proxies_allowed())
    except DomainError as err:
        _refused(err)
        values = {k: v for k, v in request.form.items() if k != "proxy_password"}
        return render("accounts/detail.html", block="proxy_card", status=422, values=values,
                      **_detail_context(account, errors=err.fields))
    db.session.commit()
    saved = _("Proxy saved. It is used from the next connection.") if account.proxy else _("Proxy removed.")
    return render("accounts/detail.html", block="proxy_card", toast=saved, **_detail_context(account))


@bp.post("/<int:account_id>/agents")
def agents(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    ids = [int(i) for i in request.form.getlist("agents") if i.isdigit()]
    service.set_agents(g.membership, account, ids)
    db.session.commit()
    return render("accounts/detail.html", block="agents_card", toast=_("Agents saved."),
                  **_detail_context(account))


@bp.post("/<int:account_id>/disconnect")
def disconnect(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    service.disconnect(g.membership, account, gateway.telegram(timeout=5), ip=request.remote_addr)
    db.session.commit()
    flash(_("Account disconnected. Its chats stay in the inbox; sign in again to reconnect."), "success")
    return redirect(url_for("accounts.detail", account_id=account_id))


@bp.post("/<int:account_id>/delete")
def remove(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    name = service.account_name(account)
    service.remove_account(g.membership, account, gateway.telegram(timeout=5), ip=request.remote_addr)
    db.session.commit()
    gateway.forget_step(account_id)
    flash(_("%(name)s removed with its chats and messages.", name=name), "success")
    return redirect(url_for("accounts.index"))
