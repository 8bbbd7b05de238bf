"""``/api/bd-accounts``: Telegram BD accounts over the same services as the pages.

Connecting is three calls: ``POST /connect`` {phone} (Telegram sends a code), then
``POST /<id>/connect/code`` {code}, then, for an account with two-step verification,
``POST /<id>/connect/password`` {password}. Each answers ``next``: "code", "password" or "done".
A refusal from Telegram is an error envelope whose code is Telegram's (code_invalid,
code_expired, password_invalid, phone_invalid, flood_wait: 429, telegram_unavailable: 503).
A proxy's password is write-only: responses only say whether one is set.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify

from app.api.auth import json_body, only_fields, per_member_limit, protect
from app.api.docs import documented, integer, obj, string
from app.blueprints.accounts import gateway, service
from app.blueprints.accounts.config import DEFAULT_CONFIG, LIMITS
from app.blueprints.accounts.models import AccountStatus
from app.blueprints.accounts.proxy_hosts import private_proxies_allowed
from app.blueprints.accounts.vault import app_vault
from app.errors import DomainError
from app.extensions import db

bp = protect(Blueprint("accounts_api", __name__, url_prefix="/api/bd-accounts"))


per_user = per_member_limit("accounts_api")

NULLABLE_STRING = {"type": ["string", "null"]}
PROXY_IN = obj(["host", "port"], scheme=string(enum=list(service.PROXY_SCHEMES)), host=string(),
               port=integer(minimum=1, maximum=65535), username=NULLABLE_STRING,
               password={"type": ["string", "null"], "writeOnly": True})
PROXY_OUT = {"oneOf": [obj(scheme=string(), host=string(), port=integer(), username=NULLABLE_STRING,
                           has_password={"type": "boolean"}), {"type": "null"}]}
CONFIG = obj(**{key: integer(minimum=low, maximum=high) for key, (low, high) in LIMITS.items()})
STATUS = obj(id=integer(), status=string(enum=[s.value for s in AccountStatus]),
             status_detail=NULLABLE_STRING,
             limited_until={"type": ["string", "null"], "format": "date-time",
                            "description": "sending paused until then (status limited)"},
             connected_at={"type": ["string", "null"], "format": "date-time"},
             synced_at={"type": ["string", "null"], "format": "date-time"})
ACCOUNT = {**STATUS, "properties": {
    **STATUS["properties"],
    "phone": {"type": ["string", "null"], "description": "E.164 (null until a QR login ends)"},
    "name": string(), "username": NULLABLE_STRING, "telegram_user_id": {"type": ["integer", "null"]},
    "proxy": PROXY_OUT, "config": CONFIG, "agent_ids": {"type": "array", "items": integer()},
    "created_at": string(format="date-time")}}
STEP = obj(["account", "next"], account=ACCOUNT, next=string(enum=["code", "password", "done"]),
           hint={"type": ["string", "null"], "description": "the password's hint (next: password)"})
NOT_FOUND = "No such account that you may see"
REFUSED = ("Telegram refused (code_invalid, code_expired, password_invalid, phone_invalid) "
           "or the fields are invalid")


def _json(account) -> dict[str, Any]:
    return service.account_json(account, service.agents_of([account.id])[account.id])


def _step(account, answer: dict[str, Any]) -> dict[str, Any]:
    following = answer.get("next") or "done"
    if following == "done":
        gateway.forget_step(account.id)
        db.session.rollback()  # read what the process has just written
    else:
        gateway.remember_step(account.id, {"step": following, "hint": answer.get("hint")})
    return {"account": _json(account), "next": following, "hint": answer.get("hint")}


@bp.get("")
@per_user
@documented("The Telegram accounts you may see", tag="bd-accounts",
            responses={200: {"description": "Accounts, oldest first",
                             "schema": obj(items={"type": "array", "items": ACCOUNT})}})
def list_accounts():
    accounts = service.visible_accounts(g.membership)
    agents = service.agents_of(a.id for a in accounts)
    return jsonify({"items": [service.account_json(a, agents[a.id]) for a in accounts]})


@bp.post("/connect")
@per_user
@documented("Add an account by phone number and have Telegram send it a login code",
            tag="bd-accounts", body=obj(["phone"], phone=string(description="with its country code"),
                                        proxy={"oneOf": [PROXY_IN, {"type": "null"}]}),
            responses={201: {"description": "Added; next: code", "schema": STEP},
                       403: "Owners and admins only", 422: REFUSED, 429: "Telegram asks to wait (flood_wait)",
                       503: "No telegram process answered (telegram_unavailable)"})
def connect():
    data = only_fields(json_body(), {"phone", "proxy"})
    proxy = data.get("proxy")
    if proxy is not None and not isinstance(proxy, dict):
        raise DomainError("proxy: an object or null.", {"proxy": "An object or null."})
    account = service.create_account(g.membership, data.get("phone"), app_vault(), proxy,
                                     allow_private_proxy=private_proxies_allowed())
    db.session.commit()
    try:
        answer = service.start_login(g.membership, account, gateway.telegram())
    except DomainError:
        db.session.delete(account)  # nothing was started: the number can be tried again
        db.session.commit()
        raise
    return jsonify(_step(account, answer)), 201


@bp.post("/<int:account_id>/connect/code")
@per_user
@documented("Send the login code Telegram sent the account", tag="bd-accounts",
            body=obj(["code"], code=string()),
            responses={200: {"description": "next: password (two-step verification) or done", "schema": STEP},
                       403: "Owners and admins only", 404: NOT_FOUND, 422: REFUSED,
                       503: "No telegram process answered"})
def connect_code(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    data = only_fields(json_body(), {"code"})
    code = data.get("code")
    answer = service.submit_code(g.membership, account, str(code) if code is not None else None,
                                 gateway.telegram())
    return jsonify(_step(account, answer))


@bp.post("/<int:account_id>/connect/password")
@per_user
@documented("Send the account's two-step verification password", tag="bd-accounts",
            body=obj(["password"], password=string()),
            responses={200: {"description": "next: done", "schema": STEP}, 403: "Owners and admins only",
                       404: NOT_FOUND, 422: REFUSED, 503: "No telegram process answered"})
def connect_password(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    data = only_fields(json_body(), {"password"})
    password = data.get("password")
    answer = service.submit_password(g.membership, account, password, gateway.telegram())
    return jsonify(_step(account, answer))


@bp.get("/<int:account_id>/status")
@per_user
@documented("An account's status: connecting, online, offline, needs_login, limited (until), banned, "
            "deactivated", tag="bd-accounts",
            responses={200: {"description": "The status", "schema": STATUS}, 404: NOT_FOUND})
def status(account_id: int):
    return jsonify(service.status_json(service.get_account(g.membership, account_id)))


@bp.put("/<int:account_id>/config")
@per_user
@documented("Change an account's sending budgets and sync limits, its proxy (null: none) and its agents",
            tag="bd-accounts",
            body={**CONFIG, "properties": {
                **CONFIG["properties"], "proxy": {"oneOf": [PROXY_IN, {"type": "null"}]},
                "agent_ids": {"type": "array", "items": integer(),
                              "description": "exactly the members given the account"}}},
            responses={200: {"description": "The account", "schema": ACCOUNT}, 403: "Owners and admins only",
                       404: NOT_FOUND, 422: "A setting is unknown or out of range"})
def update_config(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    data = only_fields(json_body(), set(DEFAULT_CONFIG) | {"proxy", "agent_ids"})
    if "proxy" in data:
        proxy = data.pop("proxy")
        if proxy is not None and not isinstance(proxy, dict):
            raise DomainError("proxy: an object or null.", {"proxy": "An object or null."})
        service.set_proxy(g.membership, account, proxy, app_vault(), allow_private=private_proxies_allowed())
    if "agent_ids" in data:
        ids = data.pop("agent_ids")
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise DomainError("agent_ids: a list of user ids.", {"agent_ids": "A list of user ids."})
        service.set_agents(g.membership, account, ids)
    if data:
        service.update_config(g.membership, account, data)
    db.session.commit()
    return jsonify(_json(account))


@bp.delete("/<int:account_id>")
@per_user
@documented("Disconnect an account and delete it with its chats and messages", tag="bd-accounts",
            responses={200: {"description": "Deleted", "schema": obj(deleted={"type": "boolean"})},
                       403: "Owners and admins only", 404: NOT_FOUND})
def delete(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    service.remove_account(g.membership, account, gateway.telegram(timeout=5))
    db.session.commit()
    gateway.forget_step(account_id)
    return jsonify({"deleted": True})

