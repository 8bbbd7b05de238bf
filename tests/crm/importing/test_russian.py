"""The import pages, their refusals and the rejected rows read in the viewer's language: Russian
with ``Accept-Language: ru``, English by default; stored reasons are kept in both."""

import csv
import io
import json

import pytest
from flask_babel import force_locale, ngettext
from sqlalchemy import select

from app.blueprints.crm import importing
from app.blueprints.crm.importing import jobs as import_jobs
from app.blueprints.crm.models import Import, ImportRejection
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.conftest import bearer, csrf_token
from tests.crm.importing.test_import import run, upload
from tests.factories import add_member, make_member

RU = {"Accept-Language": "ru-RU,ru;q=0.9"}


@pytest.fixture
def owner():
    return make_member(Role.OWNER)


def rows_of(response):
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_a_missing_file_is_refused_in_russian_for_a_russian_viewer_and_in_english_by_default(owner_client):
    token = csrf_token(owner_client, "/imports/new/contacts")
    russian = owner_client.post("/imports/new/contacts", data={"csrf_token": token}, headers=RU)
    assert russian.status_code == 422 and "Выберите CSV-файл для загрузки." in russian.get_data(as_text=True)
    english = owner_client.post("/imports/new/contacts", data={"csrf_token": token})
    assert english.status_code == 422 and "Choose a CSV file to upload." in english.get_data(as_text=True)


def test_an_empty_file_is_refused_in_the_viewers_language(owner_client):
    token = csrf_token(owner_client, "/imports/new/contacts")
    form = {"csrf_token": token, "file": (io.BytesIO(b""), "empty.csv")}
    html = owner_client.post("/imports/new/contacts", data=form, content_type="multipart/form-data",
                             headers=RU).get_data(as_text=True)
    assert "Файл пуст." in html and "The file is empty" not in html


def test_a_mapping_refusal_is_said_in_russian(owner_client, owner):
    imp = upload(owner, "Title,Value\nPilot,100\n", entity="deal")
    token = csrf_token(owner_client, f"/imports/{imp.id}/mapping")
    form = {"csrf_token": token, "map-0": "", "map-1": "", "dedupe": "skip"}
    html = owner_client.post(f"/imports/{imp.id}/mapping", data=form, headers=RU).get_data(as_text=True)
    assert "Сопоставьте с полем хотя бы один столбец." in html


def test_rejected_rows_are_kept_in_every_language_and_read_in_the_viewers(owner_client, owner):
    imp = run(owner, "Email,Owner,Notes\n,,hello\nb@example.com,ghost@example.com,\n")  # run by the worker: no request
    stored = [json.loads(r) for r in db.session.scalars(select(ImportRejection.reason)
                                                        .order_by(ImportRejection.row_number))]
    assert stored[0] == {"en": "The row has no name, email, phone or Telegram handle.",
                         "ru": "В строке нет ни имени, ни эл. почты, ни телефона, ни имени пользователя Telegram."}
    assert stored[1]["ru"] == "Ответственный: ghost@example.com не участник этой организации."

    russian = rows_of(owner_client.get(f"/imports/{imp.id}/rejected.csv", headers=RU))
    assert russian[0] == ["Email", "Owner", "Notes", "Строка", "Причина"]  # a person opens this one
    assert russian[1][4].startswith("В строке нет ни имени")
    english = rows_of(owner_client.get(f"/imports/{imp.id}/rejected.csv"))
    assert english[0] == ["Email", "Owner", "Notes", "row", "reason"]
    assert english[2][4] == "Owner: ghost@example.com is not a member of this organization."


def test_the_apis_rejected_rows_keep_their_column_names_and_say_reasons_in_accept_language(client, owner):
    imp = run(owner, "Email\n\nnot-an-email,x\n")
    headers = {**bearer(owner), **RU}
    rows = rows_of(client.get(f"/api/crm/imports/{imp.id}/rejected.csv", headers=headers))
    assert rows[0] == ["Email", "row", "reason"]
    assert rows[1][:3] == ["not-an-email", "x", "3"] and rows[1][3].startswith("Ячеек в строке: 2, а столбцов в заголовке: 1.")


def test_a_failed_import_says_why_in_the_viewers_language(owner_client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    imp = importing.queue_import(agent, upload(agent, "Email\na@example.com\n"), {"Email": "email"})
    db.session.delete(agent)
    db.session.commit()
    import_jobs.run_import(imp.id)
    imp = db.session.get(Import, imp.id)
    russian = owner_client.get(f"/imports/{imp.id}", headers=RU).get_data(as_text=True)
    assert "Участник, запустивший этот импорт, больше не состоит в организации." in russian
    assert "Импорт не удался" in russian
    english = owner_client.get(f"/imports/{imp.id}").get_data(as_text=True)
    assert "The member who started this import is no longer in the organization." in english


def test_the_pages_read_in_russian(owner_client, owner):
    imp = run(owner, "Email\na@example.com\n")
    listing = owner_client.get("/imports/", headers=RU).get_data(as_text=True)
    assert "Прошлые импорты" in listing and "Импорт контактов" in listing and "Завершён" in listing
    page = owner_client.get(f"/imports/{imp.id}", headers=RU).get_data(as_text=True)
    assert "Импорт завершён" in page and "Открыть контакты" in page and "1 из 1 строки" in page


@pytest.mark.parametrize(("total", "words"), [
    (1, "1 из 1 строки"), (2, "2 из 2 строк"), (5, "5 из 5 строк"), (11, "11 из 11 строк"),
    (21, "21 из 21 строки"), (22, "22 из 22 строк")])
def test_the_progress_count_takes_the_russian_plural(app, total, words):
    with app.test_request_context(), force_locale("ru"):
        assert ngettext("%(done)s of %(total)s row", "%(done)s of %(total)s rows", total,
                        done=total, total=total) == words
    with app.test_request_context():
        assert ngettext("%(done)s of %(total)s row", "%(done)s of %(total)s rows", total,
                        done=total, total=total) == f"{total} of {total} row{'s' if total != 1 else ''}"
