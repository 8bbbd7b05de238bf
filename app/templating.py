"""Jinja globals: navigation (items appear as their pages exist), permissions, asset versions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from flask import Flask, current_app, g, has_request_context, request, url_for

from app.blueprints.team.permissions import Permission, can


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    icon: str
    permission: Permission | None = None


NAV_MAIN = (
    NavItem("core.home", "Home", "home"),
    NavItem("inbox.index", "Inbox", "inbox"),
    NavItem("crm.contacts", "Contacts", "user"),
    NavItem("crm.companies", "Companies", "building"),
    NavItem("crm.deals", "Deals", "dollar"),
    NavItem("pipeline.board", "Pipeline", "columns"),
    NavItem("campaigns.index", "Campaigns", "send"),
    NavItem("automation.index", "Automation", "bolt"),
    NavItem("ai.drafts", "AI drafts", "spark"),
    NavItem("analytics.index", "Analytics", "chart"),
    NavItem("accounts.index", "Telegram accounts", "phone", Permission.ACCOUNTS_MANAGE),
)
NAV_SETTINGS = (
    NavItem("team.organization", "Organization", "settings"),
    NavItem("team.members", "Team", "users"),
    NavItem("team.organizations", "Your organizations", "layers"),
    NavItem("crm.custom_fields", "Custom fields", "columns"),
    NavItem("team.audit_log", "Audit log", "shield", Permission.AUDIT_VIEW),
)


def _visible(items: tuple[NavItem, ...]) -> list[NavItem]:
    membership = g.get("membership")
    return [
        item for item in items
        if item.endpoint in current_app.view_functions
        and (item.permission is None or (membership and can(membership.role, item.permission)))
    ]


@cache
def _fingerprint(static_folder: str, filename: str) -> str:
    path = Path(static_folder) / filename
    return hashlib.sha256(path.read_bytes()).hexdigest()[:10] if path.exists() else "0"


def asset(filename: str) -> str:
    """A static URL with a content hash, so browsers may cache assets for a long time."""
    return url_for("static", filename=filename, v=_fingerprint(current_app.static_folder, filename))


def init_templating(app: Flask) -> None:
    app.jinja_env.globals.update(asset=asset, can=can, Permission=Permission)
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True

    @app.context_processor
    def shell() -> dict:
        if not has_request_context():
            return {}  # realtime fragments render outside requests; their blocks get what they need
        membership = g.get("membership")
        return {
            "membership": membership,
            "org": membership.organization if membership else None,
            "nav_main": _visible(NAV_MAIN) if membership else [],
            "nav_settings": _visible(NAV_SETTINGS) if membership else [],
            "active_endpoint": request.endpoint,
        }
