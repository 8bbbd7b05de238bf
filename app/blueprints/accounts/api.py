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

from flask import Blueprint, g, jsonify, request, url_for

from app.api.auth import json_body, per_member_limit, protect
from app.api.docs import ID, NO_NUL, always, documented, integer, obj, string
from app.blueprints.accounts import gateway, service
from app.blueprints.accounts.config import LIMITS
from app.blueprints.accounts.models import AccountStatus
from app.blueprints.accounts.proxy_hosts import private_proxies_allowed
from app.blueprints.accounts.vault import app_vault
from app.errors import DomainError
from app.extensions import db

bp = protect(Blueprint("accounts_api", __name__, url_prefix="/api/bd-accounts"))


per_user = per_member_limit("accounts_api")

NULL_STR = {"type": ["string", "null"]}
NULL_TIME = {"type": ["string", "null"], "format": "date-time"}
MAX_AGENTS = 1000  # more than any organization gives one account; keeps the lookup one statement


PROXY_IN = obj(["host", "port"],
               scheme=string(enum=list(service.PROXY_SCHEMES), description="socks5 if absent"),
               host=string(minLength=1, maxLength=253, pattern=r"^[A-Za-z0-9.:\[\]-]+$",
                           description="a host name or IP address"),
               port=integer(minimum=1, maximum=65535),
               username={"type": ["string", "null"], "maxLength": 128},
               password={"type": ["string", "null"], "maxLength": 256, "writeOnly": True,
                         "description": "blank or absent: keep the one set for this host"})
PROXY_OR_NONE = {"oneOf": [PROXY_IN, {"type": "null"}]}
PROXY_OUT = {"oneOf": [always(scheme=string(), host=string(), port=integer(), username=NULL_STR,
                              has_password={"type": "boolean"}), {"type": "null"}]}
BUDGETS = {key: integer(minimum=low, maximum=high) for key, (low, high) in LIMITS.items()}
STATUS = always(id=integer(), status=string(enum=[s.value for s in AccountStatus]), status_detail=NULL_STR,
                limited_until={**NULL_TIME, "description": "sending paused until then (status limited)"},
                connected_at=NULL_TIME, synced_at=NULL_TIME)
ACCOUNT = always(
    **STATUS["properties"],
    phone={"type": ["string", "null"], "description": "E.164 (null until a QR login ends)"},
    name=string(description="how people see it named: its label, else Telegram's name, @username or number"),
    label={"type": ["string", "null"], "description": "the team's own name for it (null: none)"},
    username=NULL_STR, telegram_user_id={"type": ["integer", "null"]}, proxy=PROXY_OUT,
    config=always(**BUDGETS), agent_ids={"type": "array", "items": integer()},
    created_at=string(format="date-time"))
STEP = always(account=ACCOUNT, next=string(enum=["code", "password", "done"]),
              hint={"type": ["string", "null"], "description": "the password's hint (next: password)"})
NOT_FOUND = "No such account that you may see"
REFUSED = ("Telegram refused (code_invalid, code_expired, password_invalid, phone_invalid, phone_banned, "
           "phone_taken, proxy_refused), or a value is refused (invalid)")
FLOOD = "Telegram asks to wait (flood_wait)"
UNAVAILABLE = "No telegram process answered (telegram_unavailable): try again in a minute"
THE_ACCOUNT = {"account_id": "$response.body#/account/id"}
FIRST_ACCOUNT = {"account_id": "$response.body#/items/0/id"}
LIST_LINKS = {"GetStatus": {"operationId": "accounts_api.status", "parameters": FIRST_ACCOUNT},
              "UpdateConfig": {"operationId": "accounts_api.update_config", "parameters": FIRST_ACCOUNT},
              "SendCode": {"operationId": "accounts_api.connect_code", "parameters": FIRST_ACCOUNT}}
STEP_LINKS = {"SendCode": {"operationId": "accounts_api.connect_code", "parameters": THE_ACCOUNT},
              "SendPassword": {"operationId": "accounts_api.connect_password", "parameters": THE_ACCOUNT},
              "GetStatus": {"operationId": "accounts_api.status", "parameters": THE_ACCOUNT}}


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
            responses={200: {"description": "Accounts, oldest first", "links": LIST_LINKS,
                             "schema": always(items={"type": "array", "items": ACCOUNT})}})
def list_accounts():
    accounts = service.visible_accounts(g.membership)
    agents = service.agents_of(a.id for a in accounts)
    return jsonify({"items": [service.account_json(a, agents[a.id]) for a in accounts]})


@bp.post("/connect")
@per_user
@documented("Add an account by phone number and have Telegram send it a login code",
            tag="bd-accounts",
            body=obj(["phone"], phone=string(minLength=1, maxLength=32, pattern=r"^[0-9+()./ -]+$",
                                             description="with its country code, e.g. +44 7700 900123"),
                     proxy=PROXY_OR_NONE),
            responses={201: {"description": "Added; next: code", "schema": STEP, "links": STEP_LINKS,
                             "headers": {"Location": {"description": "the account's status", "required": True,
                                                      "schema": string()}}},
                       403: "Owners and admins only",
                       422: f"{REFUSED}; or the number is already connected", 429: FLOOD, 503: UNAVAILABLE})
