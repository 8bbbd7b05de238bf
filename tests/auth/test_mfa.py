"""Two-factor authentication: enrolment, the code step of a sign-in (web and API), replay and drift
under a frozen clock, recovery codes, lockout, turning it off, and an organization requiring it."""

import re

import pyotp
import pytest
from flask import current_app
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.blueprints.auth import mfa, tokens
from app.blueprints.auth.models import RecoveryCode, RefreshToken, TotpFactor
from app.blueprints.team.models import Organization
from app.blueprints.team.permissions import MATRIX, Permission, Role
from app.extensions import db
from tests.conftest import csrf_token, sign_in_as
from tests.factories import PASSWORD, add_member, give_totp, make_member

NOW = 1_800_000_000.0  # a frozen clock, on a step boundary (30 s steps)
STEP = int(NOW // 30)


@pytest.fixture
def clock(monkeypatch):
    """The server's clock, frozen at NOW; ``clock.set(t)`` moves it."""

    class Clock:
        now = NOW

        def set(self, t: float) -> None:
            self.now = t

    frozen = Clock()
    monkeypatch.setattr(mfa, "clock", lambda: frozen.now)
    return frozen


def code(secret: str, at: float = NOW) -> str:
    return pyotp.TOTP(secret).at(at)


def actions() -> list[str]:
    return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def factor(user_id: int) -> TotpFactor | None:
    db.session.expire_all()
    return db.session.scalar(select(TotpFactor).where(TotpFactor.user_id == user_id))


def password_sign_in(client, email, remember=False):
    data = {"csrf_token": csrf_token(client), "email": email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    return client.post("/auth/signin?next=/pipeline/", data=data)


def submit_code(client, value, path="/auth/mfa", field="code"):
    return client.post(path, data={"csrf_token": csrf_token(client, "/auth/signin"), field: value})


def secret_on_page(html: str) -> str:
    return re.search(r'id="mfa-key">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")


# -- enrolment -----------------------------------------------------------------------------------

def test_enrolment_shows_a_qr_code_and_the_key_and_a_first_code_turns_it_on(owner_client, owner, clock):
    page = owner_client.get("/settings/security")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<svg' in html and 'class="mfa-qr"' in html and "<script>" not in html and "style=" not in html
    secret = secret_on_page(html)
    row = factor(owner.user_id)
    assert row.confirmed_at is None and secret not in row.secret_encrypted  # encrypted at rest
    assert secret_on_page(owner_client.get("/settings/security").get_data(as_text=True)) == secret  # same key
    token = csrf_token(owner_client, "/home")
    response = owner_client.post("/settings/security/totp", data={"csrf_token": token, "code": code(secret)})
    assert response.status_code == 200
    shown = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", response.get_data(as_text=True))
    assert len(shown) == 10 and len(set(shown)) == 10
    row = factor(owner.user_id)
    assert row.confirmed_at is not None and row.last_step == STEP
    stored = db.session.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == owner.user_id)).all()
    assert len(stored) == 10 and not set(shown) & set(stored)  # only hashes are kept
    assert "auth.mfa_enabled" in actions()
    assert 'id="mfa-manage"' in owner_client.get("/settings/security").get_data(as_text=True)


def test_a_wrong_first_code_leaves_the_factor_unconfirmed(owner_client, owner, clock):
    secret = secret_on_page(owner_client.get("/settings/security").get_data(as_text=True))
    token = csrf_token(owner_client, "/home")
    wrong = f"{(int(code(secret)) + 1) % 1_000_000:06d}"
    response = owner_client.post("/settings/security/totp", data={"csrf_token": token, "code": wrong})
    assert response.status_code == 422 and "field-error" in response.get_data(as_text=True)
    row = factor(owner.user_id)
    assert row.confirmed_at is None and row.last_step is None
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
    assert actions() == ["auth.mfa_failed"]


def test_enrolling_twice_is_refused_once_it_is_on(owner, clock):
    give_totp(owner.user)
    with pytest.raises(mfa.Conflict):
        mfa.start_enrolment(owner.user, mfa.MfaKeys(tuple(current_app.config["SETTINGS"].session_keys)))


# -- the code step of a sign-in ----------------------------------------------------------------------

def test_a_sign_in_with_mfa_asks_for_the_code_before_any_session(client, clock):
    member = make_member()
    secret = give_totp(member.user)
    response = password_sign_in(client, member.user.email, remember=True)
    assert response.status_code == 302 and response.location.endswith("/auth/mfa")
    assert client.get("/home").status_code == 302  # not signed in yet
    assert not any(c.key == "remember_token" for c in client._cookies.values())
    page = client.get("/auth/mfa")
    assert page.status_code == 200 and 'id="mfa-form"' in page.get_data(as_text=True)
    response = submit_code(client, code(secret))
    assert response.status_code == 302 and response.location.endswith("/pipeline/")
    assert client.get("/home").status_code == 200
    assert any(c.key == "remember_token" for c in client._cookies.values())
    assert factor(member.user_id).last_step == STEP


def test_a_code_is_accepted_once_a_replay_in_the_same_window_is_refused(app, client, clock):
    member = make_member()
    secret = give_totp(member.user)
    password_sign_in(client, member.user.email)
    assert submit_code(client, code(secret)).status_code == 302
    other = app.test_client()
    password_sign_in(other, member.user.email)
    clock.set(NOW + 10)  # the same 30-second step
    replay = submit_code(other, code(secret))
    assert replay.status_code == 422 and "Enter the current code" in replay.get_data(as_text=True)
    assert other.get("/home").status_code == 302
    assert factor(member.user_id).last_step == STEP
    assert submit_code(other, code(secret, NOW + 30)).status_code == 302  # the next step's code


def test_one_step_of_drift_either_way_is_accepted_two_are_not(clock):
    member = make_member()
    secret = give_totp(member.user)
    keys = mfa.MfaKeys(tuple(current_app.config["SETTINGS"].session_keys))
    with pytest.raises(mfa.WrongCode):
        mfa.verify(member.user, code(secret, NOW - 60), keys)  # two steps behind
    assert factor(member.user_id).last_step is None
    assert mfa.verify(member.user, code(secret, NOW - 30), keys) == "totp"  # a slow phone
    assert factor(member.user_id).last_step == STEP - 1
    assert mfa.verify(member.user, code(secret, NOW + 30), keys) == "totp"  # a fast phone
    assert factor(member.user_id).last_step == STEP + 1
    with pytest.raises(mfa.WrongCode):
        mfa.verify(member.user, code(secret, NOW), keys)  # earlier than the last accepted
    db.session.commit()


def test_a_recovery_code_signs_in_once(app, owner_client, owner, clock):
    secret = secret_on_page(owner_client.get("/settings/security").get_data(as_text=True))
    token = csrf_token(owner_client, "/home")
    page = owner_client.post("/settings/security/totp", data={"csrf_token": token, "code": code(secret)})
    recovery = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", page.get_data(as_text=True))[3]
    client = app.test_client()
    password_sign_in(client, owner.user.email)
    assert submit_code(client, recovery.upper().replace("-", " ")).status_code == 302  # as typed
    assert client.get("/home").status_code == 200
    used = db.session.scalar(select(RecoveryCode).where(RecoveryCode.used_at.is_not(None)))
    assert used is not None and db.session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.used_at.is_(None))) == 9
    again = app.test_client()
    password_sign_in(again, owner.user.email)
    assert submit_code(again, recovery).status_code == 422
    assert again.get("/home").status_code == 302
    assert "auth.mfa_recovery_used" in actions()


