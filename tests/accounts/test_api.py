"""/api/bd-accounts: connect in three calls, status, settings, removal, sight per role; bodies outside
the document refused on their field with nothing changed, and no telegram process a quick 503."""

from dataclasses import replace

import pytest
from sqlalchemy import func, select

from app.blueprints.accounts.models import BDAccount
from app.blueprints.team.permissions import Role
from app.extensions import db
from tests.conftest import bearer
from tests.control_peer import set_account
from tests.factories import add_member, give_account, make_account


@pytest.fixture
def auth(owner):
    return bearer(owner)


def test_connecting_takes_a_phone_a_code_and_a_password(app, client, auth, peer):
    peer.on("login.start", {"next": "code"})
    peer.on("login.code", {"next": "password", "hint": "pet"})
    peer.on("login.password", lambda r: set_account(app, r.account_id, status="online",
                                                    display_name="API Sales") or {"next": "done"})
    started = client.post("/api/bd-accounts/connect", json={"phone": "+44 7700 900123"}, headers=auth)
    assert started.status_code == 201
    body = started.get_json()
    assert body["next"] == "code" and body["account"]["phone"] == "+447700900123"
    assert body["account"]["status"] == "connecting"
    account_id = body["account"]["id"]
    assert started.headers["Location"] == f"/api/bd-accounts/{account_id}/status"
    assert client.get(started.headers["Location"], headers=auth).get_json()["status"] == "connecting"
    step = client.post(f"/api/bd-accounts/{account_id}/connect/code", json={"code": "12345"}, headers=auth)
    assert step.get_json()["next"] == "password" and step.get_json()["hint"] == "pet"
    done = client.post(f"/api/bd-accounts/{account_id}/connect/password", json={"password": "pw"}, headers=auth)
    assert done.status_code == 200
    assert done.get_json()["next"] == "done" and done.get_json()["account"]["status"] == "online"
    status = client.get(f"/api/bd-accounts/{account_id}/status", headers=auth).get_json()
    assert status["status"] == "online"


def test_telegram_refusals_keep_their_codes(client, auth, owner, peer):
    peer.on("login.code", refuse=("code_invalid", "The code is not right."))
    account = make_account(owner.organization, status="connecting")
    for code in ("1-2", "12a45"):  # two digits, a letter: refused before asking Telegram
        wrong = client.post(f"/api/bd-accounts/{account.id}/connect/code", json={"code": code}, headers=auth)
        assert wrong.status_code == 422
        assert wrong.get_json()["error"]["code"] == "invalid"
    assert peer.ops() == []
    wrong = client.post(f"/api/bd-accounts/{account.id}/connect/code", json={"code": "11111"}, headers=auth)
    assert wrong.status_code == 422
    assert wrong.get_json()["error"] == {"code": "code_invalid", "message": "The code is not right.",
                                         "fields": {"code": "The code is not right."}}
    peer.on("login.start", refuse=("flood_wait", "Telegram asks to wait 300 seconds."))
    flood = client.post("/api/bd-accounts/connect", json={"phone": "+447700900555"}, headers=auth)
    assert flood.status_code == 429 and flood.get_json()["error"]["code"] == "flood_wait"
    assert db.session.query(BDAccount).filter_by(phone="+447700900555").count() == 0


def test_bodies_are_strict(client, auth):
    response = client.post("/api/bd-accounts/connect", json={"phone": "+447700900123", "api_hash": "x"},
                           headers=auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"api_hash": "Unknown field."}


def test_settings_proxy_and_agents_in_one_put_and_the_proxy_password_is_write_only(client, auth, owner):
    account = make_account(owner.organization)
    agent = add_member(owner.organization, role=Role.AGENT)
    response = client.put(f"/api/bd-accounts/{account.id}/config", headers=auth, json={
        "new_chats_per_day": 12, "proxy": {"host": "p.example.com", "port": 1080, "password": "pw-123"},
        "agent_ids": [agent.user_id]})
    assert response.status_code == 200
    body = response.get_json()
    assert body["config"]["new_chats_per_day"] == 12 and body["agent_ids"] == [agent.user_id]
    assert body["proxy"] == {"scheme": "socks5", "host": "p.example.com", "port": 1080, "username": None,
                             "has_password": True}
    assert "pw-123" not in response.get_data(as_text=True)
    assert "pw-123" not in client.get("/api/bd-accounts", headers=auth).get_data(as_text=True)
    bad = client.put(f"/api/bd-accounts/{account.id}/config", headers=auth, json={"messages_per_hour": -1})
    assert bad.status_code == 422 and "messages_per_hour" in bad.get_json()["error"]["fields"]