def connect():
    data = json_body()
    account = service.create_account(g.membership, data["phone"], app_vault(), data.get("proxy"),
                                     allow_private_proxy=private_proxies_allowed())
    db.session.commit()
    try:
        answer = service.start_login(g.membership, account, gateway.telegram())
    except DomainError:
        db.session.delete(account)  # nothing was started: the number can be tried again
        db.session.commit()
        raise
    response = jsonify(_step(account, answer))
    response.status_code = 201
    response.headers["Location"] = url_for("accounts_api.status", account_id=account.id)
    return response


@bp.post("/<int:account_id>/connect/code")
@per_user
@documented("Send the login code Telegram sent the account", tag="bd-accounts",
            body=obj(["code"], code=string(minLength=3, maxLength=32,
                                           description="its 3 to 10 digits (spaces and dashes are dropped)")),
            responses={200: {"description": "next: password (two-step verification) or done", "schema": STEP,
                             "links": STEP_LINKS},
                       403: "Owners and admins only", 404: NOT_FOUND, 422: REFUSED, 429: FLOOD,
                       503: UNAVAILABLE})
def connect_code(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    answer = service.submit_code(g.membership, account, json_body()["code"], gateway.telegram())
    return jsonify(_step(account, answer))


@bp.post("/<int:account_id>/connect/password")
@per_user
@documented("Send the account's two-step verification password", tag="bd-accounts",
            body=obj(["password"], password=string(minLength=1, maxLength=1024, writeOnly=True)),
            responses={200: {"description": "next: done", "schema": STEP}, 403: "Owners and admins only",
                       404: NOT_FOUND, 422: REFUSED, 429: FLOOD, 503: UNAVAILABLE})
def connect_password(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    answer = service.submit_password(g.membership, account, json_body()["password"], gateway.telegram())
    return jsonify(_step(account, answer))


@bp.get("/<int:account_id>/status")
@per_user
@documented("An account's status: connecting, online, offline, needs_login, limited (until), banned, "
            "deactivated", tag="bd-accounts",
            responses={200: {"description": "The status", "schema": STATUS}, 404: NOT_FOUND})
def status(account_id: int):
    return jsonify(service.status_json(service.get_account(g.membership, account_id)))


@bp.patch("/<int:account_id>")
@per_user
@documented("Rename an account: the team's own name for it, shown before Telegram's", tag="bd-accounts",
            body=obj(["label"], label={"type": ["string", "null"], "maxLength": service.LABEL_MAX,
                                       "pattern": NO_NUL,
                                       "description": "trimmed; blank or null clears it"}),
            responses={200: {"description": "The account", "schema": ACCOUNT}, 403: "Owners and admins only",
                       404: NOT_FOUND, 422: "The name is not text or too long"})
def rename(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    service.rename_account(g.membership, account, json_body()["label"], ip=request.remote_addr)
    db.session.commit()
    return jsonify(_json(account))


@bp.put("/<int:account_id>/config")
@per_user
@documented("Change an account's sending budgets and sync limits, its proxy (null: none) and its agents; "
            "what is left out stays", tag="bd-accounts",
            body=obj(**BUDGETS, proxy=PROXY_OR_NONE,
                     agent_ids={"type": "array", "items": ID, "maxItems": MAX_AGENTS,
                                "description": "exactly the members given the account"}),
            responses={200: {"description": "The account", "schema": ACCOUNT}, 403: "Owners and admins only",
                       404: NOT_FOUND,
                       422: "A proxy refused, someone not a member, or the minimum gap above the maximum"})
def update_config(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    changes = dict(json_body())
    if "proxy" in changes:
        service.set_proxy(g.membership, account, changes.pop("proxy"), app_vault(),
                          allow_private=private_proxies_allowed())
    if "agent_ids" in changes:
        service.set_agents(g.membership, account, changes.pop("agent_ids"))
    if changes:
        service.update_config(g.membership, account, changes)
    db.session.commit()
    return jsonify(_json(account))


@bp.delete("/<int:account_id>")
@per_user
@documented("Disconnect an account and delete it with its chats and messages", tag="bd-accounts",
            responses={200: {"description": "Deleted", "schema": always(deleted={"type": "boolean"})},
                       403: "Owners and admins only", 404: NOT_FOUND})
def delete(account_id: int):
    account = service.get_managed_account(g.membership, account_id)
    service.remove_account(g.membership, account, gateway.telegram(timeout=5), ip=request.remote_addr)
    db.session.commit()
    gateway.forget_step(account_id)
    return jsonify({"deleted": True})
