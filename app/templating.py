"""Jinja globals: navigation (items appear as their pages exist), permissions, asset versions."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_skeleton
from babel.numbers import format_compact_currency, format_compact_decimal, format_currency, format_decimal
from babel.units import format_unit
from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_babel import LazyString, get_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from app.blueprints.team.public import Permission, Role, can
from app.canonical import phone_display
from app.i18n import DEFAULT_LANGUAGE


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
    NavItem("auth.profile", _l("Your profile"), "user"),
    NavItem("auth.sessions", _l("Your sessions"), "shield"),
    NavItem("pipeline.settings", _l("Pipelines"), "columns"),
    NavItem("crm.custom_fields", _l("Custom fields"), "columns"),
    NavItem("outreach_settings.show", _l("Outreach"), "send"),
    NavItem("campaign_suppressions.index", _l("Do not contact"), "shield"),
    NavItem("message_templates.index", _l("Message templates"), "layers"),
    NavItem("team.activity_log", _l("Activity log"), "layers", Permission.AUDIT_VIEW),
    NavItem("team.audit_log", _l("Audit log"), "shield", Permission.AUDIT_VIEW),
    NavItem("mailbox.inbox", _l("Development mailbox"), "inbox"),  # only without an SMTP server
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


def _locale() -> Locale:
    return get_locale() or Locale.parse(DEFAULT_LANGUAGE)


# A span of time in its largest sensible unit: minutes under an hour, hours under two days.
_UNITS = (("duration-minute", 60, "short"), ("duration-hour", 3600, "short"), ("duration-day", 86400, "long"))


def duration(seconds: float | None, compact: bool = False) -> str:
    """A span of time the way people say it, in the viewer's language: "45 min", "5 hr", "3 days"
    ("45 мин", "5 ч", "3 дня"); ``compact`` for tight places: "3d" ("3 д.")."""
    if seconds is None:
        return ""
    minutes = int(seconds // 60)
    unit, size, length = _UNITS[0] if minutes < 60 else _UNITS[1] if minutes < 48 * 60 else _UNITS[2]
    count = max(int(seconds // size), 1)
    return format_unit(count, unit, length="narrow" if compact else length, locale=_locale())


def number(value: Decimal | float | int | None) -> str:
    """A number as the viewer's language writes it: 1,234,567.5 or 1 234 567,5."""
    return "" if value is None else format_decimal(value, locale=_locale())


def money(amount: Decimal | float | int | None, currency: str = "", full: bool = False) -> str:
    """An amount in its own currency, written the viewer's way. Compact by default, for tight places
    (a board's cards and sums): $12.5K, 1,2 млн ₽; ``full`` to the cent: $1,234,567.50,
    1 234 567,50 ₽. With no currency, just the number."""
    if amount is None:
        return ""
    locale = _locale()
    if full:
        return _spaced(format_currency(amount, currency, locale=locale)) if currency else \
            format_decimal(amount, format="#,##0.00", locale=locale)
    if currency:
        return _spaced(format_compact_currency(amount, currency, locale=locale, fraction_digits=1))
    return format_compact_decimal(amount, locale=locale, fraction_digits=1)


# CLDR's currency spacing, which Babel leaves out: a code written as the symbol ("RUB", "AED") is
# kept apart from the digits it touches: RUB 90K, not RUB90K.
_CODE_TOUCHING_DIGIT = re.compile(r"(?<=[A-Z]{2})(?=[\d-])|(?<=\d)(?=[A-Z]{3})")


def _spaced(text: str) -> str:
    return _CODE_TOUCHING_DIGIT.sub("\u00a0", text)


# Server-rendered text of a <time>, in the viewer's language and in UTC (the browser then rewrites
# it on the viewer's own clock): CLDR skeletons, so each language orders and abbreviates its own way.
_DATE_SKELETONS = {"datetime": "yMMMd", "date": "yMMMd", "short": "MMMd", "day": "yMMMd"}


def _moment_text(moment: datetime, style: str, locale: Locale) -> str:
    if style == "seconds":
        return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    day = format_skeleton(_DATE_SKELETONS.get(style, "yMMMd"), moment, tzinfo=UTC, locale=locale)
    if style == "date":
        return day
    clock = format_skeleton("Hm", moment, tzinfo=UTC, locale=locale)
    text = locale.datetime_formats["medium"].replace("{1}", day).replace("{0}", clock)
    return f"{text} UTC" if style == "datetime" else text


def when(moment: datetime | date | str | None, style: str = "datetime") -> Markup:
    """A UTC moment as <time>: UTC text for the server's render, the viewer's own clock once the
    browser has localized it (app.js reads ``data-local``, in the page's language). ``style``:
    datetime, date, seconds, short (the time for today, else the day and time: chat lists and
    threads), or day: a calendar day (a close date, a date field; a ``date`` or its ISO text), the
    same day in every time zone."""
    if moment is None or moment == "":
        return Markup("")
    locale = _locale()
    if style == "day" or not isinstance(moment, datetime):
        try:
            day = (moment.date() if isinstance(moment, datetime) else moment if isinstance(moment, date)
                   else date.fromisoformat(str(moment)))
        except ValueError:
            return Markup("{}").format(moment)  # not a date after all: shown as it is
        return Markup('<time datetime="{}" data-local="day">{}</time>').format(
            day.isoformat(), format_skeleton("yMMMd", day, locale=locale))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # stored times are UTC
    return Markup('<time datetime="{}" data-local="{}">{}</time>').format(
        moment.isoformat(), style, _moment_text(moment, style, locale))


def _oob(html: str) -> Markup:
    """Mark a rendered fragment for an out-of-band swap of the element with its id."""
    from app.realtime import oob

    return Markup(oob(str(html)))  # noqa: S704 - our own rendered, already escaped template output


def _finalize(value: object) -> object:
    """Every ``{{ value }}`` passes here before it is escaped. A lazy translation is text, not
    markup, but Flask-Babel's LazyString offers ``__html__``, which would let the values filled into
    it (a CSV cell, a person's name) through unescaped: it is made plain text first."""
    return str(value) if isinstance(value, LazyString) else value


def init_templating(app: Flask) -> None:
    app.jinja_env.finalize = _finalize
    app.jinja_env.globals.update(asset=asset, can=can, Permission=Permission)
    app.jinja_env.filters.update(duration=duration, money=money, number=number, oob=_oob, phone=phone_display,
                                 when=when, role_name=lambda role: Role(role).label)
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
