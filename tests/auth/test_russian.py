"""Sign-in refusals, sessions, your organizations and your profile for a Russian viewer; the
English default unchanged."""

import pytest
from flask_babel import force_locale

from app.blueprints.auth import service
from app.blueprints.auth.models import User
from app.extensions import db
from tests.conftest import bearer, csrf_token, sign_in_as
from tests.factories import make_user
from tests.mailing import mails, work_mail

RU = {"Accept-Language": "ru-RU,ru;q=0.9"}


def test_a_wrong_password_is_refused_in_russian(client):
    make_user(email="bob@example.com")
    token = csrf_token(client)
    response = client.post("/auth/signin", headers=RU, data={"csrf_token": token, "email": "bob@example.com",
                                                             "password": "wrong"})
    assert response.status_code == 422
    assert "Неверный адрес почты или пароль." in response.get_data(as_text=True)


@pytest.mark.parametrize(("minutes", "words"), [
    (1, "ещё на 1 минуту;"), (2, "ещё на 2 минуты;"), (5, "ещё на 5 минут;"), (11, "ещё на 11 минут;"),
    (21, "ещё на 21 минуту;"), (22, "ещё на 22 минуты;"),
])
def test_the_lockout_counts_its_minutes_in_russian(minutes, words):
    with force_locale("ru"):
        assert words in service._locked_message(minutes * 60)
    with force_locale("en"):
        assert f"locked for {minutes} more minute{'s' if minutes != 1 else ''};" in service._locked_message(
            minutes * 60)


def test_a_sign_up_with_a_taken_email_is_answered_in_russian_and_its_owner_told_in_theirs(client):
    owner = make_user(email="anna@example.com")
    owner.language = "en"
    db.session.commit()
    token = csrf_token(client, "/auth/signup")
    response = client.post("/auth/signup", headers=RU, data={
        "csrf_token": token, "name": "Анна", "email": "anna@example.com", "password": "a long enough password"})
    sent = client.get(response.location, headers=RU).get_data(as_text=True)
    assert "Проверьте почту" in sent and "Мы отправили письмо на anna@example.com." in sent
    work_mail()
    [mail] = mails(to="anna@example.com")
    assert mail.template == "auth.already_registered" and mail.language == "en"


def test_a_sign_up_without_a_team_name_names_it_in_its_language(client):
    token = csrf_token(client, "/auth/signup")
    client.post("/auth/signup", headers=RU, data={
        "csrf_token": token, "name": "Анна", "email": "anna@example.com", "password": "a long enough password"})
    work_mail()
    assert service.find_user("anna@example.com").memberships[0].organization.name == "Анна и команда"
    [mail] = mails(to="anna@example.com")
    assert mail.language == "ru" and mail.subject == "Подтвердите адрес почты для Relay CRM"


def test_the_sessions_page_reads_in_russian(owner_client):
    html = owner_client.get("/auth/sessions", headers=RU).get_data(as_text=True)
    assert "<h2>Где выполнен вход</h2>" in html and "Этот браузер" in html
    assert "Выйти на всех устройствах" in html and "последняя активность" in html
    english = owner_client.get("/auth/sessions").get_data(as_text=True)
    assert "<h2>Where you are signed in</h2>" in english and "last active" in english


def test_a_device_is_named_in_the_viewers_language():
    from app.blueprints.auth.models import UserSession

    firefox = UserSession(user_agent="Mozilla/5.0 (Windows NT 10.0) Gecko/20100101 Firefox/120.0")
    unknown = UserSession(user_agent="curl/8.0")
    with force_locale("ru"):
        assert (firefox.device, unknown.device) == ("Firefox на Windows", "Браузер")
    with force_locale("en"):
        assert (firefox.device, unknown.device) == ("Firefox on Windows", "A browser")


def test_a_new_organization_is_announced_in_russian(owner_client):
    token = csrf_token(owner_client, "/settings/organizations")
    response = owner_client.post("/settings/organizations", headers=RU, follow_redirects=True,
                                 data={"csrf_token": token, "name": "Ромашка"})
    assert "Организация «Ромашка» создана. Вы её владелец." in response.get_data(as_text=True)
    page = owner_client.get("/settings/organizations", headers=RU).get_data(as_text=True)
    assert "<h2>Ваши организации</h2>" in page and "Создать организацию" in page


