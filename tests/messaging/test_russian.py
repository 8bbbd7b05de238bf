"""The inbox in Russian: the list, a thread in every state a message can be in, the side panel,
the composer's refusals and the toasts, for a viewer who reads Russian; English stays the default."""

import json
from contextlib import contextmanager

import pytest
from flask import current_app, g, render_template_string

from app.blueprints.messaging.models import Message
from app.extensions import db
from app.i18n import said
from tests.conftest import csrf_token
from tests.core.test_russian_pages import english_words
from tests.factories import make_account, make_chat, make_company, make_contact, make_deal, make_message

RU = {"Accept-Language": "ru-RU,ru;q=0.9"}
HX = {"HX-Request": "true"}
DATA = {"Org", "User", "anna_li", "kp", "pdf"}  # names and file names the fixtures give


def forget_language() -> None:
    """Tests share one app context, whose ``g`` keeps the language the last request was read in."""
    g.pop("_flask_babel", None)


@contextmanager
def russian():
    forget_language()
    try:
        with current_app.test_request_context(headers=RU):
            yield
    finally:
        forget_language()


def toast(response) -> dict:
    return json.loads(response.headers["HX-Trigger"])["toast"]


@pytest.fixture
def account(owner):
    return make_account(owner.organization, display_name="Отдел продаж")


@pytest.fixture
def token(owner_client):
    return csrf_token(owner_client, "/inbox/")


@pytest.fixture
def busy_chat(owner, account):
    """A chat with a contact at a company, an open deal, and a message in every state."""
    company = make_company(owner, name="Ромашка")
    contact = make_contact(owner, first_name="Анна", last_name="Ли", email="anna@example.com",
                           phone="+79161234567", telegram_username="anna_li", company=company.id)
    make_deal(owner, title="Пилот", value="150000", currency="RUB", contact=contact.id, stage="Proposal")
    chat = make_chat(account, title="Анна Ли", username="anna_li", contact_id=contact.id, unread_count=2,
                     last_message_preview="[Photo]")
    make_message(chat, text="Здравствуйте")
    make_message(chat, text="", media={"kind": "photo", "mime_type": "image/jpeg", "size": 2048})
    make_message(chat, text="", media={"kind": "voice", "mime_type": "audio/ogg", "size": 3_500_000, "duration": 7})
    make_message(chat, text="", media={"kind": "document", "file_name": "kp.pdf", "size": 500})
    make_message(chat, text="Счёт", out=True, author_id=owner.user_id, status="queued", telegram_id=None)
    make_message(chat, text="Отправлено", out=True, author_id=owner.user_id)
    make_message(chat, text="Не ушло", out=True, status="failed", telegram_id=None)
    make_message(chat, text="Это", out=True, status="failed", telegram_id=None,
                 error=said("Telegram did not accept this message."))
    make_message(chat, text="Стёрто", edited_at=chat.last_message_at, deleted_at=chat.last_message_at)
    return chat


def test_a_busy_thread_and_its_panel_read_in_russian(owner_client, busy_chat):
    html = owner_client.get(f"/inbox/chats/{busy_chat.id}", headers=RU).get_data(as_text=True)
    for words in ("Голосовое сообщение", "3,3 МБ", "7 с", "500 Б", "Отправляется…", "Не отправлено",
                  "Telegram не принял это сообщение.", "Это сообщение удалено в Telegram.", "[Фото]",
                  "Контакт и сделки", "Сделки в работе", "Коммерческое предложение", "Создать сделку",
                  "<strong>1</strong> непрочитанный чат", "Ромашка"):
        assert words in html, words
    assert english_words(html, DATA) - {"Enter", "Shift", "Esc"} == set()  # key names: as keyboards print them
    forget_language()
    english = owner_client.get(f"/inbox/chats/{busy_chat.id}").get_data(as_text=True)
    assert "Voice message" in english and "[Photo]" in english and "Open deals" not in english
    assert "Deals in progress" in english and "Proposal" in english


def test_an_empty_inbox_and_a_chat_without_a_contact_read_in_russian(owner_client, account):
    empty = owner_client.get("/inbox/", headers=RU).get_data(as_text=True)
    assert "Всё прочитано" in empty and english_words(empty, DATA) == set()
    chat = make_chat(account, username=None, last_message_preview="Привет")
    chat.title = ""  # a person Telegram gives no name or username
    db.session.commit()
    html = owner_client.get(f"/inbox/chats/{chat.id}", headers=RU).get_data(as_text=True)
    assert "Пользователь Telegram" in html and "Этого человека ещё нет в ваших контактах." in html
    assert english_words(html, DATA) - {"Enter", "Shift", "Esc"} == set()


def test_the_composer_refuses_in_russian_and_in_english_by_default(owner_client, account, token):
    chat = make_chat(account)
    url = f"/inbox/chats/{chat.id}/messages"
    russian_answer = owner_client.post(url, data={"text": "  "}, headers={**HX, **RU, "X-CSRFToken": token})
    assert russian_answer.status_code == 422 and "Сообщение пустое." in russian_answer.get_data(as_text=True)
    too_long = owner_client.post(url, data={"text": "я" * 4097}, headers={**HX, **RU, "X-CSRFToken": token})
    assert ("Сообщение может быть не длиннее 4\u00a0096 символов (в этом — 4\u00a0097)."
            in too_long.get_data(as_text=True))
    forget_language()
    english = owner_client.post(url, data={"text": "  "}, headers={**HX, "X-CSRFToken": token})
    assert english.status_code == 422 and "The message is empty." in english.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Message)) == 0


