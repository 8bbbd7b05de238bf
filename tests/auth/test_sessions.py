"""Browser sessions end on the server: signing out makes captured cookies worthless."""

from datetime import timedelta

from sqlalchemy import func, select

from app.audit import AuditEvent
from app.blueprints.auth import browser_sessions
from app.blueprints.auth.models import RefreshToken, User, UserSession
from app.db_types import utcnow
from app.extensions import db
from tests.conftest import bearer, csrf_token, sign_in_as
from tests.factories import PASSWORD, make_member


def sign_in(client, email, remember=False):
    data = {"csrf_token": csrf_token(client), "email": email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/auth/signin", data=data)
    assert response.status_code == 302
    return {c.key: c.value for c in client._cookies.values()}


def client_with(app, cookies):
    """A fresh browser holding copies of ``cookies`` (what an attacker who captured them has)."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def sign_out(client):
    return client.post("/auth/signout", data={"csrf_token": csrf_token(client, "/home")})


def test_a_captured_session_cookie_stops_working_at_sign_out(app, client):
    member = make_member()
    captured = sign_in(client, member.user.email)
    assert client_with(app, captured).get("/home").status_code == 200
    assert sign_out(client).status_code == 302
    assert client_with(app, {"session": captured["session"]}).get("/home").status_code == 302
    row = db.session.scalar(select(UserSession))
    assert row.ended_at is not None


def test_a_captured_remember_me_cookie_stops_working_at_sign_out(app, client):
    member = make_member()
    captured = sign_in(client, member.user.email, remember=True)
    assert "remember_token" in captured
    remembered = client_with(app, {"remember_token": captured["remember_token"]})
    assert remembered.get("/home").status_code == 200  # the cookie alone signs in, before sign-out
    response = sign_out(client)
    expired = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("remember_token=")]
    assert expired and "Expires=Thu, 01 Jan 1970" in expired[0]  # the browser drops it too
    again = client_with(app, {"remember_token": captured["remember_token"]})
    assert again.get("/home").status_code == 302


def test_signing_out_one_browser_leaves_the_others_signed_in(app, client):
    member = make_member()
    sign_in(client, member.user.email)
    laptop = app.test_client()
    sign_in(laptop, member.user.email)
    sign_out(client)
    assert laptop.get("/home").status_code == 200
    assert client.get("/home").status_code == 302
    ended = db.session.execute(select(UserSession.id, UserSession.ended_at).order_by(UserSession.id)).all()
    assert [e is not None for _, e in ended] == [True, False]  # the first browser's row only


def test_sign_out_everywhere_ends_every_browser_and_api_sign_in(app, client):
    member = make_member()
    captured = sign_in(client, member.user.email, remember=True)
    laptop = app.test_client()
    sign_in(laptop, member.user.email)
    api = client.post("/api/auth/signin", json={"email": member.user.email, "password": PASSWORD}).get_json()
    response = client.post("/auth/signout-everywhere", data={"csrf_token": csrf_token(client, "/home")})
    assert response.status_code == 302 and "signed_out=everywhere" in response.location
    assert laptop.get("/home").status_code == 302
    assert client_with(app, captured).get("/home").status_code == 302
    verify = client.get("/api/auth/verify", headers={"Authorization": f"Bearer {api['access_token']}"})
    assert verify.status_code == 401
    refresh = client.post("/api/auth/refresh", json={"refresh_token": api["refresh_token"]})
    assert refresh.status_code == 401 and "has ended" in refresh.get_json()["error"]["message"]
    db.session.expire_all()
    assert db.session.scalars(select(UserSession.ended_at)).all() and all(
        db.session.scalars(select(UserSession.ended_at)))
    assert all(db.session.scalars(select(RefreshToken.revoked_at)))
    audited = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.signed_out_everywhere"))
    assert (audited.target_type, audited.target_id) == ("user", member.user_id)
    assert client.get("/auth/signin?signed_out=everywhere").get_data(as_text=True).count("every device") == 1


def test_the_sessions_page_lists_this_browser_and_the_others(app, client):
    member = make_member()
    sign_in(client, member.user.email)
    phone = app.test_client()
    phone.environ_base["HTTP_USER_AGENT"] = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) "
                                             "AppleWebKit/605.1.15 Version/17.0 Mobile/15E148 Safari/604.1")
    sign_in(phone, member.user.email)
    page = client.get("/auth/sessions").get_data(as_text=True)
    assert page.count('id="session-') == 2
    assert "Safari on iOS" in page and page.count("This browser") == 1


def test_ending_another_session_from_the_list_signs_that_browser_out(app, client):
    member = make_member()
    sign_in(client, member.user.email)
    phone = app.test_client()
    sign_in(phone, member.user.email)
    mine = db.session.scalar(select(UserSession).order_by(UserSession.id))
    theirs = db.session.scalar(select(UserSession).order_by(UserSession.id.desc()))
    response = client.post(f"/auth/sessions/{theirs.id}/end", data={"csrf_token": csrf_token(client, "/home")})
    assert response.status_code == 302
    assert phone.get("/home").status_code == 302
    assert client.get("/home").status_code == 200
    db.session.expire_all()
    assert theirs.ended_at is not None and mine.ended_at is None


def test_nobody_can_end_someone_elses_session(app, client):
    member, stranger = make_member(), make_member()
    sign_in(client, member.user.email)
    victim = app.test_client()
    sign_in(victim, stranger.user.email)
    theirs = db.session.scalar(select(UserSession).where(UserSession.user_id == stranger.user_id))
    response = client.post(f"/auth/sessions/{theirs.id}/end", data={"csrf_token": csrf_token(client, "/home")})
    assert response.status_code == 404
    db.session.expire_all()
    assert theirs.ended_at is None
    assert victim.get("/home").status_code == 200


def test_a_session_older_than_its_lifetime_no_longer_signs_in(client):
    member = make_member()
    sign_in_as(client, member)
    assert client.get("/home").status_code == 200
    row = db.session.scalar(select(UserSession))
    row.created_at = utcnow() - browser_sessions.MAX_AGE - timedelta(minutes=1)
    db.session.commit()
    assert client.get("/home").status_code == 302


def test_a_cookie_of_the_old_format_or_a_forged_key_does_not_sign_in(client):
    member = make_member()
    for token in (f"{member.user_id}:0", f"{member.user_id}:0:forged-key", "x:y:z", f"{member.user_id}::k"):
        with client.session_transaction() as session:
            session["_user_id"] = token
        assert client.get("/home").status_code == 302, token


def test_the_sessions_page_shows_when_each_browser_was_last_used(app, client, monkeypatch):
    member = make_member()
    sign_in(client, member.user.email)
    laptop = app.test_client()
    sign_in(laptop, member.user.email)
    week_ago = utcnow() - timedelta(days=7)
    monkeypatch.setattr(browser_sessions, "utcnow", lambda: week_ago)
    laptop.get("/home")  # used a week ago (by the clock of that request)
    monkeypatch.undo()
    listed = browser_sessions.open_sessions(db.session.get(User, member.user_id))
    assert [round((utcnow() - s.last_seen).total_seconds() / 86400) for s in listed] == [0, 7]
    assert db.session.scalar(select(func.count()).select_from(UserSession)) == 2


def test_an_access_token_from_before_sign_out_everywhere_is_refused(client):
    member = make_member()
    headers = bearer(member)
    assert client.get("/api/auth/verify", headers=headers).status_code == 200
    browser_sessions.end_every_session(db.session.get(User, member.user_id))
    db.session.commit()
    response = client.get("/api/auth/verify", headers=headers)
    assert response.status_code == 401
    assert "signed out everywhere" in response.get_json()["error"]["message"]


def test_the_purge_forgets_sessions_ended_long_ago_and_keeps_open_ones(client):
    member = make_member()
    sign_in_as(client, member)
    sign_in_as(app_client := client.application.test_client(), member)
    rows = db.session.scalars(select(UserSession).order_by(UserSession.id)).all()
    rows[0].ended_at = utcnow() - browser_sessions.MAX_AGE - timedelta(days=1)
    db.session.commit()
    assert browser_sessions.purge_ended() == 1
    db.session.commit()
    assert db.session.scalars(select(UserSession.id)).all() == [rows[1].id]
    assert app_client.get("/home").status_code == 200


# -- API sign-ins on the sessions page; signing out all other sessions --------------------------------

def api_sign_in(app, email, agent="relay-cli/2.1 (linux)"):
    api = app.test_client()
    api.environ_base["HTTP_USER_AGENT"] = agent
    api.environ_base["REMOTE_ADDR"] = "203.0.113.7"
    return api.post("/api/auth/signin", json={"email": email, "password": PASSWORD}).get_json()


def test_the_sessions_page_lists_api_sign_ins_with_their_device_and_last_use(app, client, monkeypatch):
    from app.blueprints.auth import tokens

    member = make_member()
    sign_in(client, member.user.email)
    pair = api_sign_in(app, member.user.email)
    week_ago = utcnow() - timedelta(days=7)
    first = db.session.scalar(select(RefreshToken))
    first.issued_at = week_ago
    db.session.commit()
    client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})  # used now
    listed = tokens.open_sign_ins(db.session.get(User, member.user_id))
    assert len(listed) == 1
    assert (listed[0].device, listed[0].ip) == ("relay-cli/2.1", "203.0.113.7")
    assert listed[0].signed_in_at == week_ago and (utcnow() - listed[0].last_used).total_seconds() < 60
    page = client.get("/auth/sessions").get_data(as_text=True)
    assert 'id="api-sign-in-1"' in page and "relay-cli/2.1" in page and "203.0.113.7" in page


def test_ending_one_api_sign_in_stops_its_tokens_at_once_and_no_other(app, client):
    member = make_member()
    sign_in(client, member.user.email)
    ended, kept = api_sign_in(app, member.user.email), api_sign_in(app, member.user.email)
    family = db.session.scalar(select(RefreshToken.family).order_by(RefreshToken.id))
    response = client.post("/auth/sessions/api/end", data={"csrf_token": csrf_token(client, "/home"),
                                                           "family": family})
    assert response.status_code == 302
    for pair, status in ((ended, 401), (kept, 200)):
        verify = client.get("/api/auth/verify", headers={"Authorization": f"Bearer {pair['access_token']}"})
        assert verify.status_code == status
    assert client.post("/api/auth/refresh", json={"refresh_token": ended["refresh_token"]}).status_code == 401
    audited = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.api_sign_in_ended"))
    assert audited.detail == {"family": family}


def test_nobody_can_end_someone_elses_api_sign_in(app, client):
    member, stranger = make_member(), make_member()
    sign_in(client, member.user.email)
    theirs = api_sign_in(app, stranger.user.email)
    family = db.session.scalar(select(RefreshToken.family).where(RefreshToken.user_id == stranger.user_id))
    response = client.post("/auth/sessions/api/end", data={"csrf_token": csrf_token(client, "/home"),
                                                           "family": family})
    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.scalar(select(RefreshToken.revoked_at).where(RefreshToken.family == family)) is None
    verify = client.get("/api/auth/verify", headers={"Authorization": f"Bearer {theirs['access_token']}"})
    assert verify.status_code == 200


def test_signing_out_all_other_sessions_keeps_this_browser_only(app, client):
    member = make_member()
    sign_in(client, member.user.email)
    laptop = app.test_client()
    sign_in(laptop, member.user.email)
    api = api_sign_in(app, member.user.email)
    page = client.get("/auth/sessions").get_data(as_text=True)
    assert 'id="sign-out-others"' in page
    response = client.post("/auth/sessions/end-others", data={"csrf_token": csrf_token(client, "/home")})
    assert response.status_code == 302 and response.location.endswith("/auth/sessions")
    assert client.get("/home").status_code == 200
    assert laptop.get("/home").status_code == 302
    verify = client.get("/api/auth/verify", headers={"Authorization": f"Bearer {api['access_token']}"})
    assert verify.status_code == 401
    db.session.expire_all()
    assert [e is None for e in db.session.scalars(select(UserSession.ended_at).order_by(UserSession.id))] == [
        True, False]
    assert all(db.session.scalars(select(RefreshToken.revoked_at)))
    audited = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "auth.signed_out_others"))
    assert audited.detail == {"sessions": 1}
