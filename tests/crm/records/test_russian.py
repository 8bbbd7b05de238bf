"""The CRM's pages, messages and API errors in Russian for a Russian viewer, English by default."""

import csv
import io
import json

import pytest
from flask_babel import force_locale
from rq import SimpleWorker

from app.blueprints.crm.bulk import jobs as bulk_jobs
from app.blueprints.crm.custom_fields.service import create_custom_field
from app.blueprints.crm.records import service
from app.blueprints.crm.records.page_context import count_of
from app.extensions import db, redis_store
from app.jobs import queue
from tests.conftest import bearer, csrf_token
from tests.factories import make_contact, make_deal

RU = {"Accept-Language": "ru-RU,ru;q=0.9"}
HX = {"HX-Request": "true"}


@pytest.fixture
def token(owner_client):
    return csrf_token(owner_client, "/contacts")


def toast(response) -> str:
    return json.loads(response.headers["HX-Trigger"])["toast"]["message"]


def test_a_form_error_is_said_in_russian_and_in_english_by_default(owner_client, token):
    form = {"csrf_token": token, "title": "", "value": "много"}
    russian = owner_client.post("/deals/new", data=form, headers=RU)
    html = russian.get_data(as_text=True)
    assert russian.status_code == 422
    assert "Название: обязательное поле." in html and "Сумма: не число." in html
    assert "Проверьте поля формы." in html and "Новая сделка" in html and "Создать сделку" in html
    english = owner_client.post("/deals/new", data=form).get_data(as_text=True)
    assert "Title is required." in english and "Value: not a number." in english


def test_an_inline_edit_refusal_is_said_in_russian(owner_client, owner, token):
    contact = make_contact(owner)
    response = owner_client.post(f"/contacts/{contact.id}/field/email", data={"email": "nope"},
                                 headers={**HX, **RU, "X-CSRFToken": token})
    assert response.status_code == 422
    assert "Эл. почта: " in response.get_data(as_text=True)


def test_the_record_owner_is_the_assignee_not_the_role(owner_client, owner):
    contact = make_contact(owner)
    html = owner_client.get(f"/contacts/{contact.id}", headers=RU).get_data(as_text=True)
    assert "<dt>Ответственный</dt>" in html and "ответственный: " in html
    assert "<dt>Owner</dt>" in owner_client.get(f"/contacts/{contact.id}").get_data(as_text=True)


def test_a_note_refusal_and_a_lost_deal_without_reason_are_said_in_russian(owner_client, owner, token):
    deal = make_deal(owner)
    note = owner_client.post(f"/deals/{deal.id}/notes", data={"body": " "}, headers={**HX, **RU, "X-CSRFToken": token})
    assert note.status_code == 422 and "Заметка пуста." in note.get_data(as_text=True)
    lost = owner_client.post(f"/deals/{deal.id}/outcome", data={"csrf_token": token, "outcome": "lost"}, headers=RU)
    assert lost.status_code == 422 and "Укажите, почему сделка проиграна." in lost.get_data(as_text=True)
    english = owner_client.post(f"/deals/{deal.id}/outcome", data={"csrf_token": token, "outcome": "lost"})
    assert "Say why the deal was lost." in english.get_data(as_text=True)


def test_a_bulk_toast_is_russian_with_the_plural_the_count_takes(owner_client, owner, token):
    ids = [make_contact(owner).id for _ in range(2)]
    response = owner_client.post("/contacts/bulk", data={"action": "add_tag", "tag_name": "vip", "ids": ids},
                                 headers={**HX, **RU, "X-CSRFToken": token})
    assert toast(response) == "Тег «vip» добавлен: 2 контакта."
    response = owner_client.post("/contacts/bulk", data={"action": "remove_tag", "tag_name": "vip", "ids": ids},
                                 headers={**HX, "X-CSRFToken": token})
    assert toast(response) == "Removed tag vip from 2 contacts."
    refused = owner_client.post("/contacts/bulk", data={"action": "delete"}, headers={**HX, **RU, "X-CSRFToken": token})
    assert toast(refused) == "Сначала выберите хотя бы одну строку."


def test_a_background_bulk_action_is_worded_in_the_readers_language(owner_client, owner, token, monkeypatch):
    monkeypatch.setattr(bulk_jobs, "BACKGROUND_AT", 1)
    ids = [make_deal(owner).id for _ in range(2)]
    response = owner_client.post("/deals/bulk", data={"action": "delete", "ids": ids},
                                 headers={**HX, **RU, "X-CSRFToken": token})
    html = response.get_data(as_text=True)
    assert "В очереди…" in html
    job = html.split("job=")[1].split('"')[0]
    SimpleWorker([queue()], connection=redis_store.client).work(burst=True)
    russian = owner_client.get(f"/deals/bulk/progress?job={job}", headers={**HX, **RU}).get_data(as_text=True)
    assert "Перемещено в корзину: 2 сделки." in russian and "Обновить список" in russian
    english = owner_client.get(f"/deals/bulk/progress?job={job}", headers=HX).get_data(as_text=True)
    assert "Moved 2 deals to the trash." in english


