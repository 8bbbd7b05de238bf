"""Telegram Login: the widget's data signed with a test bot's token (HMAC-SHA256 keyed with
SHA-256 of the token, over the sorted data-check-string), its freshness, and the accounts it
signs in: only one that linked its Telegram identity while signed in."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import re
import time

import pytest
from sqlalchemy import func, select

from app import create_app
from app.blueprints.auth import telegram_login
from app.blueprints.auth.models import OAuthIdentity
from app.errors import Unauthorized
from app.extensions import db
from tests.conftest import sign_in_as
from tests.factories import give_totp, make_member

BOT_TOKEN = "123456789:AAE-test-bot-token-not-real"
BOT_NAME = "relay_test_bot"


def signed(bot_token: str = BOT_TOKEN, **fields) -> dict[str, str]:
    """Fields as Telegram's widget sends them, with the hash Telegram would compute."""
    data = {"id": "777000", "first_name": "Anna", "last_name": "Lee", "username": "anna_lee",
            "photo_url": "https://t.me/i/userpic/320/anna.jpg", "auth_date": str(int(time.time())), **fields}
    check = "\n".join(f"{k}={data[k]}" for k in sorted(data))
    secret = hashlib.sha256(bot_token.encode()).digest()
    return {**data, "hash": hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()}


@pytest.fixture
def telegram(app, settings):
    app.config["SETTINGS"] = dataclasses.replace(settings, telegram_login_bot_token=BOT_TOKEN,
                                                 telegram_login_bot_name=BOT_NAME)
    yield
    app.config["SETTINGS"] = settings


def widget_state(client) -> str:
    """Open the widget page (as the browser does before Telegram's redirect); its state."""
    page = client.get("/auth/telegram").get_data(as_text=True)
    assert f'data-telegram-login="{BOT_NAME}"' in page
    assert 'src="https://telegram.org/js/telegram-widget.js?22"' in page
    return re.search(r'data-auth-url="[^"]*state=([^"&]+)"', page).group(1)


# -- the check, as Telegram documents it ----------------------------------------------------------------

def test_data_signed_for_our_bot_is_accepted():
    identity = telegram_login.verify(signed(), BOT_TOKEN)
    assert (identity.provider, identity.subject, identity.display, identity.name) == (
        "telegram", "777000", "@anna_lee", "Anna Lee")


@pytest.mark.parametrize("tamper", [
    lambda d: {**d, "id": "777001"},  # another person's id under the same hash
    lambda d: {**d, "hash": "0" * 64},
    lambda d: {k: v for k, v in d.items() if k != "hash"},
    lambda d: signed(bot_token="987654321:another-bot"),  # signed for another bot
])
def test_data_not_signed_for_our_bot_is_refused(tamper):
    with pytest.raises(Unauthorized):
        telegram_login.verify(tamper(signed()), BOT_TOKEN)


def test_data_older_than_a_day_is_refused():
    old = signed(auth_date=str(int(time.time()) - 24 * 3600 - 5))
    with pytest.raises(Unauthorized) as refused:
        telegram_login.verify(old, BOT_TOKEN)
    assert "too old" in refused.value.message
    day_old = signed(auth_date=str(int(time.time()) - 24 * 3600 + 60))
    assert telegram_login.verify(day_old, BOT_TOKEN).subject == "777000"


def test_a_signed_answer_is_accepted_once():
    data = signed()
    telegram_login.verify(data, BOT_TOKEN)
    with pytest.raises(Unauthorized):
        telegram_login.verify(data, BOT_TOKEN)


# -- the pages ---------------------------------------------------------------------------------------

def test_unconfigured_telegram_login_is_not_offered(client):
    assert "Continue with Telegram" not in client.get("/auth/signin").get_data(as_text=True)
    response = client.get("/auth/telegram")
    assert response.status_code == 302 and response.location.endswith("/auth/signin")


def test_a_linked_telegram_identity_signs_its_user_in(client, telegram):
    member = make_member()
    db.session.add(OAuthIdentity(user_id=member.user_id, provider="telegram", subject="777000"))
    db.session.commit()
    assert "Continue with Telegram" in client.get("/auth/signin").get_data(as_text=True)
    state = widget_state(client)
    response = client.get("/auth/telegram/callback", query_string={**signed(), "state": state})
    assert response.status_code == 302 and response.location.endswith("/home")
    assert client.get("/home").status_code == 200


def test_an_unlinked_telegram_identity_signs_nobody_in(client, telegram):
    make_member()
    state = widget_state(client)
    response = client.get("/auth/telegram/callback", query_string={**signed(), "state": state})
    assert response.location.endswith("/auth/signin")
    assert "No account is linked to this Telegram account" in client.get("/auth/signin").get_data(as_text=True)
    assert client.get("/home").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(OAuthIdentity)) == 0


def test_a_callback_without_this_browsers_state_is_refused(app, client, telegram):
    member = make_member()
    db.session.add(OAuthIdentity(user_id=member.user_id, provider="telegram", subject="777000"))
    db.session.commit()
    state = widget_state(app.test_client())  # another browser's page
    response = client.get("/auth/telegram/callback", query_string={**signed(), "state": state})
    assert response.location.endswith("/auth/signin") and client.get("/home").status_code == 302


def test_a_telegram_sign_in_of_a_user_with_mfa_asks_for_the_code(client, telegram):
    member = make_member()
    give_totp(member.user)
    db.session.add(OAuthIdentity(user_id=member.user_id, provider="telegram", subject="777000"))
    db.session.commit()
    state = widget_state(client)
    response = client.get("/auth/telegram/callback", query_string={**signed(), "state": state})
    assert response.location.endswith("/auth/mfa") and client.get("/home").status_code == 302


def test_linking_telegram_from_the_profile_page(client, telegram):
    member = make_member()
    sign_in_as(client, member)
    profile = client.get("/settings/profile").get_data(as_text=True)
    assert 'id="link-telegram"' in profile and 'hx-boost="false"' in profile
    state = widget_state(client)
    response = client.get("/auth/telegram/callback", query_string={**signed(), "state": state})
    assert response.status_code == 302 and response.location.endswith("/settings/profile")
    identity = db.session.scalar(select(OAuthIdentity))
    assert (identity.user_id, identity.provider, identity.subject, identity.display_name) == (
        member.user_id, "telegram", "777000", "@anna_lee")
    assert "Linked: @anna_lee" in client.get("/settings/profile").get_data(as_text=True)


def test_the_csp_allows_telegrams_widget_only_when_configured(app, settings):
    plain = app.test_client().get("/auth/signin").headers["Content-Security-Policy"]
    assert "telegram.org" not in plain
    configured = create_app(dataclasses.replace(settings, telegram_login_bot_token=BOT_TOKEN,
                                                telegram_login_bot_name=BOT_NAME))
    csp = configured.test_client().get("/healthz").headers["Content-Security-Policy"]
    assert "script-src 'self' https://telegram.org" in csp and "frame-src 'self' https://oauth.telegram.org" in csp
