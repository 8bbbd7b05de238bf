"""The interface's languages: which one a request gets, the switcher, and catalogs that are whole."""

from configparser import ConfigParser
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from werkzeug.datastructures import LanguageAccept

from app.blueprints.auth.models import User
from app.blueprints.auth.service import find_user
from app.extensions import db
from app.i18n import COOKIE, LANGUAGES, TRANSLATIONS, negotiate
from tests.conftest import csrf_token, sign_in_as
from tests.mailing import mails, work_mail

ROOT = Path(__file__).resolve().parents[2]
# As `make i18n-extract` reads them: pybabel's own keywords (N_ among them) and the lazy ones.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "_lp": ((1, "c"), 2),
            "lazy_pgettext": ((1, "c"), 2)}
RU = "Accept-Language", "ru-RU,ru;q=0.9,en;q=0.5"


def extracted() -> set[tuple[str | None, str]]:
    """Every message the code marks, as (context, msgid), read as `make i18n-extract` reads it
    (babel.cfg)."""
    config = ConfigParser()
    config.read(ROOT / "babel.cfg")
    method_map = [(section.split(": ", 1)[1], section.split(":", 1)[0]) for section in config.sections()]
    options = {pattern: dict(config[f"{method}: {pattern}"]) for pattern, method in method_map}
    found = set()
    for _file, _line, message, _comments, context in extract_from_dir(
            str(ROOT), method_map, options_map=options, keywords=KEYWORDS):
        found.add((context, message if isinstance(message, str) else message[0]))
    return found


def catalog(language: str):
    with open(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=language)


def test_the_russian_catalog_translates_every_marked_message_and_holds_nothing_stale():
    ru = catalog("ru")
    held = {(m.context, m.id if isinstance(m.id, str) else m.id[0]): m for m in ru if m.id}
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
    def frozen(text):  # a plural's forms: a list in the .mo as read, a tuple in the .po
        return tuple(text) if isinstance(text, list | tuple) else text

    assert {frozen(m.id): frozen(m.string) for m in compiled if m.id} == {
        frozen(m.id): frozen(m.string) for m in ru if m.id}, \
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


# -- a person's own language (User.language): it wins over the cookie and the browser ---------------

def _home_language(client, headers=()) -> str:
    html = client.get("/home", headers=list(headers)).get_data(as_text=True)
    return html.split('<html lang="', 1)[1][:2]


def test_a_saved_language_wins_over_the_cookie_and_the_browser_on_every_device(app, owner):
    owner.user.language = "ru"
    db.session.commit()
    laptop, phone = app.test_client(), app.test_client()
    laptop.set_cookie(COOKIE, "en")  # this browser's switcher said English once
    for device in (laptop, phone):
        sign_in_as(device, owner)
        assert _home_language(device, [("Accept-Language", "en-GB,en;q=0.9")]) == "ru"


def test_without_a_saved_language_a_signed_in_person_follows_the_cookie_then_the_browser(owner_client, owner):
    assert owner.user.language is None
    assert _home_language(owner_client, [RU]) == "ru"
    assert _home_language(owner_client) == "en"
    owner_client.set_cookie(COOKIE, "en")
    assert _home_language(owner_client, [RU]) == "en"


def test_anonymous_visitors_keep_the_cookie_and_the_browsers_language(client, owner):
    owner.user.language = "ru"  # somebody's setting is nobody else's
    db.session.commit()
    assert '<html lang="en">' in client.get("/auth/signin").get_data(as_text=True)
    assert '<html lang="ru">' in client.get("/auth/signin", headers=[RU]).get_data(as_text=True)
    client.set_cookie(COOKIE, "en")
    assert '<html lang="en">' in client.get("/auth/signin", headers=[RU]).get_data(as_text=True)


@pytest.mark.parametrize(("cookie", "accept", "saved"), [
    (None, "ru-RU,ru;q=0.9", "ru"),
    (None, "en-US,en;q=0.9", "en"),
    ("en", "ru-RU,ru;q=0.9", "en"),  # the switcher's choice before signing up
    (None, None, "en"),
])
def test_a_new_sign_up_keeps_the_language_it_signed_up_in(client, cookie, accept, saved):
    if cookie:
        client.set_cookie(COOKIE, cookie)
    headers = {"Accept-Language": accept} if accept else {}
    token = csrf_token(client, "/auth/signup")
    response = client.post("/auth/signup", headers=headers, data={
        "csrf_token": token, "name": "Анна Ли", "email": "anna@example.com",
        "password": "a long enough password", "organization": "Ромашка"})
    assert response.status_code == 302, response.get_data(as_text=True)
    work_mail()  # the job makes the account
    assert find_user("anna@example.com").language == saved
    assert mails(to="anna@example.com")[0].language == saved  # and writes its mail in it


def test_the_switcher_saves_a_signed_in_persons_choice_for_every_device(app, owner_client, owner):
    token = csrf_token(owner_client, "/home")
    response = owner_client.post("/language", data={"csrf_token": token, "lang": "ru", "next": "/home"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, owner.user_id).language == "ru"
    other_device = app.test_client()
    sign_in_as(other_device, owner)
    assert _home_language(other_device) == "ru"
    token = csrf_token(owner_client, "/home")
    owner_client.post("/language", data={"csrf_token": token, "lang": "de", "next": "/home"})
    db.session.expire_all()
    assert db.session.get(User, owner.user_id).language == "ru"  # not a language of ours: unchanged


def test_an_api_caller_is_answered_in_its_accept_language_whatever_its_persons_setting(app, owner):
    from tests.conftest import bearer

    owner.user.language = "ru"
    db.session.commit()
    api = app.test_client()
    english = api.get("/api/no-such-thing", headers=bearer(owner)).json["error"]["message"]
    asked_english = api.get("/api/no-such-thing", headers={**bearer(owner), "Accept-Language": "en"})
    asked_russian = api.get("/api/no-such-thing", headers={**bearer(owner), "Accept-Language": "ru"})
    assert english == asked_english.json["error"]["message"] == (
        "We could not find that page. It may have been moved or deleted.")
    assert asked_russian.json["error"]["message"] == "Такой страницы нет. Возможно, её перенесли или удалили."


def test_an_api_sign_up_keeps_the_language_it_asked_for(app):
    api = app.test_client()
    body = {"email": "ivan@example.com", "password": "a long enough password", "name": "Иван"}
    assert api.post("/api/auth/signup", json=body, headers={"Accept-Language": "ru"}).status_code == 202
    assert api.post("/api/auth/signup", json={**body, "email": "ann@example.com", "name": "Ann"}).status_code == 202
    work_mail()
    assert find_user("ivan@example.com").language == "ru"
    assert find_user("ann@example.com").language is None  # it asked for none: each browser decides
