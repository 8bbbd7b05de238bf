"""The accounts pages in the viewer's language: form errors, toasts, Telegram's refusals and the
status details the telegram process writes in no language (``control.said``)."""

import json

import pytest
from flask_babel import force_locale, ngettext

from app.i18n import N_, in_words, said, said_plural, wait
from tests.accounts.test_routes import only_account, post
from tests.factories import make_account

RU = {"Accept-Language": "ru-RU,ru;q=0.9"}


@pytest.fixture
def token(owner_client, csrf):
    return csrf("/accounts/")


def post_ru(client, url, token, **data):
    return client.post(url, data=data, headers={"HX-Request": "true", "X-CSRFToken": token, **RU})


def toast(response) -> str:
    return json.dumps(json.loads(response.headers["HX-Trigger"]), ensure_ascii=False)


def test_a_bad_proxy_port_is_said_in_russian_and_in_english_by_default(owner, owner_client, token):
    account = make_account(owner.organization)
    russian = post_ru(owner_client, f"/accounts/{account.id}/proxy", token, proxy_host="proxy.example.com",
                      proxy_port="99999")
    assert russian.status_code == 422 and "Порт от 1 до 65535." in russian.get_data(as_text=True)
    english = post(owner_client, f"/accounts/{account.id}/proxy", token, proxy_host="proxy.example.com",
                   proxy_port="99999")
    assert "A port from 1 to 65535." in english.get_data(as_text=True)


def test_a_local_proxy_host_is_refused_in_russian(owner, owner_client, token):
    account = make_account(owner.organization)
    html = post_ru(owner_client, f"/accounts/{account.id}/proxy", token, proxy_host="localhost",
                   proxy_port="6379").get_data(as_text=True)
    assert "localhost — локальное или внутреннее имя хоста" in html


def test_renaming_toasts_in_russian_and_a_too_long_name_is_refused_in_russian(owner, owner_client, token):
    account = make_account(owner.organization)
    saved = post_ru(owner_client, f"/accounts/{account.id}/label", token, label="Продажи")
    assert "Название сохранено." in toast(saved)
    assert "Name saved." in post(owner_client, f"/accounts/{account.id}/label", token, label="Sales").headers[
        "HX-Trigger"]
    refused = post_ru(owner_client, f"/accounts/{account.id}/label", token, label="x" * 101)
    assert refused.status_code == 422 and "Не более 100 символов." in refused.get_data(as_text=True)


def test_telegrams_refusal_reaches_a_russian_viewer_in_russian(owner_client, token, peer):
    peer.on("login.start", refuse=("phone_invalid", said(N_(
        "Telegram does not accept this phone number. Check it, with its country code."))))
    page = post_ru(owner_client, "/accounts/connect", token, phone="+44 7700 900123")
    assert page.status_code == 422
    assert "Telegram не принимает этот номер. Проверьте его вместе с кодом страны." in page.get_data(as_text=True)
    assert only_account() is None  # the refused number is forgotten


def test_a_status_detail_is_shown_in_the_viewers_language(owner, owner_client):
    account = make_account(owner.organization, status="limited", status_detail=said(N_(
        "Telegram asked this account to wait %(minutes)s min before sending more (FloodWait)."), minutes=7))
    russian = owner_client.get(f"/accounts/{account.id}", headers=RU).get_data(as_text=True)
    assert "Telegram попросил этот аккаунт подождать 7 мин перед следующими отправками (FloodWait)." in russian
    assert "Ограничен" in russian
    english = owner_client.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "Telegram asked this account to wait 7 min before sending more (FloodWait)." in english


def test_a_plain_status_detail_stored_before_reads_through_the_catalog(owner, owner_client):
    account = make_account(owner.organization, status="needs_login",
                           status_detail="The sign-in was not finished. Start again.")
    assert "Вход не был завершён. Начните заново." in owner_client.get(
        f"/accounts/{account.id}", headers=RU).get_data(as_text=True)


@pytest.mark.parametrize(("seconds", "english", "russian"), [
    (1, "1 second", "1 секунда"), (45, "45 seconds", "45 секунд"), (300, "5 minutes", "5 минут"),
    (21 * 60, "21 minutes", "21 минута"), (22 * 3600, "22 hours", "22 часа"), (11 * 3600, "11 hours", "11 часов")])
def test_a_flood_wait_is_said_with_the_languages_plural(app, seconds, english, russian):
    text = said(N_("Telegram asks to wait %(wait)s before trying to sign in again."), wait=wait(seconds))
    with app.test_request_context():
        assert in_words(text) == f"Telegram asks to wait {english} before trying to sign in again."
        with force_locale("ru"):
            assert in_words(text) == f"Telegram просит подождать перед новой попыткой входа: {russian}."


@pytest.mark.parametrize(("num", "words"), [
    (1, "Не более 1 символа."), (2, "Не более 2 символов."), (5, "Не более 5 символов."),
    (11, "Не более 11 символов."), (21, "Не более 21 символа."), (22, "Не более 22 символов.")])
def test_the_name_limit_takes_the_russian_plural(app, num, words):
    with app.test_request_context(), force_locale("ru"):
        assert ngettext("Use at most %(num)d character.", "Use at most %(num)d characters.", num) == words
        assert in_words(said_plural(N_("Use at most %(num)d character."), N_("Use at most %(num)d characters."),
                                    num)) == words
