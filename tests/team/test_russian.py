"""The organization, team and audit pages for a Russian viewer: words, plurals, refusals; the
English default unchanged."""

import json

import pytest

from app import audit
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.conftest import csrf_token, sign_in_as
from tests.factories import add_member, make_member, make_user

RU = {"Accept-Language": "ru-RU,ru;q=0.9"}


@pytest.mark.parametrize(("count", "words"), [
    (1, "1 участник."), (2, "2 участника."), (5, "5 участников."), (11, "11 участников."),
    (21, "21 участник."), (22, "22 участника."),
])
def test_the_members_page_counts_its_people_in_russian(client, count, words):
    owner = make_member(Role.OWNER)
    owner.organization.name = "Ромашка"
    for _ in range(count - 1):
        add_member(owner.organization)
    db.session.commit()
    sign_in_as(client, owner)
    html = client.get("/settings/members", headers=RU).get_data(as_text=True)
    assert f"В организации «Ромашка» {words}" in html
    assert "<h2>Участники</h2>" in html


def test_the_members_page_in_english_is_unchanged(owner_client, owner):
    add_member(owner.organization)
    html = owner_client.get("/settings/members").get_data(as_text=True)
    assert f"2 people in {owner.organization.name}." in html and "<h2>Members</h2>" in html