def test_agents_see_their_accounts_and_cannot_manage_them(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    mine, other = make_account(owner.organization), make_account(owner.organization)
    give_account(mine, agent)
    auth = bearer(agent)
    assert [a["id"] for a in client.get("/api/bd-accounts", headers=auth).get_json()["items"]] == [mine.id]
    assert client.get(f"/api/bd-accounts/{other.id}/status", headers=auth).status_code == 404
    assert client.delete(f"/api/bd-accounts/{mine.id}", headers=auth).status_code == 403
    assert client.post("/api/bd-accounts/connect", json={"phone": "+447700900123"}, headers=auth).status_code == 403


def test_delete_removes_the_account(client, auth, owner, peer):
    peer.on("account.disconnect", {})
    account = make_account(owner.organization, sealed_session="sealed")
    assert client.delete(f"/api/bd-accounts/{account.id}", headers=auth).get_json() == {"deleted": True}
    assert db.session.get(BDAccount, account.id) is None
    assert peer.ops() == ["account.disconnect"]


def test_the_routes_are_in_the_openapi_document(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    for path in ("/api/bd-accounts", "/api/bd-accounts/connect", "/api/bd-accounts/{account_id}/connect/code",
                 "/api/bd-accounts/{account_id}/connect/password", "/api/bd-accounts/{account_id}/status",
                 "/api/bd-accounts/{account_id}/config", "/api/bd-accounts/{account_id}"):
        assert path in paths, path


@pytest.mark.parametrize("phone", [[None], 447700900123, {"n": 1}])
def test_connecting_with_a_phone_that_is_not_text_is_a_422_on_phone_and_adds_nothing(client, auth, phone):
    response = client.post("/api/bd-accounts/connect", json={"phone": phone}, headers=auth)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"phone"}
    assert db.session.scalar(select(func.count()).select_from(BDAccount)) == 0


def test_a_password_that_is_not_text_is_a_422_on_password(client, auth, owner):
    account = make_account(owner.organization, status="connecting")
    response = client.post(f"/api/bd-accounts/{account.id}/connect/password", json={"password": [1]},
                           headers=auth)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"password": "Must be text."}


def test_connecting_through_a_loopback_proxy_is_refused_and_adds_nothing(client, auth):
    response = client.post("/api/bd-accounts/connect", headers=auth, json={
        "phone": "+447700900123", "proxy": {"host": "0x7f.0.0.1", "port": 6379}})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"proxy_host"}
    db.session.commit()  # whatever the refused request left in the session would be written now
    assert db.session.scalar(select(func.count()).select_from(BDAccount)) == 0


def test_a_private_proxy_is_refused_on_put_and_the_saved_one_stays(client, auth, owner):
    account = make_account(owner.organization, proxy={"scheme": "socks5", "host": "p.example.com",
                                                      "port": 1080, "username": None})
    response = client.put(f"/api/bd-accounts/{account.id}/config", headers=auth,
                          json={"proxy": {"host": "169.254.169.254", "port": 80}, "new_chats_per_day": 5})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"proxy_host"}
    db.session.commit()  # whatever the refused request left in the session would be written now
    row = db.session.get(BDAccount, account.id)
    assert row.proxy["host"] == "p.example.com" and row.config is None


def test_the_operator_setting_allows_a_private_proxy(app, settings, client, auth, owner, monkeypatch):
    monkeypatch.setitem(app.config, "SETTINGS", replace(settings, telegram_allow_private_proxies=True))
    account = make_account(owner.organization)
    response = client.put(f"/api/bd-accounts/{account.id}/config", headers=auth,
                          json={"proxy": {"host": "10.0.0.5", "port": 3128, "scheme": "http"}})
    assert response.status_code == 200 and response.get_json()["proxy"]["host"] == "10.0.0.5"


def test_the_setting_is_read_from_the_environment(monkeypatch):
    from app.config import Settings

    monkeypatch.delenv("TELEGRAM_ALLOW_PRIVATE_PROXIES", raising=False)
    assert Settings.from_env().telegram_allow_private_proxies is False
    monkeypatch.setenv("TELEGRAM_ALLOW_PRIVATE_PROXIES", "true")
    assert Settings.from_env().telegram_allow_private_proxies is True


@pytest.mark.parametrize("code", ["12", 12345, "1" * 33, None])
def test_a_code_outside_the_document_names_code_and_telegram_is_not_asked(client, auth, owner, peer, code):
    account = make_account(owner.organization, status="connecting")
    response = client.post(f"/api/bd-accounts/{account.id}/connect/code", json={"code": code}, headers=auth)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request" and set(error["fields"]) == {"code"}
    assert peer.ops() == []


@pytest.mark.parametrize(("body", "field"), [
    ({"phone": "call me maybe"}, "phone"),
    ({"phone": ""}, "phone"),
    ({"phone": "+447700900123", "proxy": {"host": "p.example.com", "port": 70000}}, "proxy.port"),
    ({"phone": "+447700900123", "proxy": {"host": "p.example.com", "port": 1080, "scheme": "ftp"}},
     "proxy.scheme"),
    ({"phone": "+447700900123", "proxy": {"host": "p example com", "port": 1080}}, "proxy.host"),
    ({"phone": "+447700900123", "proxy": {"port": 1080}}, "proxy.host"),
    ({"phone": "+447700900123", "proxy": "socks5://p.example.com"}, "proxy"),
])
def test_a_connect_outside_the_document_names_its_field_and_adds_nothing(client, auth, peer, body, field):
    response = client.post("/api/bd-accounts/connect", json=body, headers=auth)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request" and set(error["fields"]) == {field}
    assert db.session.scalar(select(func.count()).select_from(BDAccount)) == 0
    assert peer.ops() == []


