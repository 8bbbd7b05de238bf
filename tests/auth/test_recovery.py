"""Sign-up and password reset that reveal no account, email verification, reset by a mailed link."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from sqlalchemy import func, select

from app.blueprints.auth import recovery
from app.blueprints.auth.models import RefreshToken, User, UserSession
from app.blueprints.auth.passwords import verify_password
from app.extensions import db
from tests.conftest import bearer, counting_statements, csrf_token, sign_in_as
from tests.factories import PASSWORD, make_member, make_user
from tests.mailing import link_in, mails, work_mail

NEW_PASSWORD = "a brand new long password"


def sign_up(client, email="grace@example.com", **fields):
    data = {"csrf_token": csrf_token(client, "/auth/signup"), "name": "Grace Hopper", "email": email,
            "password": "a long enough secret", "organization": "", **fields}
    return client.post("/auth/signup", data=data)


def forgot(client, email, base_url="http://localhost"):
    page = client.get("/auth/password/forgot", base_url=base_url).get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    return client.post("/auth/password/forgot", data={"csrf_token": token, "email": email}, base_url=base_url)


@pytest.fixture
def frozen_later(monkeypatch):
    """Move itsdangerous's clock: ``later(seconds)`` makes every token that much older."""
    import itsdangerous.timed

    real = itsdangerous.timed.time.time

    def later(seconds: float) -> None:
        monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: real() + seconds)

    return later


# -- sign-up ------------------------------------------------------------------------------------

def test_a_taken_address_gets_the_same_answer_as_a_new_one_and_its_owner_is_mailed(client):
    anna = make_user(name="Anna", email="anna@example.com")
    fresh, taken = sign_up(client), sign_up(client, email="anna@example.com")
    assert (fresh.status_code, fresh.location) == (taken.status_code, taken.location) == (
        302, "/auth/signup/sent")
    work_mail()
    assert db.session.scalar(select(func.count()).select_from(User)) == 2  # Anna and Grace, no second Anna
    [told] = mails(to="anna@example.com")
    assert told.template == "auth.already_registered" and "/auth/password/forgot" in told.text_body
    assert db.session.get(User, anna.id).password_hash == anna.password_hash  # nothing of hers changed
    [confirm] = mails(to="grace@example.com")
    assert confirm.template == "auth.verify_email"


def test_the_sign_up_request_never_looks_the_address_up(client):
    """Same timing whoever's address it is: the request checks the form, hashes the password and
    queues the job; it reads no table (the job finds out)."""
    make_user(email="anna@example.com")
    token = csrf_token(client, "/auth/signup")
    for email in ("anna@example.com", "nobody@example.com"):
        with counting_statements() as statements:
            client.post("/auth/signup", data={"csrf_token": token, "name": "X", "email": email,
                                              "password": "a long enough secret"})
        assert not [s for s in statements if '"user"' in s or " user" in s.lower()], statements


def test_a_bad_sign_up_is_refused_in_the_request_and_queues_nothing(client):
    response = sign_up(client, email="not an address")
    assert response.status_code == 422 and "Grace Hopper" in response.get_data(as_text=True)
    work_mail()
    assert mails() == [] and db.session.scalar(select(User)) is None


def test_an_unverified_person_can_sign_in_and_is_asked_to_confirm(client):
    sign_up(client)
    work_mail()
    token = csrf_token(client, "/auth/signin")
    signed_in = client.post("/auth/signin", data={"csrf_token": token, "email": "grace@example.com",
                                                  "password": "a long enough secret"})
    assert signed_in.status_code == 302
    home = client.get("/home").get_data(as_text=True)
    assert "Confirm your email address" in home and "grace@example.com" in home


# -- verification -------------------------------------------------------------------------------

def test_the_confirmation_link_works_once_then_says_it_was_used(client):
    sign_up(client)
    work_mail()
    link = link_in(mails(template="auth.verify_email")[0].text_body, "/auth/verify/")
    assert client.get(link).location.endswith("/home")
    user = db.session.scalar(select(User))
    confirmed_at = user.email_verified_at
    assert confirmed_at is not None
    other = client.application.test_client()
    again = other.get(link)
    assert again.location.endswith("/auth/signin")  # a second browser is not signed in by it
    assert "/home" not in again.location
    db.session.refresh(user)
    assert user.email_verified_at == confirmed_at


def test_an_expired_or_forged_confirmation_link_is_refused(client, frozen_later):
    user = make_user(verified=False)
    token = recovery.verification_token(user, client.application.config["SECRET_KEY"])
    assert client.get(f"/auth/verify/{token}x").location.endswith("/auth/signin")
    frozen_later(recovery.VERIFY_MAX_AGE.total_seconds() + 1)
    assert client.get(f"/auth/verify/{token}").location.endswith("/auth/signin")
    db.session.refresh(user)
    assert user.email_verified_at is None


def test_a_link_for_an_address_the_user_no_longer_has_does_not_confirm_the_new_one(client):
    user = make_user(email="old@example.com", verified=False)
    token = recovery.verification_token(user, client.application.config["SECRET_KEY"])
    user.email = "new@example.com"
    db.session.commit()
    client.get(f"/auth/verify/{token}")
    db.session.refresh(user)
    assert user.email_verified_at is None