def test_wrong_codes_lock_the_second_step_and_are_audited(client, clock):
    member = make_member()
    secret = give_totp(member.user)
    password_sign_in(client, member.user.email)
    statuses = [submit_code(client, "000000" if code(secret) != "000000" else "111111").status_code
                for _ in range(5)]
    assert statuses == [422] * 5
    locked = submit_code(client, code(secret))
    assert locked.status_code == 422 and "Too many wrong codes" in locked.get_data(as_text=True)
    assert client.get("/home").status_code == 302
    assert factor(member.user_id).last_step is None  # the right code was not even spent
    assert actions().count("auth.mfa_failed") == 5 and actions().count("auth.mfa_locked_out") == 1


def test_the_code_page_is_rate_limited(client, clock):
    member = make_member()
    give_totp(member.user)
    password_sign_in(client, member.user.email)
    statuses = [submit_code(client, "12345678901").status_code for _ in range(11)]
    assert statuses[-1] == 429


def test_a_pending_sign_in_expires_after_five_minutes(client, clock, monkeypatch):
    import time

    member = make_member()
    secret = give_totp(member.user)
    password_sign_in(client, member.user.email)
    later = time.time() + 301
    monkeypatch.setattr("app.blueprints.auth.sign_in_flow.time.time", lambda: later)
    response = submit_code(client, code(secret))
    assert response.status_code == 302 and response.location.endswith("/auth/signin")
    assert client.get("/home").status_code == 302
    assert factor(member.user_id).last_step is None