def test_a_refused_role_change_is_a_russian_toast(client):
    admin = make_member(Role.ADMIN)
    owner = add_member(admin.organization, role=Role.OWNER)
    sign_in_as(client, admin)
    token = csrf_token(client, "/settings/members")
    response = client.post(f"/settings/members/{owner.id}/role", data={"role": "agent"},
                           headers={**RU, "HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 403
    toast = json.loads(response.headers["HX-Trigger"])["toast"]["message"]
    assert toast == ("Только владелец может назначить или снять роль владельца, и никто не может "
                     "действовать выше своей роли.")


def test_the_last_owner_cannot_step_down_and_hears_why_in_russian(owner_client, owner):
    token = csrf_token(owner_client, "/settings/members")
    response = owner_client.post(f"/settings/members/{owner.id}/role", data={"role": "agent"},
                                 headers={**RU, "HX-Request": "true", "X-CSRFToken": token})
    assert response.status_code == 422
    assert "хотя бы один владелец" in json.loads(response.headers["HX-Trigger"])["toast"]["message"]


def test_the_organization_form_refuses_in_the_viewers_language(owner_client, owner):
    token = csrf_token(owner_client, "/settings/organization")
    data = {"csrf_token": token, "name": "Ромашка", "timezone": "UTC", "default_currency": "ZZZ"}
    russian = owner_client.post("/settings/organization", data=data, headers=RU).get_data(as_text=True)
    assert "Неизвестная валюта." in russian and "Валюта сделок по умолчанию" in russian
    english = owner_client.post("/settings/organization", data=data).get_data(as_text=True)
    assert "Unknown currency." in english and "Default currency for deals" in english


def test_a_saved_organization_says_so_in_russian(owner_client, owner):
    token = csrf_token(owner_client, "/settings/organization")
    response = owner_client.post("/settings/organization", headers=RU, follow_redirects=True,
                                 data={"csrf_token": token, "name": "Ромашка", "timezone": "Europe/Moscow"})
    html = response.get_data(as_text=True)
    assert "Организация сохранена." in html
    assert '<option selected value="Europe/Moscow">Россия (Москва)</option>' in html
    assert "российский рубль" in html.lower()  # currencies by their Russian names, codes kept


def test_members_who_cannot_edit_read_the_settings_in_russian(client):
    agent = make_member(Role.AGENT)
    agent.organization.timezone = "Europe/Moscow"
    db.session.commit()
    sign_in_as(client, agent)
    html = client.get("/settings/organization", headers=RU).get_data(as_text=True)
    assert "<dd>Россия (Москва)</dd>" in html
    assert "Нет: у каждого номера должен быть код страны" in html
    assert "Изменить их могут только владельцы и администраторы." in html


def test_the_audit_log_reads_stored_rows_in_the_viewers_language(owner_client, owner):
    agent = add_member(owner.organization, user=make_user(name="Сергей Иванов"), role=Role.AGENT)
    audit.record("member.role_changed", org_id=owner.org_id, actor_id=owner.user_id, target=agent,
                 user_id=agent.user_id, old="agent", new="manager")
    audit.record("org.updated", org_id=owner.org_id, actor_id=owner.user_id,
                 changes={"timezone": ["UTC", "Europe/Moscow"], "default_country": [None, "RU"]})
    audit.record("import.started", org_id=owner.org_id, actor_id=owner.user_id, file="kontakty.csv",
                 entity="contact", dedupe="skip", dry_run=True)
    db.session.commit()
    html = owner_client.get("/settings/audit", headers=RU).get_data(as_text=True)
    assert '<span class="audit-action" data-action="member.role_changed">Роль изменена</span>' in html
    assert "Участник: Сергей Иванов; Было: Агент; Стало: Менеджер" in html
    assert "Часовой пояс: UTC → Россия (Москва); Страна по умолчанию: нет → RU" in html
    assert "Файл: kontakty.csv; Записи: Контакты; Дубликаты: пропускать совпадения; Пробный запуск: да" in html
    assert "<option value=\"auth.sign_in\">Вход выполнен</option>" in html
    english = owner_client.get("/settings/audit").get_data(as_text=True)
    assert "Member: Сергей Иванов; Before: Agent; After: Manager" in english
    assert "Timezone: UTC → Europe/Moscow; Default country: none → RU" in english
    assert "File: kontakty.csv; Records: Contacts; Duplicates: skip matches; Dry run: yes" in english


def test_a_bad_audit_filter_is_named_in_russian(owner_client):
    response = owner_client.get("/settings/audit?event=nonsense&from=01.02.2026", headers=RU)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Проверьте фильтры: Выберите событие из списка. Запишите дату в виде ГГГГ-ММ-ДД." in html


def test_the_audit_log_refuses_an_agent_in_russian(client):
    sign_in_as(client, make_member(Role.AGENT))
    response = client.get("/settings/audit", headers=RU)
    assert response.status_code == 403
    assert "Ваша роль не позволяет читать журнал действий." in response.get_data(as_text=True)
    english = client.get("/settings/audit").get_data(as_text=True)
    assert "Your role does not allow you to read the audit log." in english


def test_an_empty_audit_log_says_so_in_russian(owner_client):
    html = owner_client.get("/settings/audit", headers=RU).get_data(as_text=True)
    assert "Пока ничего не записано" in html and "<h2>Журнал действий</h2>" in html


def test_an_invitation_mailed_in_russian_from_an_english_page_is_russian_throughout(client):
    from tests.mailing import mails

    owner = make_member(Role.OWNER)
    owner.organization.name = "Ромашка"
    owner.user.name = "Ольга"
    db.session.commit()
    sign_in_as(client, owner)
    token = csrf_token(client, "/settings/members")
    client.post("/settings/members/invite", data={"csrf_token": token, "email": "ivan@example.com",
                                                  "role": "manager", "language": "ru"})
    [mail] = mails(to="ivan@example.com")
    assert mail.subject == "Ольга приглашает вас в организацию «Ромашка» в Relay CRM"
    assert "с ролью «Менеджер»" in mail.text_body and "Manager" not in mail.text_body
    assert "Принять приглашение:" in mail.text_body
    page = client.get("/settings/members").get_data(as_text=True)
    assert "Invitation sent to ivan@example.com." in page  # the inviter's own page stays English


def test_a_removal_refused_for_the_last_owner_is_said_in_russian(client):
    owner = make_member(Role.OWNER)
    other = add_member(owner.organization, role=Role.ADMIN)
    sign_in_as(client, owner)
    token = csrf_token(client, "/settings/members")
    refused = client.post("/settings/members/leave", headers=RU,
                          data={"csrf_token": token, "reassign_to": other.user_id})
    assert refused.status_code == 422
    assert "последний владелец" in refused.get_data(as_text=True).lower()
