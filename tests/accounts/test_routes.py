"""The accounts pages: the connect wizard against a telegram-process stand-in, settings, removal."""

import pytest
from sqlalchemy import select

from app.blueprints.accounts.live import account_status
from app.blueprints.accounts.models import BDAccount
from app.blueprints.team.permissions import Role
from app.extensions import db
from app.realtime import Connection
from tests.conftest import sign_in_as
from tests.control_peer import set_account
from tests.factories import add_member, give_account, make_account

HX = {"HX-Request": "true"}


@pytest.fixture
def token(owner_client, csrf):
    return csrf("/accounts/")


def post(client, url, token, **data):
    return client.post(url, data=data, headers={**HX, "X-CSRFToken": token})


def only_account() -> BDAccount:
    return db.session.scalar(select(BDAccount))


def signed_in(app, request):
    set_account(app, request.account_id, status="online", display_name="Ann Sales", sealed_session="sealed",
                telegram_user_id=4242)


def test_the_code_path_connects_an_account(app, owner_client, token, peer):
    peer.on("login.start", {"next": "code", "via": "app"})
    peer.on("login.code", lambda request: signed_in(app, request) or {"next": "done"})
    page = post(owner_client, "/accounts/connect", token, phone="+44 7700 900123")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Enter the login code" in html and "+447700900123" in html
    account = only_account()
    assert peer.requests[0].op == "login.start" and peer.requests[0].account_id == account.id
    done = post(owner_client, f"/accounts/{account.id}/connect/code", token, code="12 345")
    assert done.status_code == 200
    assert peer.requests[1].args == {"code": "12345"}
    html = done.get_data(as_text=True)
    assert "Ann Sales is connected" in html and "status-pill-online" in html


def test_the_password_path_shows_the_hint_and_a_wrong_password_keeps_the_form(app, owner_client, token, peer):
    peer.on("login.start", {"next": "code"})
    peer.on("login.code", {"next": "password", "hint": "my dog"})
    peer.on("login.password", refuse=("password_invalid", "That password is not right."))
    post(owner_client, "/accounts/connect", token, phone="+447700900123")
    account = only_account()
    step = post(owner_client, f"/accounts/{account.id}/connect/code", token, code="12345")
    assert "Two-step verification" in step.get_data(as_text=True) and "Hint: my dog" in step.get_data(as_text=True)
    wrong = post(owner_client, f"/accounts/{account.id}/connect/password", token, password="guess-1")
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert "That password is not right." in html and "guess-1" not in html
    peer.on("login.password", lambda request: signed_in(app, request) or {"next": "done"})
    done = post(owner_client, f"/accounts/{account.id}/connect/password", token, password="right")
    assert "is connected" in done.get_data(as_text=True)
    assert peer.requests[-1].args == {"password": "right"}


def test_a_wrong_code_is_shown_on_the_form_with_what_was_typed(owner_client, token, peer):
    peer.on("login.start", {"next": "code"})
    peer.on("login.code", refuse=("code_invalid", "The code is not right. Check it and try again."))
    post(owner_client, "/accounts/connect", token, phone="+447700900123")
    account = only_account()
    response = post(owner_client, f"/accounts/{account.id}/connect/code", token, code="11111")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The code is not right. Check it and try again." in html
    assert 'value="11111"' in html and 'aria-invalid="true"' in html


def test_an_expired_code_offers_a_new_one(owner_client, token, peer):
    peer.on("login.start", {"next": "code"})
    peer.on("login.code", refuse=("code_expired", "The code expired."))
    post(owner_client, "/accounts/connect", token, phone="+447700900123")
    account = only_account()
    html = post(owner_client, f"/accounts/{account.id}/connect/code", token, code="11111").get_data(as_text=True)
    assert "The code expired." in html and "Send a new code" in html
    again = post(owner_client, f"/accounts/{account.id}/connect", token)
    assert "Enter the login code" in again.get_data(as_text=True)
    assert peer.ops() == ["login.start", "login.code", "login.start"]