def test_no_telegram_process_is_a_503_and_the_number_is_not_kept(app, client, auth):
    app.config["TELEGRAM_CONTROL_TIMEOUT"] = 0.3
    try:
        response = client.post("/api/bd-accounts/connect", json={"phone": "+447700900123"}, headers=auth)
    finally:
        app.config.pop("TELEGRAM_CONTROL_TIMEOUT")
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "telegram_unavailable"
    assert db.session.scalar(select(func.count()).select_from(BDAccount)) == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"messages_per_hour": 0}, "messages_per_hour"),
    ({"sync_dialogs": 2001}, "sync_dialogs"),
    ({"new_chats_per_day": "12"}, "new_chats_per_day"),
    ({"agent_ids": ["x"]}, "agent_ids[0]"),
    ({"agent_ids": [0]}, "agent_ids[0]"),
    ({"proxy": {"host": "p.example.com", "port": "1080"}}, "proxy.port"),
    ({"daily_budget": 5}, "daily_budget"),
])
def test_settings_outside_the_document_name_their_field_and_change_nothing(client, auth, owner, body, field):
    account = make_account(owner.organization)
    response = client.put(f"/api/bd-accounts/{account.id}/config", headers=auth,
                          json={"new_chats_per_day": 12, **body})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid_request" and set(error["fields"]) == {field}
    db.session.expire_all()
    row = db.session.get(BDAccount, account.id)
    assert (row.config, row.proxy) == (None, None)


def test_a_minimum_gap_above_the_maximum_is_refused_by_the_account(client, auth, owner):
    account = make_account(owner.organization)
    response = client.put(f"/api/bd-accounts/{account.id}/config", headers=auth,
                          json={"new_chat_gap_min_seconds": 100, "new_chat_gap_max_seconds": 50})
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "invalid"
    assert set(response.get_json()["error"]["fields"]) == {"new_chat_gap_min_seconds"}
    db.session.expire_all()
    assert db.session.get(BDAccount, account.id).config is None


def test_the_document_states_the_budgets_bounds_and_the_created_accounts_location(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    config = paths["/api/bd-accounts/{account_id}/config"]["put"]["requestBody"]["content"]
    schema = config["application/json"]["schema"]
    assert schema["properties"]["messages_per_hour"] == {"type": "integer", "minimum": 1, "maximum": 5000}
    assert schema["properties"]["agent_ids"]["items"]["minimum"] == 1
    proxy = schema["properties"]["proxy"]["oneOf"][0]
    assert proxy["required"] == ["host", "port"] and proxy["additionalProperties"] is False
    connect = paths["/api/bd-accounts/connect"]["post"]["responses"]
    assert connect["201"]["headers"]["Location"]["required"] is True
    assert {"403", "422", "429", "503"} <= set(connect)


def test_an_account_is_renamed_by_patch_and_the_api_shows_its_label(client, auth, owner):
    account = make_account(owner.organization, display_name="Ann Telegram")
    renamed = client.patch(f"/api/bd-accounts/{account.id}", json={"label": " Sales NL "}, headers=auth)
    assert renamed.status_code == 200
    body = renamed.get_json()
    assert (body["label"], body["name"]) == ("Sales NL", "Sales NL")
    listed = client.get("/api/bd-accounts", headers=auth).get_json()["items"]
    assert [(a["label"], a["name"]) for a in listed] == [("Sales NL", "Sales NL")]
    cleared = client.patch(f"/api/bd-accounts/{account.id}", json={"label": None}, headers=auth).get_json()
    assert (cleared["label"], cleared["name"]) == (None, "Ann Telegram")


@pytest.mark.parametrize("label", ["x" * 101, 5, ["Sales"]])
def test_a_name_outside_the_contract_is_refused_on_its_field_and_nothing_changes(client, auth, owner, label):
    account = make_account(owner.organization, label="Sales NL")
    refused = client.patch(f"/api/bd-accounts/{account.id}", json={"label": label}, headers=auth)
    assert refused.status_code == 422
    assert "label" in refused.get_json()["error"]["fields"]
    db.session.expire_all()
    assert db.session.get(BDAccount, account.id).label == "Sales NL"


def test_only_managers_of_accounts_rename_them_and_only_their_organizations(client, owner):
    from tests.factories import make_member

    account = make_account(owner.organization, label="Sales NL")
    agent = add_member(owner.organization, role=Role.AGENT)
    give_account(account, agent)
    assert client.patch(f"/api/bd-accounts/{account.id}", json={"label": "Mine"},
                        headers=bearer(agent)).status_code == 403
    stranger = make_member(Role.OWNER)
    assert client.patch(f"/api/bd-accounts/{account.id}", json={"label": "Mine"},
                        headers=bearer(stranger)).status_code == 404
    db.session.expire_all()
    assert db.session.get(BDAccount, account.id).label == "Sales NL"