def test_without_a_pending_sign_in_the_code_page_sends_you_to_sign_in(client):
    response = client.get("/auth/mfa")
    assert response.status_code == 302 and response.location.endswith("/auth/signin")


# -- turning it off, new recovery codes ---------------------------------------------------------------

def test_turning_it_off_needs_a_fresh_code(owner_client, owner, clock):
    secret = give_totp(owner.user)
    token = csrf_token(owner_client, "/home")
    refused = owner_client.post("/settings/security/disable", data={"csrf_token": token, "disable-code": "999999"})
    assert refused.status_code == 422
    assert factor(owner.user_id) is not None
    done = owner_client.post("/settings/security/disable", data={"csrf_token": token, "disable-code": code(secret)})
    assert done.status_code == 302
    assert factor(owner.user_id) is None
    assert db.session.scalar(select(func.count()).select_from(RecoveryCode)) == 0
    assert "auth.mfa_disabled" in actions()


def test_new_recovery_codes_replace_the_old_ones(owner_client, owner, clock):
    secret = give_totp(owner.user)
    keys = mfa.MfaKeys(tuple(current_app.config["SETTINGS"].session_keys))
    clock.set(NOW - 30)
    old = mfa.renew_recovery_codes(owner.user, code(secret, NOW - 30), keys)
    db.session.commit()
    clock.set(NOW)
    token = csrf_token(owner_client, "/home")
    page = owner_client.post("/settings/security/recovery-codes", data={"csrf_token": token,
                                                                       "renew-code": code(secret)})
    assert page.status_code == 200
    new = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", page.get_data(as_text=True))
    assert len(new) == 10 and not set(new) & set(old)
    with pytest.raises(mfa.WrongCode):
        mfa.verify(owner.user, old[0], keys)
    assert mfa.verify(owner.user, new[0], keys) == "recovery"
    db.session.commit()


# -- an organization requiring MFA -------------------------------------------------------------------

def require_mfa(org) -> None:
    db.session.get(Organization, org.id).require_mfa = True
    db.session.commit()


def test_every_role_reads_telegram_chats_so_required_mfa_is_every_members():
    assert MATRIX[Permission.TELEGRAM_READ] == frozenset(Role)
    owner = make_member()
    agent = add_member(owner.organization, role=Role.AGENT)
    assert not mfa.mfa_required_for(agent)
    require_mfa(owner.organization)
    db.session.expire_all()
    assert mfa.mfa_required_for(agent) and mfa.mfa_required_for(owner)


def test_a_member_without_mfa_is_sent_to_enrolment_before_anything_else(client, clock):
    owner = make_member()
    agent = add_member(owner.organization, role=Role.AGENT)
    require_mfa(owner.organization)
    sign_in_as(client, agent)
    for path in ("/home", "/inbox/", "/settings/profile", "/auth/sessions"):
        response = client.get(path)
        assert response.status_code == 302 and response.location.endswith("/settings/security"), path
    htmx = client.get("/contacts/", headers={"HX-Request": "true"})
    assert htmx.headers["HX-Redirect"] == "/settings/security"
    page = client.get("/settings/security").get_data(as_text=True)
    assert "requires two-factor authentication" in page and 'id="sidebar"' not in page
    secret = secret_on_page(page)
    token = csrf_token(client, "/settings/security")
    assert client.post("/settings/security/totp", data={"csrf_token": token, "code": code(secret)}).status_code == 200
    assert client.get("/home").status_code == 200
    assert client.post("/auth/signout", data={"csrf_token": token}).status_code == 302