def test_a_refused_number_leaves_no_account_and_keeps_what_was_typed(owner_client, token, peer):
    peer.on("login.start", refuse=("phone_invalid", "Telegram does not know this number."))
    response = post(owner_client, "/accounts/connect", token, phone="+447700900999", proxy_host="p.example.com",
                    proxy_port="1080", proxy_password="hidden-pass")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Telegram does not know this number." in html and 'value="+447700900999"' in html
    assert 'value="p.example.com"' in html and "hidden-pass" not in html
    assert only_account() is None


def test_no_telegram_process_is_said_plainly(app, owner_client, token):
    app.config["TELEGRAM_CONTROL_TIMEOUT"] = 0.3
    try:
        response = post(owner_client, "/accounts/connect", token, phone="+447700900123")
    finally:
        app.config.pop("TELEGRAM_CONTROL_TIMEOUT")
    assert response.status_code == 422
    assert "not answering" in response.get_data(as_text=True)
    assert only_account() is None


def test_a_duplicate_number_is_a_field_error(owner, owner_client, token):
    make_account(owner.organization, phone="+447700900123")
    response = post(owner_client, "/accounts/connect", token, phone="+447700900123")
    assert response.status_code == 422
    assert "already connected" in response.get_data(as_text=True)


def test_the_qr_code_is_shown_renewed_and_then_the_wizard_moves_on(app, owner_client, token, peer):
    peer.on("login.qr", {"url": "tg://login?token=AAAA", "expires": 1_900_000_000})
    page = post(owner_client, "/accounts/connect/qr", token)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'src="data:image/svg+xml' in html and "Scan with Telegram" in html
    assert 'hx-trigger="every 4s"' in html
    account = only_account()
    assert account.phone.startswith("qr:")
    poll = owner_client.get(f"/accounts/{account.id}/connect/qr", headers=HX)
    assert poll.status_code == 200 and poll.get_data(as_text=True).lstrip().startswith('<div id="qr"')
    peer.on("login.qr", lambda request: signed_in(app, request) or {"next": "done"})
    scanned = owner_client.get(f"/accounts/{account.id}/connect/qr", headers=HX)
    assert scanned.headers["HX-Retarget"] == "#wizard"
    assert "is connected" in scanned.get_data(as_text=True)


def test_a_qr_scan_of_an_account_with_a_password_asks_for_it(owner_client, token, peer):
    peer.on("login.qr", {"url": "tg://login?token=AAAA", "expires": 1_900_000_000})
    post(owner_client, "/accounts/connect/qr", token)
    account = only_account()
    peer.on("login.qr", {"next": "password", "hint": "blue"})
    step = owner_client.get(f"/accounts/{account.id}/connect/qr", headers=HX)
    assert "Two-step verification" in step.get_data(as_text=True)


def test_a_reloaded_wizard_shows_the_step_it_was_on(owner_client, token, peer):
    peer.on("login.start", {"next": "code"})
    post(owner_client, "/accounts/connect", token, phone="+447700900123")
    account = only_account()
    assert "Enter the login code" in owner_client.get(f"/accounts/{account.id}/connect").get_data(as_text=True)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AGENT])
def test_only_owners_and_admins_reach_the_wizard_and_settings(app, client, owner, role):
    member = add_member(owner.organization, role=role)
    account = make_account(owner.organization)
    give_account(account, member)
    sign_in_as(client, member)
    assert client.get("/accounts/connect").status_code == 403
    assert client.get(f"/accounts/{account.id}").status_code == 200  # read-only
    token = client.get("/accounts/").get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    assert post(client, f"/accounts/{account.id}/config", token, messages_per_hour="5").status_code == 403
    assert post(client, f"/accounts/{account.id}/delete", token).status_code == 403