def test_a_signed_in_person_can_ask_for_the_link_again(client):
    member = make_member()
    member.user.email_verified_at = None
    db.session.commit()
    sign_in_as(client, member)
    token = csrf_token(client, "/home")
    client.post("/auth/verify/resend", data={"csrf_token": token})
    [mail] = mails(to=member.user.email, template="auth.verify_email")
    work_mail()
    client.get(link_in(mail.text_body, "/auth/verify/"))
    db.session.refresh(member.user)
    assert member.user.email_verified_at is not None


# -- password reset -----------------------------------------------------------------------------

def test_forgot_password_answers_the_same_for_any_address_and_mails_in_the_job(client):
    make_user(name="Anna", email="anna@example.com")
    known, unknown = forgot(client, "anna@example.com"), forgot(client, "nobody@example.com")
    assert known.location == unknown.location == "/auth/password/forgot/sent"
    page = client.get(known.location).get_data(as_text=True)
    assert "If nobody@example.com has an account, we sent it a link" in page
    assert mails() == []  # the request looked nothing up
    work_mail()
    [reset] = mails(to="anna@example.com")
    [nobody] = mails(to="nobody@example.com")
    assert reset.template == "auth.password_reset" and "/auth/password/reset/" in reset.text_body
    assert nobody.template == "auth.password_reset_unknown" and "/auth/password/reset/" not in nobody.text_body


def reset_link(client, email="anna@example.com") -> str:
    forgot(client, email)
    work_mail()
    return link_in(mails(to=email, template="auth.password_reset")[-1].text_body, "/auth/password/reset/")


def test_a_reset_sets_the_password_ends_every_session_and_spends_the_link(client):
    member = make_member()
    member.user.email, member.user.email_verified_at = "anna@example.com", None
    db.session.commit()
    other_browser = client.application.test_client()
    sign_in_as(other_browser, member)
    headers = bearer(member)
    assert other_browser.get("/home").status_code == 200
    link = reset_link(client)

    page = client.get(link)
    assert page.status_code == 200 and "anna@example.com" in page.get_data(as_text=True)
    token = csrf_token(client, link)
    done = client.post(link, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert done.status_code == 302 and "/auth/signin" in done.location

    user = db.session.get(User, member.user_id)
    assert verify_password(user.password_hash, NEW_PASSWORD) and not verify_password(user.password_hash, PASSWORD)
    assert user.email_verified_at is not None  # the link came to that inbox
    assert other_browser.get("/home").status_code == 302  # signed out
    assert db.session.scalar(select(func.count()).select_from(UserSession).where(UserSession.ended_at.is_(None))) == 0
    assert client.get("/api/auth/verify", headers=headers).status_code == 401
    assert db.session.scalar(select(func.count()).select_from(RefreshToken)
                             .where(RefreshToken.revoked_at.is_(None))) == 0
    assert client.get(link).status_code == 410  # used
    [changed] = mails(to="anna@example.com", template="auth.password_changed")
    assert changed.dedupe_key.startswith("auth.password_changed:")


def test_a_weak_new_password_is_refused_and_the_old_one_stays(client):
    user = make_user(email="anna@example.com")
    link = reset_link(client)
    token = csrf_token(client, link)
    response = client.post(link, data={"csrf_token": token, "password": "anna@example.com",
                                       "confirm": "anna@example.com"})
    assert response.status_code == 422 and 'aria-invalid="true"' in response.get_data(as_text=True)
    mismatch = client.post(link, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": "other"})
    assert mismatch.status_code == 422 and "The two passwords differ." in mismatch.get_data(as_text=True)
    db.session.refresh(user)
    assert verify_password(user.password_hash, PASSWORD)
    assert client.get(link).status_code == 200  # still usable


def test_a_reset_link_expires_after_an_hour(client, frozen_later):
    make_user(email="anna@example.com")
    link = reset_link(client)
    frozen_later(recovery.RESET_MAX_AGE.total_seconds() + 1)
    page = client.get(link)
    assert page.status_code == 410 and "expired" in page.get_data(as_text=True)


def test_a_forged_host_does_not_get_the_reset_link_when_a_public_url_is_set(client, app):
    make_user(email="anna@example.com")
    settings = app.config["SETTINGS"]
    app.config["SETTINGS"] = replace(settings, public_url="https://crm.example.com")
    try:
        assert forgot(client, "anna@example.com", base_url="http://evil.example").status_code == 302
        work_mail()
    finally:
        app.config["SETTINGS"] = settings
    [mail] = mails(to="anna@example.com")
    assert "https://crm.example.com/auth/password/reset/" in mail.text_body and "evil" not in mail.text_body


def test_reset_requests_per_address_are_rate_limited(client):
    for _ in range(3):
        assert forgot(client, "anna@example.com").status_code == 302
    assert forgot(client, "anna@example.com").status_code == 429


def test_the_confirmation_link_asks_for_the_second_factor_of_one_who_set_it_up(client):
    from tests.factories import give_totp

    user = make_user(verified=False)
    give_totp(user)
    token = recovery.verification_token(user, client.application.config["SECRET_KEY"])
    response = client.get(f"/auth/verify/{token}")
    assert response.location.endswith("/auth/mfa")
    assert client.get("/home").status_code == 302  # not signed in without the code
    db.session.refresh(user)
    assert user.email_verified_at is not None  # the address is proven all the same
