"""The interface's languages: which one a request gets, the switcher, and catalogs that are whole."""

from configparser import ConfigParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from werkzeug.datastructures import LanguageAccept

from app.i18n import COOKIE, LANGUAGES, TRANSLATIONS, negotiate
from tests.conftest import csrf_token

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
RU = "Accept-Language", "ru-RU,ru;q=0.9,en;q=0.5"


def extracted() -> set[str]:
    """Every message the code marks, read as `make i18n-extract` reads it (babel.cfg)."""
    config = ConfigParser()
    config.read(ROOT / "babel.cfg")
    method_map = [(section.split(": ", 1)[1], section.split(":", 1)[0]) for section in config.sections()]
    options = {pattern: dict(config[f"{method}: {pattern}"]) for pattern, method in method_map}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map, options_map=options, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return found


def catalog(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=language)


def test_the_russian_catalog_translates_every_marked_message_and_holds_nothing_stale():
    ru = catalog("ru")
    held = {m.id if isinstance(m.id, str) else m.id[0]: m for m in ru if m.id}
    marked = extracted()
    assert marked, "nothing is marked for translation"
    assert sorted(marked - held.keys()) == [], "marked but not in the catalog: run make i18n-update"
    assert sorted(held.keys() - marked) == [], "in the catalog but no longer marked"
    assert not ru.obsolete, "obsolete entries: run make i18n-update"
    untranslated = [key for key, m in held.items()
                    if "fuzzy" in m.flags or not all(m.string if isinstance(m.string, tuple) else (m.string,))]
    assert untranslated == []


def test_the_compiled_catalog_is_the_current_one():
    ru = catalog("ru")
    with open(TRANSLATIONS / "ru" / "LC_MESSAGES" / "messages.mo", "rb") as f:
        compiled = read_mo(f)
    assert {m.id: m.string for m in compiled if m.id} == {m.id: m.string for m in ru if m.id}, \
        "the .mo lags its .po: run make i18n-compile"


@pytest.mark.parametrize(("chosen", "accept", "expected"), [
    (None, [("ru-RU", 1), ("en", 0.5)], "ru"),
    (None, [("de-DE", 1), ("en-GB", 0.8)], "en"),
    (None, [("de", 1)], "en"),  # neither of ours: English
    ("en", [("ru", 1)], "en"),  # the switcher's choice beats the browser
    ("fr", [("ru", 1)], "ru"),  # a cookie that names no language of ours is ignored
    (None, None, "en"),
])
def test_the_language_is_the_chosen_one_else_the_browsers_else_english(chosen, accept, expected):
    assert negotiate(chosen, LanguageAccept(accept) if accept is not None else None) == expected


def test_a_russian_browser_gets_the_sign_in_page_in_russian(client):
    html = client.get("/auth/signin", headers=[RU]).get_data(as_text=True)
    assert '<html lang="ru">' in html and "<h1>С возвращением</h1>" in html
    assert '<label class="label" for="password">Пароль' in html
    english = client.get("/auth/signin").get_data(as_text=True)
    assert '<html lang="en">' in english and "<h1>Welcome back</h1>" in english


def test_form_errors_of_the_form_library_speak_russian_too(client):
    token = csrf_token(client)
    html = client.post("/auth/signin", data={"csrf_token": token}, headers=[RU]).get_data(as_text=True)
    assert "Обязательное поле." in html


def test_the_switcher_remembers_the_choice_and_returns_to_the_page(client):
    token = csrf_token(client)
    response = client.post("/language", data={"csrf_token": token, "lang": "en", "next": "/auth/signup?x=1"},
                           headers=[RU])
    assert response.status_code == 302 and response.headers["Location"] == "/auth/signup?x=1"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{COOKIE}="))
    assert cookie.startswith(f"{COOKIE}=en;") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "<h1>Create your workspace</h1>" in client.get("/auth/signup", headers=[RU]).get_data(as_text=True)


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", "javascript:alert(1)", ""])
def test_the_switcher_goes_back_only_to_a_page_of_ours(client, target):
    token = csrf_token(client)
    response = client.post("/language", data={"csrf_token": token, "lang": "ru", "next": target})
    assert response.headers["Location"] == "/"


def test_the_switcher_ignores_a_language_we_do_not_have_and_needs_the_csrf_token(client):
    token = csrf_token(client)
    response = client.post("/language", data={"csrf_token": token, "lang": "de", "next": "/auth/signin"})
    assert response.status_code == 302
    assert not any(c.startswith(f"{COOKIE}=") for c in response.headers.getlist("Set-Cookie"))
    assert client.post("/language", data={"lang": "ru"}).status_code == 400
    assert set(LANGUAGES) == {"ru", "en"}


def test_an_api_error_is_in_russian_for_a_russian_caller_and_english_by_default(app, owner):
    from tests.conftest import bearer

    headers = bearer(owner)
    russian = app.test_client().get("/api/no-such-thing", headers={**headers, "Accept-Language": "ru"})
    english = app.test_client().get("/api/no-such-thing", headers=headers)
    assert russian.status_code == english.status_code == 404
    assert russian.json["error"]["code"] == english.json["error"]["code"] == "not_found"
    assert russian.json["error"]["message"] == "Такой страницы нет. Возможно, её перенесли или удалили."
    assert english.json["error"]["message"] == "We could not find that page. It may have been moved or deleted."


def test_an_error_page_and_the_home_page_speak_russian(owner_client, owner):
    missing = owner_client.get("/no/such/page", headers=[RU]).get_data(as_text=True)
    assert "Не найдено" in missing and "Вернуться в приложение" in missing
    home = owner_client.get("/home", headers=[RU]).get_data(as_text=True)
    first = owner.user.name.split()[0]
    assert f"Рады вас видеть, {first}" in home and "Владелец" in home and "Входящие" in home