def test_restoring_says_how_many_in_russian(owner_client, owner, token):
    contact = make_contact(owner)
    service.trash_records(owner, "contact", [contact.id])
    db.session.commit()
    owner_client.post("/contacts/restore", data={"csrf_token": token, "ids": [contact.id]}, headers=RU)
    page = owner_client.get("/contacts", headers=RU).get_data(as_text=True)
    assert "Восстановлено: 1 контакт." in page


@pytest.mark.parametrize(("n", "contacts", "companies", "deals"), [
    (1, "1 контакт", "1 компания", "1 сделка"), (2, "2 контакта", "2 компании", "2 сделки"),
    (5, "5 контактов", "5 компаний", "5 сделок"), (11, "11 контактов", "11 компаний", "11 сделок"),
    (21, "21 контакт", "21 компания", "21 сделка"), (22, "22 контакта", "22 компании", "22 сделки")])
def test_counts_take_the_russian_plural(app, n, contacts, companies, deals):
    with app.test_request_context(), force_locale("ru"):
        assert (count_of("contact", n), count_of("company", n), count_of("deal", n)) == (contacts, companies, deals)
    with app.test_request_context():
        assert count_of("deal", n) == (f"{n} deal" if n == 1 else f"{n} deals")


def test_large_counts_are_written_the_russian_way(app):
    with app.test_request_context(), force_locale("ru"):
        assert count_of("deal", 1234) == "1\u00a0234 сделки"
    with app.test_request_context():
        assert count_of("deal", 1234) == "1,234 deals"


def test_the_merge_page_counts_in_russian(owner_client, owner):
    ids = [make_contact(owner).id for _ in range(2)]
    html = owner_client.get(f"/contacts/merge?ids={ids[0]}&ids={ids[1]}", headers=RU).get_data(as_text=True)
    assert "Объединение 2 контактов в один" in html and "Объединить контакты" in html


def test_a_deals_status_and_timeline_read_in_russian(owner_client, owner):
    deal = make_deal(owner)
    service.close_deal(owner, deal.id, "won")
    db.session.commit()
    html = owner_client.get(f"/deals/{deal.id}", headers=RU).get_data(as_text=True)
    assert "Выиграна" in html and "Сделка создана." in html and "Сделка перемещена с этапа" in html
    assert "Выиграна" in owner_client.get("/deals?status=won", headers=RU).get_data(as_text=True)


def test_the_api_refuses_in_the_language_of_accept_language(client, owner):
    body = {"first_name": "Ada", "email": "not-an-email"}
    russian = client.post("/api/crm/contacts", json=body, headers={**bearer(owner), **RU}).get_json()["error"]
    assert russian["code"] == "invalid" and russian["message"] == "Проверьте поля формы."
    assert russian["fields"]["email"].startswith("Эл. почта: ")
    english = client.post("/api/crm/contacts", json=body, headers=bearer(owner)).get_json()["error"]
    assert english["message"] == "Some fields need attention." and english["fields"]["email"].startswith("Email: ")


def test_the_api_document_keeps_its_descriptions_in_english(client):
    document = client.get("/api/openapi.json", headers=RU).get_data(as_text=True)
    assert '"description": "First name"' in document.replace('":"', '": "')
    assert "Имя" not in document


def test_an_export_keeps_its_english_column_names_for_a_russian_viewer(owner_client, owner):
    make_contact(owner, first_name="Анна")
    response = owner_client.get("/export/contacts", headers=RU)
    header = next(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert header[:3] == ["ID", "First name", "Last name"] and "Owner" in header


def test_a_custom_field_named_in_russian_gets_a_latin_key(owner):
    field = create_custom_field(owner, "contact", "Уровень клиента", "text")
    assert field.key == "uroven_klienta" and field.label == "Уровень клиента"


def test_the_custom_fields_page_reads_in_russian(owner_client, owner):
    create_custom_field(owner, "deal", "Бюджет", "number")
    db.session.commit()
    html = owner_client.get("/settings/custom-fields", headers=RU).get_data(as_text=True)
    assert "Число" in html and "У контактов нет своих полей." in html and "Добавить поле" in html
