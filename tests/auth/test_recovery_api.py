"""``/api/auth/password``: a reset link by mail for any address alike, and a new password by its token."""

from __future__ import annotations

from app.blueprints.auth.models import User
from app.blueprints.auth.passwords import verify_password
from app.extensions import db
from tests.factories import PASSWORD, make_user
from tests.mailing import link_in, mails, work_mail


def test_forgot_answers_the_same_for_any_address(client):
    make_user(email="anna@example.com")
    known = client.post("/api/auth/password/forgot", json={"email": "anna@example.com"})
    unknown = client.post("/api/auth/password/forgot", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.get_json()["status"] == unknown.get_json()["status"] == "accepted"
    work_mail()
    assert [m.template for m in mails(to="anna@example.com")] == ["auth.password_reset"]
    assert [m.template for m in mails(to="nobody@example.com")] == ["auth.password_reset_unknown"]


def test_the_mailed_token_sets_a_new_password_once(client):
    user = make_user(email="anna@example.com")
    client.post("/api/auth/password/forgot", json={"email": "anna@example.com"})
    work_mail()
    token = link_in(mails(to="anna@example.com")[0].text_body, "/auth/password/reset/").rsplit("/", 1)[1]
    body = {"token": token, "password": "a brand new long password"}
    assert client.post("/api/auth/password/reset", json=body).status_code == 204
    db.session.refresh(user)
    assert verify_password(user.password_hash, "a brand new long password")
    again = client.post("/api/auth/password/reset", json={**body, "password": "yet another long one"})
    assert again.status_code == 422 and "already used" in again.get_json()["error"]["message"]
    db.session.refresh(user)
    assert verify_password(user.password_hash, "a brand new long password")


def test_a_forged_token_or_a_weak_password_changes_nothing(client):
    user = make_user(email="anna@example.com")
    forged = client.post("/api/auth/password/reset", json={"token": "abc.def", "password": "a long enough one"})
    assert forged.status_code == 422
    client.post("/api/auth/password/forgot", json={"email": "anna@example.com"})
    work_mail()
    token = link_in(mails(to="anna@example.com")[0].text_body, "/auth/password/reset/").rsplit("/", 1)[1]
    weak = client.post("/api/auth/password/reset", json={"token": token, "password": "anna@example.com"})
    assert weak.status_code == 422 and "password" in weak.get_json()["error"]["fields"]
    assert verify_password(db.session.get(User, user.id).password_hash, PASSWORD)
