"""The interface's languages: Russian and English, the one each request is answered in, and where
the catalogs live (``app/translations``; the Makefile's ``i18n-*`` targets keep them).

A page is answered in its signed-in person's own language (their profile), else the one chosen
with the switcher (a cookie), else the best of the browser's ``Accept-Language``, else English; the
API in ``Accept-Language``'s. Strings are marked with ``gettext`` (``_`` in
templates), ``lazy_gettext`` where they are defined at import time (navigation, form labels), and
``ngettext`` for counts (Russian has three forms: 1 сделка, 2 сделки, 5 сделок).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, has_request_context, request
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.datastructures import LanguageAccept

from app.extensions import babel

LANGUAGES = {"ru": "Русский", "en": "English"}  # each named in itself, as a switcher shows it
DEFAULT_LANGUAGE = "en"
COOKIE = "lang"
COOKIE_MAX_AGE = 365 * 24 * 3600
TRANSLATIONS = Path(__file__).parent / "translations"


def negotiate(chosen: str | None, accepted: LanguageAccept | None) -> str:
    """The language to answer in: ``chosen`` if it is one of ours, else the browser's best match."""
    if chosen in LANGUAGES:
        return chosen
    for tag, _quality in accepted or ():  # best first; "ru-RU" is Russian as much as "ru" is
        language = tag.replace("_", "-").split("-", 1)[0].lower()
        if language in LANGUAGES:
            return language
    return DEFAULT_LANGUAGE


def select_locale() -> str:
    """Flask-Babel's locale selector. Outside a request (jobs) English; live renders set each
    viewer's own with ``force_locale``.

    A signed-in person's own language (``User.language``: the profile, the switcher, or the one
    they signed up in) wins over the cookie and the browser, on every device. Read through
    Flask-Login's ``current_user`` by attribute: this layer knows no user model. The API is
    answered by ``Accept-Language`` (then the cookie, then English) whoever the token belongs to:
    a program's answers do not change with its person's interface language."""
    if not has_request_context():
        return DEFAULT_LANGUAGE
    if not request.path.startswith("/api/"):
        saved = getattr(current_user, "language", None)
        if saved in LANGUAGES:
            return saved
    return negotiate(request.cookies.get(COOKIE), request.accept_languages)


def init_i18n(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(languages=LANGUAGES, current_language=lambda: str(get_locale()))
