from sqlalchemy import select

from app.blueprints.auth.models import User, UserSession
from app.blueprints.team.models import Membership
from app.extensions import db
from tests.conftest import csrf_token, sign_in_as
from tests.factories import PASSWORD, make_member, make_user
from tests.mailing import link_in, mails, work_mail


def sign_up_form(token, **overrides):
    data = {"csrf_token": token, "name": "Grace Hopper", "email": "grace@example.com",
            "password": "a long enough secret", "organization": "Compilers Inc"}
    data.update(overrides)
    return data


def test_sign_up_page_renders_the_form(client):
    page = client.get("/auth/signup")
    assert page.status_code == 200
    assert b'id="sign-up-form"' in page.data


def test_signing_up_mails_a_link_that_signs_in_to_the_empty_workspace(client, csrf):
    response = client.post("/auth/signup", data=sign_up_form(csrf("/auth/signup")))
    assert response.status_code == 302 and response.location.endswith("/auth/signup/sent")
    assert "We sent a mail to grace@example.com." in client.get(response.location).get_data(as_text=True)
    work_mail()  # the job makes the account and mails its link
    [mail] = mails(to="grace@example.com", template="auth.verify_email")
    landed = client.get(link_in(mail.text_body, "/auth/verify/"))
    assert landed.status_code == 302 and landed.location.endswith("/home")
    home = client.get("/home")
    assert b"Compilers Inc" in home.data and b"Get your workspace ready" in home.data
    membership = db.session.scalar(select(Membership))
    assert membership.role == "owner" and membership.user.email_verified_at is not None


def test_sign_up_with_bad_fields_re_renders_with_errors_and_keeps_input(client, csrf):
    response = client.post("/auth/signup", data=sign_up_form(csrf("/auth/signup"), email="nope",
                                                             password="short"))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'aria-invalid="true"' in html and "Grace Hopper" in html
    assert db.session.scalar(select(User)) is None


def test_posting_without_a_csrf_token_is_refused(client):
    response = client.post("/auth/signup", data=sign_up_form(""))
    assert response.status_code == 400
    assert db.session.scalar(select(User)) is None


def test_sign_in_rotates_the_session_and_remembers_when_asked(client, csrf):
    make_user(email="bob@example.com")
    token = csrf()
    with client.session_transaction() as session:
        session["planted"] = "attacker-fixed-session"
    response = client.post("/auth/signin", data={"csrf_token": token, "email": "bob@example.com",
                                                 "password": PASSWORD, "remember": "y"})
    assert response.status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        opened = db.session.scalar(select(UserSession))
        assert session["_user_id"].startswith(f"{opened.user_id}:0:")
    assert opened.user_agent and opened.ended_at is None
    assert any(c.key == "remember_token" for c in client._cookies.values())


def test_wrong_password_shows_one_generic_error(client, csrf):
    make_user(email="bob@example.com")
    response = client.post("/auth/signin", data={"csrf_token": csrf(), "email": "bob@example.com",
                                                 "password": "wrong"})
    assert response.status_code == 422
    assert b"Email or password is incorrect." in response.data


def test_lockout_message_is_clear(client, csrf):
    make_user(email="bob@example.com")
    token = csrf()
    for _ in range(5):
        response = client.post("/auth/signin", data={"csrf_token": token, "email": "bob@example.com",
                                                     "password": "wrong"})
    assert b"Too many failed sign-ins" in response.data


def test_sign_in_is_rate_limited_per_account(client, csrf):
    token = csrf()
    statuses = [client.post("/auth/signin", data={"csrf_token": token, "email": f"x{i % 2}@e.com",
                                                  "password": "wrong"}).status_code
                for i in range(24)]
    assert 429 in statuses


def test_next_parameter_only_redirects_inside_the_site(client, csrf):
    make_user(email="bob@example.com")
    response = client.post("/auth/signin?next=//evil.example.com/x",
                           data={"csrf_token": csrf(), "email": "bob@example.com", "password": PASSWORD})
    assert response.location.endswith("/home")


def test_sign_out_ends_the_session(client, csrf):
    member = make_member()
    sign_in_as(client, member)
    token = csrf_token(client, "/home")
    response = client.post("/auth/signout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/home").status_code == 302


def test_an_old_session_stops_working_after_sign_out_everywhere(client):
    member = make_member()
    sign_in_as(client, member)
    member.user.session_epoch += 1
    db.session.commit()
    assert client.get("/home").status_code == 302


# -- the organization's default country for phone numbers, guessed at sign-up ------------------

def signed_up_country(client, csrf, headers=None, **fields):
    from app.blueprints.team.models import Organization

    response = client.post("/auth/signup", data=sign_up_form(csrf("/auth/signup"), **fields),
                           headers=headers or {})
    assert response.status_code == 302
    work_mail()
    return db.session.scalar(select(Organization.default_country))


def test_the_sign_up_page_carries_the_country_guess_field_and_its_script(client):
    page = client.get("/auth/signup").get_data(as_text=True)
    assert 'data-country-guess=""' in page and 'name="country"' in page and 'type="hidden"' in page
    assert "/static/js/country-guess" in page and "<script>" not in page  # no inline script (CSP)


def test_the_browsers_country_becomes_the_organizations_default(client, csrf):
    assert signed_up_country(client, csrf, country="RU") == "RU"


def test_a_country_guess_that_is_not_a_country_is_dropped_and_the_sign_up_goes_on(client, csrf):
    assert signed_up_country(client, csrf, country="Mordor") is None


def test_without_the_scripts_guess_the_region_of_the_browsers_language_is_used(client, csrf):
    assert signed_up_country(client, csrf, headers={"Accept-Language": "ru-RU,ru;q=0.9,en-US;q=0.8"}) == "RU"


def test_the_scripts_guess_wins_over_the_language(client, csrf):
    assert signed_up_country(client, csrf, headers={"Accept-Language": "en-US"}, country="RU") == "RU"


def test_with_no_guess_at_all_the_organization_has_no_default_country(client, csrf):
    assert signed_up_country(client, csrf, headers={"Accept-Language": "ru, en;q=0.5"}) is None


def test_a_re_rendered_sign_up_keeps_the_guess(client, csrf):
    response = client.post("/auth/signup", data=sign_up_form(csrf("/auth/signup"), password="short",
                                                             country="RU"))
    assert response.status_code == 422
    assert 'value="RU"' in response.get_data(as_text=True)


def test_the_profile_keeps_a_time_zone_the_pages_show_times_in(client):
    member = make_member()
    sign_in_as(client, member)
    token = csrf_token(client, "/settings/profile")
    client.post("/settings/profile", data={"csrf_token": token, "name": "Ann", "language": "",
                                           "timezone": "Asia/Vladivostok"})
    db.session.expire_all()
    assert db.session.get(User, member.user_id).timezone == "Asia/Vladivostok"
    assert 'data-time-zone="Asia/Vladivostok"' in client.get("/home").get_data(as_text=True)
    refused = client.post("/settings/profile", data={"csrf_token": token, "name": "Ann", "language": "",
                                                     "timezone": "Mars/Olympus"})
    assert refused.status_code == 422 and "Unknown time zone." in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, member.user_id).timezone == "Asia/Vladivostok"
    client.post("/settings/profile", data={"csrf_token": token, "name": "Ann", "language": "", "timezone": ""})
    db.session.expire_all()
    assert db.session.get(User, member.user_id).timezone is None  # each browser's clock again
