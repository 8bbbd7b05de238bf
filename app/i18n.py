"""The interface's languages: Russian and English, the one each request is answered in, and where
the catalogs live (``app/translations``; the Makefile's ``i18n-*`` targets keep them).

A page is answered in its signed-in person's own language (their profile), else the one chosen
with the switcher (a cookie), else the best of the browser's ``Accept-Language``, else English; the
API in ``Accept-Language``'s. Strings are marked with ``gettext`` (``_`` in
templates), ``lazy_gettext`` where they are defined at import time (navigation, form labels), and
``ngettext`` for counts (Russian has three forms: 1 сделка, 2 сделки, 5 сделок).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from babel.units import format_unit
from flask import Flask, has_request_context, request
from flask_babel import get_locale, gettext, ngettext
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


# -- texts for later: made where no one reads them (the telegram process, a job), said when read ---

_SAID = '{"said": '


def N_(message: str) -> str:  # noqa: N802 - the catalog's marker for a message said later
    """Marks ``message`` for the catalog (``pybabel extract`` reads ``N_``) and returns it as it is."""
    return message


def said(message: str, /, **values: Any) -> str:
    """A text for a person in no language yet: ``message`` (an English message id, marked for the
    catalog where it is written: ``said(N_("..."))``) and its values, as JSON. A value may be a text
    ``said`` made, or ``wait(seconds)``. ``in_words`` says it in the current language."""
    return json.dumps({"said": message, "values": values}, ensure_ascii=False, default=str)


def said_plural(singular: str, plural: str, count: int, /, **values: Any) -> str:
    """``said`` with a count (``%(num)d`` in the messages): said with the language's plural form."""
    return json.dumps({"said": singular, "plural": plural, "num": count, "values": values},
                      ensure_ascii=False, default=str)


def wait(seconds: float) -> dict[str, int]:
    """A value for ``said``: a wait, said in its largest sensible unit ("45 seconds", "5 minutes")."""
    return {"wait": int(seconds)}


def is_said(text: Any) -> bool:
    return isinstance(text, str) and text.startswith(_SAID)


def in_words(text: str | None) -> str:
    """A text ``said`` made, in the current language (a request's, else English); a plain text (one
    stored before texts were kept this way, or another process's) through the catalog, as it is when
    the catalog does not hold it."""
    if not text:
        return ""
    if not is_said(text):
        return gettext(text)
    try:
        data = json.loads(text)
    except ValueError:
        return text
    values = {key: _value(value) for key, value in (data.get("values") or {}).items()}
    if "plural" in data:
        return ngettext(data["said"], data["plural"], int(data.get("num") or 0), **values)
    return gettext(data["said"], **values) if values else gettext(data["said"])


def _value(value: Any) -> Any:
    if is_said(value):
        return in_words(value)
    if isinstance(value, dict) and "wait" in value:
        return _wait_words(int(value["wait"]))
    return value


def _wait_words(seconds: int) -> str:
    locale = get_locale() or "en"
    if seconds < 90:
        return format_unit(seconds, "duration-second", length="long", locale=locale)
    if seconds < 5400:
        return format_unit(round(seconds / 60), "duration-minute", length="long", locale=locale)
    return format_unit(round(seconds / 3600), "duration-hour", length="long", locale=locale)
