from sqlalchemy import select

from app.blueprints.auth.models import User, UserSession
from app.blueprints.team.models import Membership
from app.extensions import db
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_member, make_user


def sign_up_form(token, **overrides):
    data = {"csrf_token": token, "name": "Grace Hopper", "email": "grace@example.com",
            "password": "a long enough secret", "organization": "Compilers Inc"}
    data.update(overrides)
    return data


def test_sign_up_page_renders_the_form(client):
    page = client.get("/auth/signup")
    assert page.status_code == 200
    assert b'id="sign-up-form"' in page.data


def test_signing_up_signs_in_and_lands_in_the_empty_workspace(client, csrf):
    response = client.post("/auth/signup", data=sign_up_form(csrf("/auth/signup")))
    assert response.status_code == 302 and response.location.endswith("/home")
    home = client.get("/home")
    assert b"Compilers Inc" in home.data and b"Get your workspace ready" in home.data
    membership = db.session.scalar(select(Membership))
    assert membership.role == "owner"


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
    from tests.conftest import sign_in_as

    sign_in_as(client, member)
    token = csrf_token(client, "/home")
    response = client.post("/auth/signout", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/home").status_code == 302


def test_an_old_session_stops_working_after_sign_out_everywhere(client):
    member = make_member()
    from tests.conftest import sign_in_as

    sign_in_as(client, member)
    member.user.session_epoch += 1
    db.session.commit()
    assert client.get("/home").status_code == 302
