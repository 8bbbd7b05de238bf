"""Jinja globals: navigation (items appear as their pages exist), permissions, asset versions."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app.blueprints.team.public import Permission, Role, can
from app.canonical import phone_display


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str  # lazy: read in the viewer's language
    icon: str
    permission: Permission | None = None


NAV_MAIN = (
    NavItem("core.home", _l("Home"), "home"),
    NavItem("inbox.index", _l("Inbox"), "inbox"),
    NavItem("crm.contacts", _l("Contacts"), "user"),
    NavItem("crm.companies", _l("Companies"), "building"),
    NavItem("crm.deals", _l("Deals"), "dollar"),
    NavItem("crm_import.index", _l("Imports"), "upload"),
    NavItem("pipeline.board", _l("Pipeline"), "columns"),
    NavItem("campaigns.index", _l("Campaigns"), "send"),
    NavItem("automation.index", _l("Automation"), "bolt"),
    NavItem("ai.drafts", _l("AI drafts"), "spark"),
    NavItem("analytics.index", _l("Analytics"), "chart"),
    NavItem("accounts.index", _l("Telegram accounts"), "phone", Permission.ACCOUNTS_MANAGE),
)
NAV_SETTINGS = (
    NavItem("team.organization", _l("Organization"), "settings"),
    NavItem("team.members", _l("Team"), "users"),
    NavItem("auth.organizations", _l("Your organizations"), "layers"),
    NavItem("auth.sessions", _l("Your sessions"), "shield"),
    NavItem("pipeline.settings", _l("Pipelines"), "columns"),
    NavItem("crm.custom_fields", _l("Custom fields"), "columns"),
    NavItem("team.audit_log", _l("Audit log"), "shield", Permission.AUDIT_VIEW),
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


def duration(seconds: float | None) -> str:
    """A span of time the way people say it: "45 min", "5 h", "3 days"."""
    if seconds is None:
        return ""
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} min"
    hours = minutes // 60
    if hours < 48:
        return f"{hours} h"
    return f"{hours // 24} days"


def money(amount: Decimal | float | int | None, currency: str = "") -> str:
    """Compact money for tight places: 950, 12.5k, 3.2M (with the currency code when given)."""
    if amount is None:
        return ""
    value = float(amount)
    for limit, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            text = f"{value / limit:.1f}".removesuffix(".0") + suffix
            break
    else:
        text = f"{value:,.0f}"
    return f"{currency} {text}".strip()


def when(moment: datetime | date | str | None, style: str = "datetime") -> Markup:
    """A UTC moment as <time>: UTC text for the server's render, the viewer's own clock once the
    browser has localized it (app.js reads ``data-local``). ``style``: datetime, date, seconds,
    short (the time for today, else the day and time: chat lists and threads), or day: a calendar
    day (a close date, a date field; a ``date`` or its ISO text), the same day in every time zone."""
    if moment is None or moment == "":
        return Markup("")
    if style == "day" or not isinstance(moment, datetime):
        try:
            day = (moment.date() if isinstance(moment, datetime) else moment if isinstance(moment, date)
                   else date.fromisoformat(str(moment)))
        except ValueError:
            return Markup("{}").format(moment)  # not a date after all: shown as it is
        return Markup('<time datetime="{}" data-local="day">{}</time>').format(
            day.isoformat(), f"{day:%b} {day.day}, {day.year}")  # as the browser writes it: Mar 1, 2027
    formats = {"datetime": "%b %d, %Y %H:%M UTC", "date": "%b %d, %Y", "seconds": "%Y-%m-%d %H:%M:%S UTC",
               "short": "%b %d %H:%M"}
    return Markup('<time datetime="{}" data-local="{}">{}</time>').format(
        moment.isoformat(), style, moment.strftime(formats[style]))


def _oob(html: str) -> Markup:
    """Mark a rendered fragment for an out-of-band swap of the element with its id."""
    from app.realtime import oob

    return Markup(oob(str(html)))  # noqa: S704 - our own rendered, already escaped template output


def init_templating(app: Flask) -> None:
    app.jinja_env.globals.update(asset=asset, can=can, Permission=Permission)
    app.jinja_env.filters.update(duration=duration, money=money, oob=_oob, phone=phone_display, when=when,
                                 role_name=lambda role: Role(role).label)
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