def test_agents_list_only_the_accounts_given_them(client, owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    mine, theirs = make_account(owner.organization, display_name="Mine"), make_account(
        owner.organization, display_name="Theirs")
    give_account(mine, agent)
    sign_in_as(client, agent)
    html = client.get("/accounts/").get_data(as_text=True)
    assert "Mine" in html and "Theirs" not in html
    assert client.get(f"/accounts/{theirs.id}").status_code == 404


def test_the_proxy_password_is_never_echoed(owner, owner_client, token):
    account = make_account(owner.organization)
    saved = post(owner_client, f"/accounts/{account.id}/proxy", token, proxy_scheme="socks5",
                 proxy_host="proxy.example.com", proxy_port="1080", proxy_username="bob",
                 proxy_password="pr0xy-secret")
    assert saved.status_code == 200 and "pr0xy-secret" not in saved.get_data(as_text=True)
    page = owner_client.get(f"/accounts/{account.id}").get_data(as_text=True)
    assert "proxy.example.com" in page and "pr0xy-secret" not in page and "Saved; type to change" in page
    bad = post(owner_client, f"/accounts/{account.id}/proxy", token, proxy_host="proxy.example.com",
               proxy_port="nope", proxy_password="pr0xy-secret")
    assert bad.status_code == 422 and "pr0xy-secret" not in bad.get_data(as_text=True)


def test_a_proxy_on_localhost_is_refused_on_the_settings_page_and_the_saved_one_stays(owner, owner_client,
                                                                                     token):
    account = make_account(owner.organization, proxy={"scheme": "socks5", "host": "proxy.example.com",
                                                      "port": 1080, "username": None})
    bad = post(owner_client, f"/accounts/{account.id}/proxy", token, proxy_host="localhost", proxy_port="6379")
    assert bad.status_code == 422
    assert "localhost is a local or internal host name" in bad.get_data(as_text=True)
    db.session.commit()  # whatever the refused request left in the session would be written now
    assert db.session.get(BDAccount, account.id).proxy["host"] == "proxy.example.com"


def test_settings_are_saved_or_their_errors_shown(owner, owner_client, token):
    account = make_account(owner.organization)
    bad = post(owner_client, f"/accounts/{account.id}/config", token, messages_per_hour="0", sync_dialogs="x")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "Must be between 1 and 5000." in html and "Must be a whole number." in html
    ok = post(owner_client, f"/accounts/{account.id}/config", token, messages_per_hour="50")
    assert ok.status_code == 200
    db.session.refresh(account)
    assert account.config == {"messages_per_hour": 50}


def test_agents_are_given_from_the_settings_page(owner, owner_client, token):
    account = make_account(owner.organization)
    agent = add_member(owner.organization, role=Role.AGENT)
    response = owner_client.post(f"/accounts/{account.id}/agents", data={"agents": [str(agent.user_id)]},
                                 headers={**HX, "X-CSRFToken": token})
    assert response.status_code == 200
    assert 'checked' in response.get_data(as_text=True)


def test_disconnect_and_remove_ask_the_process_then_act(owner, owner_client, token, peer):
    peer.on("account.disconnect", {})
    account = make_account(owner.organization, sealed_session="sealed")
    assert post(owner_client, f"/accounts/{account.id}/disconnect", token).status_code == 302
    db.session.refresh(account)
    assert account.status == "needs_login" and account.sealed_session is None
    assert post(owner_client, f"/accounts/{account.id}/delete", token).status_code == 302
    assert only_account() is None
    assert peer.ops() == ["account.disconnect"]  # a signed-out account has nothing left to sign out of


def test_live_statuses_reach_only_those_who_may_see_the_account(owner):
    agent = add_member(owner.organization, role=Role.AGENT)
    account = make_account(owner.organization, status="limited", status_detail="PeerFlood")
    event = {"account_id": account.id, "org_id": owner.org_id}
    as_owner = Connection(ws=None, user_id=owner.user_id, org_id=owner.org_id, role="owner", socket_id="a")
    as_agent = Connection(ws=None, user_id=agent.user_id, org_id=owner.org_id, role="agent", socket_id="b")
    html = account_status(event, as_owner)
    assert f'id="account-status-{account.id}"' in html and 'hx-swap-oob="true"' in html and "PeerFlood" in html
    assert f'<span hx-swap-oob="true" id="chat-account-pill-{account.id}">' in html  # an open chat's header
    assert account_status(event, as_agent) is None
    give_account(account, agent)
    assert account_status(event, as_agent) is not None


def test_renaming_an_account_changes_its_name_everywhere_and_the_title_follows(owner, owner_client, token):
    account = make_account(owner.organization, display_name="Ann Telegram")
    saved = post(owner_client, f"/accounts/{account.id}/label", token, label="  Sales NL  ")
    assert saved.status_code == 200 and "Name saved." in saved.headers["HX-Trigger"]
    html = saved.get_data(as_text=True)
    assert 'id="account-title" hx-swap-oob="true">Sales NL<' in html
    db.session.refresh(account)
    assert account.label == "Sales NL" and account.display_name == "Ann Telegram"
    assert "Sales NL" in owner_client.get("/accounts/").get_data(as_text=True)
    assert "<title>Sales NL" in owner_client.get(f"/accounts/{account.id}").get_data(as_text=True)
    post(owner_client, f"/accounts/{account.id}/label", token, label="   ")  # blank: Telegram's name again
    db.session.refresh(account)
    assert account.label is None
    assert "Ann Telegram" in owner_client.get("/accounts/").get_data(as_text=True)


def test_a_too_long_name_is_shown_on_the_form_and_nothing_changes(owner, owner_client, token):
    account = make_account(owner.organization, label="Sales NL")
    refused = post(owner_client, f"/accounts/{account.id}/label", token, label="x" * 101)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "Use at most 100 characters." in html and 'aria-invalid="true"' in html and "x" * 101 in html
    whole = owner_client.post(f"/accounts/{account.id}/label", data={"label": "y" * 101},
                              headers={"X-CSRFToken": token})  # without JavaScript: the whole page
    assert whole.status_code == 422 and "<html" in whole.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(BDAccount, account.id).label == "Sales NL"


def test_renaming_needs_the_csrf_token_and_the_right_to_manage_and_stays_in_the_organization(app, client,
                                                                                          owner):
    from tests.factories import make_member

    account = make_account(owner.organization, label="Sales NL")
    foreign = make_account(make_member(Role.OWNER).organization, label="Theirs")
    sign_in_as(client, owner)
    assert client.post(f"/accounts/{account.id}/label", data={"label": "No token"}).status_code == 400
    token = client.get("/accounts/").get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    assert post(client, f"/accounts/{foreign.id}/label", token, label="Mine now").status_code == 404
    agent = add_member(owner.organization, role=Role.AGENT)
    give_account(account, agent)
    with app.test_client() as as_agent:
        sign_in_as(as_agent, agent)
        page = as_agent.get(f"/accounts/{account.id}").get_data(as_text=True)
        assert 'name="label"' not in page  # an agent sees the name, not the form
        agent_token = page.split('name="csrf-token" content="')[1].split('"')[0]
        assert post(as_agent, f"/accounts/{account.id}/label", agent_token, label="Agent's").status_code == 403
    db.session.expire_all()
    assert db.session.get(BDAccount, account.id).label == "Sales NL"
    assert db.session.get(BDAccount, foreign.id).label == "Theirs"


def test_the_inbox_names_accounts_by_their_label(owner, owner_client):
    from tests.factories import make_chat

    account = make_account(owner.organization, display_name="Ann Telegram", label="Sales NL")
    make_chat(account, title="Bob")
    make_account(owner.organization, display_name="Other Telegram")
    html = owner_client.get("/inbox/").get_data(as_text=True)
    assert f'<option value="{account.id}">Sales NL</option>' in html
    assert "Ann Telegram" not in html