def test_an_api_sign_in_is_refused_in_the_callers_language(client):
    make_user(email="bob@example.com")
    body = {"email": "bob@example.com", "password": "wrong"}
    russian = client.post("/api/auth/signin", json=body, headers=RU).get_json()["error"]
    english = client.post("/api/auth/signin", json=body).get_json()["error"]
    assert russian["code"] == english["code"] == "unauthorized"
    assert (russian["message"], english["message"]) == ("Неверный адрес почты или пароль.",
                                                        "Email or password is incorrect.")


def test_an_api_request_outside_its_schema_names_its_fields_in_russian(client):
    russian = client.post("/api/auth/signup", json={"email": "a@example.com", "x": 1}, headers=RU)
    error = russian.get_json()["error"]
    assert russian.status_code == 422 and error["code"] == "invalid_request"
    assert error["fields"] == {"password": "Обязательно.", "name": "Обязательно.", "x": "Неизвестное поле."}
    english = client.post("/api/auth/signup", json={"email": "a@example.com", "x": 1}).get_json()["error"]
    assert english["fields"] == {"password": "Required.", "name": "Required.", "x": "Unknown field."}


def test_an_expired_or_forged_token_is_refused_in_russian(client, owner):
    headers = {**bearer(owner), **RU}
    headers["Authorization"] += "x"
    assert client.get("/api/auth/verify", headers=headers).get_json()["error"]["message"] == "Токен недействителен."


# -- your profile ----------------------------------------------------------------------------------

def test_the_profile_page_shows_your_name_and_language(owner_client, owner):
    html = owner_client.get("/settings/profile", headers=RU).get_data(as_text=True)
    assert "<h2>Ваш профиль</h2>" in html and owner.user.email in html
    assert '<option selected value="">Как в браузере</option>' in html
    assert '<option value="ru">Русский</option>' in html and '<option value="en">English</option>' in html


def test_saving_the_profile_keeps_the_name_and_the_language_and_answers_in_it(app, owner_client, owner):
    token = csrf_token(owner_client, "/settings/profile")
    response = owner_client.post("/settings/profile", follow_redirects=True,
                                 data={"csrf_token": token, "name": "Ольга Смирнова", "language": "ru"})
    html = response.get_data(as_text=True)
    assert '<html lang="ru">' in html and "Профиль сохранён." in html
    db.session.expire_all()
    user = db.session.get(User, owner.user_id)
    assert (user.name, user.language) == ("Ольга Смирнова", "ru")
    elsewhere = app.test_client()
    sign_in_as(elsewhere, owner)
    assert '<html lang="ru">' in elsewhere.get("/settings/profile", headers={"Accept-Language": "en"}).get_data(
        as_text=True)
    token = csrf_token(owner_client, "/settings/profile")
    owner_client.post("/settings/profile", data={"csrf_token": token, "name": "Ольга Смирнова", "language": ""})
    db.session.expire_all()
    assert db.session.get(User, owner.user_id).language is None  # back to each browser's own


def test_a_language_we_do_not_have_is_a_field_error(owner_client, owner):
    token = csrf_token(owner_client, "/settings/profile")
    response = owner_client.post("/settings/profile", headers=RU,
                                 data={"csrf_token": token, "name": "Ольга", "language": "de"})
    assert response.status_code == 422
    assert "Неизвестный язык." in response.get_data(as_text=True)
    assert db.session.get(User, owner.user_id).language is None


def test_a_blank_name_is_refused_in_the_viewers_language(owner_client):
    token = csrf_token(owner_client, "/settings/profile")
    data = {"csrf_token": token, "name": " ", "language": ""}
    russian = owner_client.post("/settings/profile", headers=RU, data=data)
    assert russian.status_code == 422 and "Обязательное поле." in russian.get_data(as_text=True)
    english = owner_client.post("/settings/profile", data=data)
    assert "This field is required." in english.get_data(as_text=True)
    with force_locale("ru"), pytest.raises(service.DomainError) as refused:
        service.update_profile(User(name="Ольга"), name=" ", language=None)
    assert refused.value.fields == {"name": "Введите ваше имя."}


def test_the_profile_needs_a_signed_in_person(client):
    assert client.get("/settings/profile").status_code == 302


def test_service_messages_follow_force_locale():
    with force_locale("ru"), pytest.raises(service.DomainError) as refused:
        service.check_password_strength("short", "a@example.com")
    assert refused.value.fields == {"password": "Не меньше 10 символов."}