def test_toasts_read_in_russian(owner_client, owner, account, token):
    make_chat(account, unread_count=1)
    make_chat(account, unread_count=1)
    answer = owner_client.post("/inbox/read-all", headers={**HX, **RU, "X-CSRFToken": token})
    assert toast(answer)["message"] == "2 чата отмечены прочитанными."
    chat = make_chat(account, title="Анна Ли")
    added = owner_client.post(f"/inbox/chats/{chat.id}/contact", headers={**HX, **RU, "X-CSRFToken": token})
    assert toast(added)["message"] == "Анна Ли теперь в ваших контактах."
    deal = owner_client.post(f"/inbox/chats/{chat.id}/deals", data={"title": "Пилот"},
                             headers={**HX, **RU, "X-CSRFToken": token})
    assert toast(deal)["message"] == "Сделка «Пилот» создана."
    assigned = owner_client.post(f"/inbox/chats/{chat.id}/assign", data={"assignee_id": str(owner.user_id)},
                                 headers={**HX, **RU, "X-CSRFToken": token})
    assert toast(assigned)["message"] == f"Ответственный: {owner.user.name}."
    forget_language()
    english = owner_client.post("/inbox/read-all", headers={**HX, "X-CSRFToken": token})
    assert toast(english)["message"] == "Marked 0 chats read."


@pytest.mark.parametrize(("count", "expected"), [
    (1, "1 непрочитанный чат"), (2, "2 непрочитанных чата"), (5, "5 непрочитанных чатов"),
    (11, "11 непрочитанных чатов"), (21, "21 непрочитанный чат"), (22, "22 непрочитанных чата"),
])
def test_unread_counts_use_the_russian_plural(count, expected):
    with russian():
        html = render_template_string(
            '{% from "inbox/_macros.html" import nav_badge, unread_total %}{{ nav_badge(n) }}|{{ unread_total(n, n) }}',
            n=count)
    badge, total = html.split("|")
    assert f'title="{expected}"' in badge
    number, words = expected.split(" ", 1)
    assert f"<strong>{number}</strong> {words}" in total


@pytest.mark.parametrize(("count", "expected"), [
    (1, "1 непрочитанное"), (2, "2 непрочитанных"), (5, "5 непрочитанных"), (11, "11 непрочитанных"),
    (21, "21 непрочитанное"), (22, "22 непрочитанных"),
])
def test_a_chat_rows_unread_badge_uses_the_russian_plural(account, count, expected):
    from app.blueprints.messaging import service

    chat = make_chat(account, unread_count=count)
    with russian():
        html = render_template_string('{% from "inbox/_macros.html" import chat_row %}{{ chat_row(row, {}, none) }}',
                                      row=service.chat_row(chat))
    assert f'aria-label="{expected}"' in html


def _panel(html: str) -> str:
    start = html.index('<section class="card" id="contact-chats">')
    return html[start:html.index("</section>", start)]


def test_the_record_pages_conversation_panel_reads_in_russian(owner_client, owner, account):
    contact = make_contact(owner, first_name="Анна", last_name="Ли", telegram_username="anna_li")
    deal = make_deal(owner, title="Пилот", contact=contact.id)
    lonely = make_contact(owner, first_name="Борис", last_name="Пак", phone="+79161234568")
    make_account(owner.organization, display_name="Второй", status="limited", config={"new_chats_per_day": 21})
    offline = make_contact(owner, first_name="Вера", last_name="Ким", phone="+79161234569")
    make_chat(account, title="Анна Ли", contact_id=contact.id, last_message_out=True, unread_count=3,
              last_message_preview="[Voice message]")
    on_deal = _panel(owner_client.get(f"/deals/{deal.id}", headers=RU).get_data(as_text=True))
    assert "Диалоги с контактом Анна Ли" in on_deal and "через Отдел продаж" in on_deal
    assert "Вы:" in on_deal and "[Голосовое сообщение]" in on_deal
    starting = _panel(owner_client.get(f"/contacts/{lonely.id}", headers=RU).get_data(as_text=True))
    assert "30 новых чатов в день" in starting and "21 новый чат в день" in starting
    assert "(отправка приостановлена)" in starting
    no_contact = _panel(owner_client.get(f"/deals/{make_deal(owner, title='Без').id}", headers=RU)
                        .get_data(as_text=True))
    assert "У этой сделки нет контакта." in no_contact
    for html in (on_deal, starting, no_contact):
        assert english_words(html, DATA) == set(), html
    db.session.execute(db.update(type(account)).values(status="offline"))
    db.session.commit()
    unreachable = _panel(owner_client.get(f"/contacts/{offline.id}", headers=RU).get_data(as_text=True))
    assert "Сейчас не подключён ни один Telegram-аккаунт" in unreachable
    assert english_words(unreachable, DATA) == set()