def test_an_owner_without_mfa_cannot_require_it(owner_client, owner):
    token = csrf_token(owner_client, "/settings/organization")
    form = {"csrf_token": token, "name": owner.organization.name, "timezone": "UTC", "require_mfa": "y"}
    refused = owner_client.post("/settings/organization", data=form)
    assert refused.status_code == 422
    assert "otherwise you would be locked out" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Organization, owner.org_id).require_mfa is False
    give_totp(owner.user)
    assert owner_client.post("/settings/organization", data=form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Organization, owner.org_id).require_mfa is True
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "org.updated"))
    assert event.detail["changes"] == {"require_mfa": [False, True]}
    assert owner_client.get("/home").status_code == 200  # the owner has it: nothing changes for them


# -- the API: mfa_required, a ticket, POST /api/auth/mfa ------------------------------------------------

def api_sign_in(client, email):
    client.environ_base["HTTP_USER_AGENT"] = "relay-cli/1.0"
    return client.post("/api/auth/signin", json={"email": email, "password": PASSWORD})


def test_the_api_answers_mfa_required_with_a_ticket_that_a_code_completes_once(client, clock):
    member = make_member()
    secret = give_totp(member.user)
    first = api_sign_in(client, member.user.email)
    assert first.status_code == 401
    error = first.get_json()["error"]
    assert error["code"] == "mfa_required" and error["expires_in"] == 300
    assert db.session.scalar(select(func.count()).select_from(RefreshToken)) == 0
    wrong = client.post("/api/auth/mfa", json={"ticket": error["ticket"], "code": "000001"})
    assert wrong.status_code == 401 and "code" in wrong.get_json()["error"]["fields"]
    done = client.post("/api/auth/mfa", json={"ticket": error["ticket"], "code": code(secret)})
    assert done.status_code == 200
    pair = done.get_json()
    verify = client.get("/api/auth/verify", headers={"Authorization": f"Bearer {pair['access_token']}"})
    assert verify.status_code == 200 and verify.get_json()["user"]["id"] == member.user_id
    assert db.session.scalar(select(RefreshToken.user_agent)) == "relay-cli/1.0"
    again = client.post("/api/auth/mfa", json={"ticket": error["ticket"], "code": code(secret, NOW + 30)})
    assert again.status_code == 401 and "ticket" in again.get_json()["error"]["message"]
    assert db.session.scalar(select(func.count()).select_from(RefreshToken)) == 1


def test_an_expired_or_forged_ticket_is_refused(client, clock):
    import jwt

    member = make_member()
    secret = give_totp(member.user)
    ticket = api_sign_in(client, member.user.email).get_json()["error"]["ticket"]
    claims = jwt.decode(ticket, options={"verify_signature": False})
    forged = jwt.encode({**claims, "sub": str(member.user_id)}, "another-secret-of-at-least-32-bytes!", algorithm="HS256")
    assert client.post("/api/auth/mfa", json={"ticket": forged, "code": code(secret)}).status_code == 401
    expired = jwt.encode({**claims, "exp": 1}, current_app.config["SETTINGS"].jwt_secret, algorithm="HS256")
    assert client.post("/api/auth/mfa", json={"ticket": expired, "code": code(secret)}).status_code == 401
    assert factor(member.user_id).last_step is None  # no code was spent on a refused ticket
    access = tokens.issue_pair(tokens.TokenSettings(secret=current_app.config["SETTINGS"].jwt_secret),
                               member).refresh_token
    db.session.commit()
    assert client.post("/api/auth/mfa", json={"ticket": access, "code": code(secret)}).status_code == 401


def test_an_api_sign_in_of_a_member_who_must_use_mfa_and_has_none_is_refused(client):
    member = make_member()
    tokens_before = api_sign_in(client, member.user.email).get_json()
    require_mfa(member.organization)
    refused = api_sign_in(client, member.user.email)
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "mfa_enrolment_required"
    refresh = client.post("/api/auth/refresh", json={"refresh_token": tokens_before["refresh_token"]})
    assert refresh.status_code == 401 and refresh.get_json()["error"]["code"] == "mfa_enrolment_required"
    assert all(db.session.scalars(select(RefreshToken.revoked_at)))


def test_the_document_states_the_mfa_route(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    mfa_route = paths["/api/auth/mfa"]["post"]
    assert set(mfa_route["responses"]) == {"200", "400", "401", "413", "422", "429"}
    assert "security" not in mfa_route
    ticket = paths["/api/auth/signin"]["post"]["responses"]["401"]["content"]["application/json"]["schema"]
    assert "ticket" in ticket["properties"]["error"]["properties"]
